"""The Centrifugo Python SDK (centrifuge-python), unchanged, against Herald."""
import asyncio

import pytest
from centrifuge import Client, ClientEventHandler, SubscriptionEventHandler

from conftest import API_KEY, base_config


class Collector(SubscriptionEventHandler):
    """A subscription's events as they arrive, for awaiting: publications in `queue`, join/leave/unsubscribe
    in `events` as (kind, detail)."""

    def __init__(self):
        self.queue = asyncio.Queue()
        self.events = asyncio.Queue()
        self.subscribed = 0

    async def on_subscribed(self, ctx):
        self.subscribed += 1

    async def on_publication(self, ctx):
        await self.queue.put(ctx.pub.data)

    async def on_join(self, ctx):
        await self.events.put(("join", ctx.info.client))

    async def on_leave(self, ctx):
        await self.events.put(("leave", ctx.info.client))

    async def on_unsubscribed(self, ctx):
        await self.events.put(("unsubscribed", ctx.code))

    async def next(self, timeout=5):
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def next_event(self, timeout=5):
        return await asyncio.wait_for(self.events.get(), timeout)


class ConnectionEvents(ClientEventHandler):
    """The client's connection state changes, in order, as (kind, code)."""

    def __init__(self):
        self.log = []
        self.client_id = None
        self.disconnected = asyncio.Event()

    async def on_connecting(self, ctx):
        self.log.append(("connecting", ctx.code))

    async def on_connected(self, ctx):
        self.client_id = ctx.client
        self.log.append(("connected", None))

    async def on_disconnected(self, ctx):
        self.log.append(("disconnected", ctx.code))
        self.disconnected.set()


async def subscribed_client(server, channel, **options):
    """A connected SDK client subscribed to `channel`; its connection events are `client.test_events`."""
    connection = ConnectionEvents()
    client = Client(server.ws_url, events=connection, max_reconnect_delay=0.5)
    client.test_events = connection
    events = Collector()
    subscription = client.new_subscription(channel, events, **options)
    await client.connect()
    await subscription.subscribe()
    await subscription.ready(timeout=5)
    return client, subscription, events


def test_publication_through_the_api_reaches_the_sdk(herald):
    async def scenario():
        client, _, events = await subscribed_client(herald, "news")
        data = {"text": "hello", "n": [1, 2.5, None], "ü": "ñ"}
        assert herald.api("publish", {"channel": "news", "data": data}) == (200, {"result": {}})
        assert await events.next() == data
        await client.disconnect()

    asyncio.run(scenario())


def test_pretty_printed_data_from_the_api_reaches_the_sdk(herald):
    async def scenario():
        client, _, events = await subscribed_client(herald, "news")
        pretty = '{"channel": "news", "data": {\n  "text": "hello",\r\n  "n": [1,\n 2]\n}}\n'
        status, body = herald.request("POST", "/api/publish", pretty, {"X-API-Key": API_KEY})
        assert (status, body) == (200, b'{"result":{}}')
        assert await events.next() == {"text": "hello", "n": [1, 2]}
        assert client.test_events.log == [("connecting", 0), ("connected", None)], client.test_events.log
        await client.disconnect()

    asyncio.run(scenario())


def test_presence_and_stats_through_the_sdk(start_herald):
    server = start_herald(base_config(channel={"namespaces": [{
        "name": "room", "presence": True, "allow_subscribe_for_client": True,
        "allow_subscribe_for_anonymous": True, "allow_presence_for_subscriber": True,
        "allow_presence_for_anonymous": True}]}))

    async def scenario():
        first, subscription, _ = await subscribed_client(server, "room:1")
        second, _, _ = await subscribed_client(server, "room:1")
        presence = await subscription.presence()
        assert len(presence.clients) == 2
        assert all(info.user == "" for info in presence.clients.values())
        stats = await subscription.presence_stats()
        assert (stats.num_clients, stats.num_users) == (2, 1)
        await second.disconnect()
        await asyncio.sleep(0.2)
        assert (await subscription.presence_stats()).num_clients == 1
        await first.disconnect()

    asyncio.run(scenario())


def test_unsubscribe_stops_delivery(herald):
    async def scenario():
        client, subscription, events = await subscribed_client(herald, "news")
        # A second channel on the same connection: its publication arrives after anything published before.
        control = Collector()
        control_subscription = client.new_subscription("control", control)
        await control_subscription.subscribe()
        await control_subscription.ready(timeout=5)
        await subscription.unsubscribe()
        assert herald.api("publish", {"channel": "news", "data": 1}) == (200, {"result": {}})
        assert herald.api("publish", {"channel": "control", "data": "marker"}) == (200, {"result": {}})
        assert await control.next() == "marker"
        assert events.queue.empty(), "the unsubscribed client got a publication"
        assert herald.api("channels", {})[1] == {"result": {"channels": {"control": {"num_clients": 1}}}}
        await client.disconnect()

    asyncio.run(scenario())


def test_client_publish_where_the_namespace_allows_it(start_herald):
    server = start_herald(base_config(channel={"namespaces": [{
        "name": "chat", "allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True,
        "allow_publish_for_subscriber": True, "allow_publish_for_anonymous": True}]}))

    async def scenario():
        client, subscription, events = await subscribed_client(server, "chat:lobby")
        await subscription.publish({"said": "hi"})
        assert await events.next() == {"said": "hi"}
        await client.disconnect()

    asyncio.run(scenario())


def test_sdk_reconnects_and_resubscribes_after_a_restart(start_herald, tmp_path):
    server = start_herald(base_config(), workdir=tmp_path)
    port = server.port

    async def scenario():
        client, _, events = await subscribed_client(server, "news")
        assert server.stop() == 0
        restarted = start_herald(base_config(), port=port, workdir=tmp_path)
        for _ in range(100):  # the SDK reconnects and resubscribes by itself
            if events.subscribed >= 2:
                break
            await asyncio.sleep(0.1)
        assert events.subscribed >= 2, "the SDK did not resubscribe after the restart"
        restarted.api("publish", {"channel": "news", "data": "after restart"})
        assert await events.next() == "after restart"
        await client.disconnect()

    asyncio.run(scenario())


def test_sdk_answers_fast_server_pings_and_stays_connected(start_herald):
    server = start_herald(base_config(client={"allow_anonymous_connect_without_token": True,
                                              "ping_interval": "1s", "pong_timeout": "500ms"}))

    async def scenario():
        client, _, events = await subscribed_client(server, "news")
        await asyncio.sleep(3.5)  # three server pings, each answered by the SDK
        assert client.test_events.log == [("connecting", 0), ("connected", None)], client.test_events.log
        server.api("publish", {"channel": "news", "data": "still here"})
        assert await events.next() == "still here"
        await client.disconnect()

    asyncio.run(scenario())


def test_join_and_leave_reach_the_sdk(start_herald):
    server = start_herald(base_config(channel={"namespaces": [{
        "name": "room", "join_leave": True, "allow_subscribe_for_client": True,
        "allow_subscribe_for_anonymous": True}]}))

    async def scenario():
        watcher, _, events = await subscribed_client(server, "room:1", join_leave=True)
        assert await events.next_event() == ("join", watcher.test_events.client_id)  # its own join
        guest, _, _ = await subscribed_client(server, "room:1")
        guest_id = guest.test_events.client_id
        assert await events.next_event() == ("join", guest_id)
        await guest.disconnect()
        assert await events.next_event() == ("leave", guest_id)
        await watcher.disconnect()

    asyncio.run(scenario())


def test_server_unsubscribe_and_disconnect_reach_the_sdk(herald):
    async def scenario():
        client, subscription, events = await subscribed_client(herald, "news")
        client_id = client.test_events.client_id
        assert herald.api("unsubscribe", {"channel": "news", "user": "", "client": client_id}) == (
            200, {"result": {}})
        assert await events.next_event() == ("unsubscribed", 2000)
        assert herald.api("disconnect", {"user": "", "client": client_id}) == (200, {"result": {}})
        await asyncio.wait_for(client.test_events.disconnected.wait(), 5)
        await asyncio.sleep(1.5)  # 3503 means "do not reconnect": the SDK must stay disconnected
        assert client.test_events.log[-1] == ("disconnected", 3503), client.test_events.log
        assert herald.api("info", {})[1]["result"]["nodes"][0]["num_clients"] == 0

    asyncio.run(scenario())
