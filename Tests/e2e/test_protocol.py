"""The Centrifuge JSON protocol frame by frame, with the `websockets` package."""
import asyncio
import json

from conftest import base_config
from wsclient import RawClient, connected


def run(coroutine):
    return asyncio.run(coroutine)


def test_connect_reply_shape(herald):
    async def scenario():
        client = await RawClient.open(herald.ws_url)
        reply = await client.connect()
        assert set(reply) == {"client", "version", "ping", "pong"}
        assert len(reply["client"]) == 36 and reply["ping"] == 25 and reply["pong"] is True
        await client.close()

    run(scenario())


def test_several_commands_in_one_frame_get_replies_in_order(herald):
    async def scenario():
        client = await RawClient.open(herald.ws_url)
        ids = await client.send({"connect": {}}, {"subscribe": {"channel": "a"}}, {"subscribe": {"channel": "a"}},
                                {"unsubscribe": {"channel": "a"}}, {"ping": {}})
        replies = [await client.recv() for _ in ids]
        assert [reply["id"] for reply in replies] == ids
        assert "connect" in replies[0]
        assert replies[1] == {"id": ids[1], "subscribe": {}}
        assert replies[2] == {"id": ids[2], "error": {"code": 105, "message": "already subscribed"}}
        assert replies[3] == {"id": ids[3], "unsubscribe": {}}
        assert replies[4] == {"id": ids[4], "ping": {}}
        await client.close()

    run(scenario())


def test_publication_push_carries_the_exact_data(herald):
    async def scenario():
        client = await connected(herald.ws_url)
        await client.subscribe("news")
        raw = '{"b": [1, 2.50, "x"], "a": {}}'
        status, body = herald.request("POST", "/api/publish", f'{{"channel":"news","data":{raw}}}',
                                      {"X-API-Key": "test-api-key"})
        assert status == 200, body
        frame = await asyncio.wait_for(client.ws.recv(), 5)
        assert frame == f'{{"push":{{"channel":"news","pub":{{"data":{raw}}}}}}}'
        await client.close()

    run(scenario())


def test_error_replies_keep_the_connection(start_herald):
    server = start_herald(base_config(
        client={"channel_limit": 2},
        channel={"max_length": 20, "namespaces": [{"name": "closed"}]}))

    async def scenario():
        client = await connected(server.ws_url)
        expectations = [
            ({"subscribe": {"channel": "nope:x"}}, 102),
            ({"subscribe": {"channel": "closed:x"}}, 103),
            ({"publish": {"channel": "a", "data": 1}}, 103),
            ({"teleport": {}}, 104),
            ({"subscribe": {"channel": "x" * 21}}, 106),
            ({"subscribe": {"channel": "a b"}}, 107),
            ({"history": {"channel": "a"}}, 108),
            ({"presence": {"channel": "a"}}, 108),
            ({"rpc": {"method": "m", "data": {}}}, 108),
        ]
        for command, code in expectations:
            reply = await client.call(*next(iter(command.items())))
            assert reply["error"]["code"] == code, (command, reply)
        await client.subscribe("one")
        await client.subscribe("two")
        assert (await client.call("subscribe", {"channel": "three"}))["error"]["code"] == 106
        assert (await client.call("unsubscribe", {"channel": "one"})).get("unsubscribe") == {}
        await client.subscribe("three")
        await client.close()

    run(scenario())


def test_server_ping_and_pong(start_herald):
    server = start_herald(base_config(client={"ping_interval": "1s", "pong_timeout": "500ms"}))

    async def scenario():
        polite = await RawClient.open(server.ws_url)
        assert (await polite.connect())["ping"] == 1
        silent = await RawClient.open(server.ws_url)
        await silent.connect()
        for _ in range(3):  # three pings answered: still connected
            assert await polite.recv(timeout=3) == {}
            await polite.ws.send("{}")
        assert await silent.closed(timeout=5) == (3012, "no pong")
        assert (await polite.call("ping", {}))["ping"] == {}
        await polite.close()

    run(scenario())


def test_join_and_leave_pushes(start_herald):
    server = start_herald(base_config(channel={"namespaces": [{
        "name": "room", "join_leave": True, "presence": True, "allow_subscribe_for_client": True,
        "allow_subscribe_for_anonymous": True}]}))

    async def scenario():
        watcher = await connected(server.ws_url)
        await watcher.subscribe("room:1", join_leave=True)
        assert (await watcher.push())["join"]["info"]["client"]  # its own join
        quiet = await connected(server.ws_url)
        await quiet.subscribe("room:1")  # did not ask for join/leave
        guest = await RawClient.open(server.ws_url)
        guest_id = (await guest.connect())["client"]
        await guest.subscribe("room:1")
        pushes = [await watcher.push(), await watcher.push()]
        joined = [push["join"]["info"]["client"] for push in pushes]
        assert guest_id in joined
        await guest.close()
        leave = await watcher.push()
        while "leave" not in leave or leave["leave"]["info"]["client"] != guest_id:
            leave = await watcher.push()
        assert leave == {"channel": "room:1", "leave": {"info": {"user": "", "client": guest_id}}}
        server.api("publish", {"channel": "room:1", "data": "x"})
        assert await quiet.push() == {"channel": "room:1", "pub": {"data": "x"}}, "no join/leave for quiet"
        await watcher.close()
        await quiet.close()

    run(scenario())


def test_api_unsubscribe_and_disconnect_reach_the_client(herald):
    async def scenario():
        client = await RawClient.open(herald.ws_url)
        client_id = (await client.connect())["client"]
        await client.subscribe("news")
        assert herald.api("unsubscribe", {"channel": "news", "user": ""}) == (200, {"result": {}})
        assert await client.push() == {"channel": "news",
                                       "unsubscribe": {"code": 2000, "reason": "server unsubscribe"}}
        herald.api("publish", {"channel": "news", "data": 1})
        assert herald.api("channels", {})[1] == {"result": {"channels": {}}}
        assert herald.api("disconnect", {"user": "", "client": client_id}) == (200, {"result": {}})
        assert await client.closed() == (3503, "force disconnect")

    run(scenario())


def test_client_publication_carries_publisher_info(start_herald):
    server = start_herald(base_config(channel={"without_namespace": {
        "allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True,
        "allow_publish_for_client": True, "allow_publish_for_anonymous": True}}))

    async def scenario():
        client = await RawClient.open(server.ws_url)
        client_id = (await client.connect())["client"]
        await client.subscribe("news")
        assert (await client.call("publish", {"channel": "news", "data": {"x": 1}})).get("publish") == {}
        assert await client.push() == {"channel": "news", "pub": {
            "data": {"x": 1}, "info": {"user": "", "client": client_id}}}
        await client.close()

    run(scenario())


def test_development_mode_allows_everything_on_loopback(start_herald):
    server = start_herald(None)

    async def scenario():
        client = await connected(server.ws_url)
        await client.subscribe("news")
        assert (await client.call("publish", {"channel": "news", "data": 1})).get("publish") == {}
        assert (await client.push())["pub"]["data"] == 1
        presence = await client.call("presence_stats", {"channel": "news"})
        assert presence["presence_stats"] == {"num_clients": 1, "num_users": 1}
        assert server.api("publish", {"channel": "news", "data": 2}, key=None) == (200, {"result": {}})
        assert (await client.push())["pub"] == {"data": 2}
        await client.close()

    run(scenario())
