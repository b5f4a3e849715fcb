"""Limits that protect the many from the few: connections per address, command and publication rates, the
channel limit. Each refusal is what the protocol says (HTTP status, error code or close code) and is counted
in /api/info's `refused`."""
import asyncio
import json

import pytest
import websockets

from conftest import base_config
from wsclient import RawClient, assert_still_serving, connected


def refused(server):
    status, body = server.api("info", {})
    assert status == 200, body
    return body["result"]["nodes"][0]["refused"]


def test_connections_per_ip_refuses_the_next_upgrade_with_429(start_herald):
    server = start_herald(base_config(herald={"connections_per_ip": 3}))

    async def scenario():
        clients = [await connected(server.ws_url) for _ in range(3)]
        with pytest.raises(websockets.InvalidStatus) as refusal:
            await websockets.connect(server.ws_url)
        assert refusal.value.response.status_code == 429
        assert b"too many connections from this address" in refusal.value.response.body
        # Another address is not held back by this one's connections.
        other = await RawClient.open(server.ws_url, local_addr=("127.0.0.2", 0))
        await other.connect()
        await clients[0].close()
        await asyncio.sleep(0.2)
        clients[0] = await connected(server.ws_url)  # a slot of this address freed up
        for client in clients + [other]:
            await client.close()

    asyncio.run(scenario())
    assert refused(server)["connections_per_ip"] == 1


def test_command_rate_answers_111_then_closes_a_client_that_does_not_slow_down(start_herald):
    server = start_herald(base_config(herald={"command_rate": 5, "command_burst": 10}))

    async def scenario():
        client = await connected(server.ws_url)  # the connect command took one token
        ids = await client.send(*[{"ping": {}} for _ in range(12)])
        replies = [await client.reply(command_id) for command_id in ids]
        answered = [reply for reply in replies if "ping" in reply]
        limited = [reply for reply in replies if reply.get("error") == {"code": 111, "message": "too many requests"}]
        assert (len(answered), len(limited)) == (9, 3), replies
        await asyncio.sleep(0.5)  # 5 a second: two or three tokens back
        assert "ping" in await client.call("ping", {})
        # A client that ignores error 111 and keeps going past the burst is closed.
        await client.send(*[{"ping": {}} for _ in range(40)])
        assert await client.closed() == (3013, "too many requests")
        await assert_still_serving(server)

    asyncio.run(scenario())
    assert refused(server)["command_rate"] >= 3 + 11


def test_publish_rate_limits_client_publications_only(start_herald):
    server = start_herald(base_config(
        herald={"publish_rate": 1, "publish_burst": 3},
        channel={"without_namespace": {"allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True,
                                       "allow_publish_for_client": True, "allow_publish_for_anonymous": True}}))

    async def scenario():
        subscriber = await connected(server.ws_url)
        await subscriber.subscribe("chat")
        publisher = await connected(server.ws_url)
        ids = await publisher.send(*[{"publish": {"channel": "chat", "data": {"n": n}}} for n in range(5)])
        replies = [await publisher.reply(command_id) for command_id in ids]
        assert [("publish" in reply, reply.get("error", {}).get("code")) for reply in replies] == \
            [(True, None)] * 3 + [(False, 111)] * 2
        received = [(await subscriber.push())["pub"]["data"]["n"] for _ in range(3)]
        assert received == [0, 1, 2]
        # The HTTP API is the server's own path: not limited.
        for n in range(5):
            assert server.api("publish", {"channel": "chat", "data": {"api": n}})[0] == 200
        assert [(await subscriber.push())["pub"]["data"] for _ in range(5)] == [{"api": n} for n in range(5)]

    asyncio.run(scenario())
    assert refused(server)["publish_rate"] == 2


def test_channel_limit_answers_106_and_counts(start_herald):
    server = start_herald(base_config(client={"allow_anonymous_connect_without_token": True, "channel_limit": 2}))

    async def scenario():
        client = await connected(server.ws_url)
        await client.subscribe("a")
        await client.subscribe("b")
        assert (await client.call("subscribe", {"channel": "c"}))["error"] == {"code": 106, "message": "limit exceeded"}
        await client.call("unsubscribe", {"channel": "a"})
        await client.subscribe("c")

    asyncio.run(scenario())
    assert refused(server)["channel_limit"] == 1


def test_generated_configuration_sets_the_limits(tmp_path):
    import subprocess
    from conftest import E2E_HERALD_BIN
    path = tmp_path / "config.json"
    subprocess.run([E2E_HERALD_BIN, "genconfig", "-o", str(path)], check=True, capture_output=True)
    limits = json.loads(path.read_text())["herald"]
    assert limits["connections_per_ip"] > 0 and limits["command_rate"] > 0 and limits["publish_rate"] > 0
