"""The Centrifugo Python SDK (centrifuge-python), unchanged, against Herald."""
import asyncio

from centrifuge import Client, ClientEventHandler, SubscriptionEventHandler

from conftest import base_config


class Collector(SubscriptionEventHandler):
    """Publications as they arrive, for awaiting."""

    def __init__(self):
        self.queue = asyncio.Queue()
        self.subscribed = 0

    async def on_subscribed(self, ctx):
        self.subscribed += 1

    async def on_publication(self, ctx):
        await self.queue.put(ctx.pub.data)

    async def next(self, timeout=5):
        return await asyncio.wait_for(self.queue.get(), timeout)


async def subscribed_client(server, channel, **options):
    client = Client(server.ws_url, max_reconnect_delay=0.5)
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
        await subscription.unsubscribe()
        herald.api("publish", {"channel": "news", "data": 1})
        other, _, other_events = await subscribed_client(herald, "news")
        herald.api("publish", {"channel": "news", "data": 2})
        assert await other_events.next() == 2, "a subscriber still subscribed gets the publication"
        assert events.queue.empty(), "the unsubscribed client got a publication"
        await client.disconnect()
        await other.disconnect()

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
