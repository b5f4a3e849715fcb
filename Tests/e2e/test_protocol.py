"""The Centrifuge JSON protocol frame by frame, with the `websockets` package."""
import asyncio

import pytest

from conftest import base_config
from wsclient import RawClient, assert_still_serving, connected


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


def error(code, message):
    return {"error": {"code": code, "message": message}}


def test_error_replies_keep_the_connection(start_herald):
    server = start_herald(base_config(
        client={"channel_limit": 2},
        channel={"max_length": 20, "namespaces": [{"name": "closed"}]}))

    async def scenario():
        client = await connected(server.ws_url)
        expectations = [
            ({"subscribe": {"channel": "nope:x"}}, error(102, "unknown channel")),
            ({"subscribe": {"channel": "closed:x"}}, error(103, "permission denied")),
            ({"publish": {"channel": "a", "data": 1}}, error(103, "permission denied")),
            ({"teleport": {}}, error(104, "method not found")),
            ({"subscribe": {"channel": "x" * 21}}, error(106, "limit exceeded")),
            ({"subscribe": {"channel": "a b"}}, error(107, "bad request")),
            ({"subscribe": {"channel": "a\tb"}}, error(107, "bad request")),
            ({"subscribe": {"channel": "a\u0001"}}, error(107, "bad request")),
            ({"history": {"channel": "a"}}, error(108, "not available")),
            ({"presence": {"channel": "a"}}, error(108, "not available")),
            ({"presence_stats": {"channel": "a"}}, error(108, "not available")),
            ({"rpc": {"method": "m", "data": {}}}, error(108, "not available")),
        ]
        for command, expected in expectations:
            [command_id] = await client.send(command)
            assert await client.reply(command_id) == {"id": command_id, **expected}, command
        await client.subscribe("one")
        await client.subscribe("two")
        assert (await client.call("subscribe", {"channel": "three"}))["error"]["code"] == 106
        assert (await client.call("unsubscribe", {"channel": "one"})).get("unsubscribe") == {}
        await client.subscribe("three")
        await client.close()
        await assert_still_serving(server, "one")

    run(scenario())


def test_presence_replies_and_permissions(start_herald):
    subscribe = {"allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True}
    server = start_herald(base_config(channel={"namespaces": [
        {"name": "room", "presence": True, **subscribe,
         "allow_presence_for_subscriber": True, "allow_presence_for_anonymous": True},
        {"name": "lobby", "presence": True, **subscribe,
         "allow_presence_for_client": True, "allow_presence_for_anonymous": True},
        {"name": "members", "presence": True, **subscribe, "allow_presence_for_subscriber": True},
    ]}))

    async def scenario():
        member = await RawClient.open(server.ws_url)
        member_id = (await member.connect())["client"]
        await member.subscribe("room:1")
        [presence_id, stats_id] = await member.send({"presence": {"channel": "room:1"}},
                                                    {"presence_stats": {"channel": "room:1"}})
        assert await member.reply(presence_id) == {"id": presence_id, "presence": {"presence": {
            member_id: {"user": "", "client": member_id}}}}
        assert await member.reply(stats_id) == {"id": stats_id, "presence_stats": {
            "num_clients": 1, "num_users": 1}}

        outsider = await connected(server.ws_url)
        # allow_presence_for_subscriber: only subscribers may ask.
        assert (await outsider.call("presence", {"channel": "room:1"}))["error"]["code"] == 103
        # allow_presence_for_client + allow_presence_for_anonymous: anyone may ask.
        lobby = await outsider.call("presence_stats", {"channel": "lobby:1"})
        assert "presence_stats" in lobby and lobby["presence_stats"].get("num_clients", 0) == 0, lobby
        # For an anonymous connection a for_subscriber permission needs for_anonymous too.
        await outsider.subscribe("members:1")
        assert (await outsider.call("presence", {"channel": "members:1"}))["error"]["code"] == 103

        await member.close()
        await asyncio.sleep(0.3)
        assert server.api("presence_stats", {"channel": "room:1"}) == (200, {"result": {
            "num_clients": 0, "num_users": 0}}), "presence outlives a closed connection"
        await outsider.close()

    run(scenario())


@pytest.mark.parametrize("options, subscribed, allowed", [
    pytest.param({}, True, False, id="nothing-allowed"),
    pytest.param({"allow_publish_for_client": True}, False, False, id="for-client-but-anonymous"),
    pytest.param({"allow_publish_for_client": True, "allow_publish_for_anonymous": True}, False, True,
                 id="for-client-and-anonymous"),
    pytest.param({"allow_publish_for_subscriber": True, "allow_publish_for_anonymous": True}, False, False,
                 id="for-subscriber-not-subscribed"),
    pytest.param({"allow_publish_for_subscriber": True, "allow_publish_for_anonymous": True}, True, True,
                 id="for-subscriber-subscribed"),
    pytest.param({"allow_publish_for_subscriber": True}, True, False, id="for-subscriber-but-anonymous"),
])
def test_client_publish_permissions(start_herald, options, subscribed, allowed):
    server = start_herald(base_config(channel={"namespaces": [{
        "name": "chat", "allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True, **options}]}))

    async def scenario():
        publisher = await connected(server.ws_url)
        listener = await connected(server.ws_url)
        await listener.subscribe("chat:1")
        if subscribed:
            await publisher.subscribe("chat:1")
        reply = await publisher.call("publish", {"channel": "chat:1", "data": {"said": "hi"}})
        if allowed:
            assert reply.get("publish") == {}, reply
            assert (await listener.push())["pub"]["data"] == {"said": "hi"}
        else:
            assert reply.get("error") == {"code": 103, "message": "permission denied"}, reply
            server.api("publish", {"channel": "chat:1", "data": "api"})
            assert (await listener.push())["pub"] == {"data": "api"}, "the refused publication was delivered"
        await publisher.close()
        await listener.close()

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


def test_force_push_join_leave_reaches_subscribers_that_did_not_ask(start_herald):
    server = start_herald(base_config(channel={"namespaces": [{
        "name": "room", "join_leave": True, "force_push_join_leave": True, "allow_subscribe_for_client": True,
        "allow_subscribe_for_anonymous": True}]}))

    async def scenario():
        watcher = await RawClient.open(server.ws_url)
        watcher_id = (await watcher.connect())["client"]
        await watcher.subscribe("room:1")  # no join_leave asked for
        assert await watcher.push() == {"channel": "room:1", "join": {"info": {"user": "", "client": watcher_id}}}
        guest = await RawClient.open(server.ws_url)
        guest_id = (await guest.connect())["client"]
        await guest.subscribe("room:1")
        assert await watcher.push() == {"channel": "room:1", "join": {"info": {"user": "", "client": guest_id}}}
        assert (await guest.call("unsubscribe", {"channel": "room:1"})).get("unsubscribe") == {}
        assert await watcher.push() == {"channel": "room:1", "leave": {"info": {"user": "", "client": guest_id}}}
        await guest.close()
        await watcher.close()

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
