"""Stream positions, history, recovery and catch-up, against a real Herald with real clients."""
import asyncio
import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from centrifuge import Client, SubscriptionEventHandler

from conftest import E2E_HERALD_BIN
from history_config import history_config, namespace
from wsclient import RawClient, connected


@pytest.fixture
def workdir():
    return Path(tempfile.mkdtemp(prefix="herald-history-"))


def publish(server, channel, data):
    status, body = server.api("publish", {"channel": channel, "data": data})
    assert status == 200, body
    return body


class Recorder(SubscriptionEventHandler):
    """What an SDK subscription saw: publications as (offset, data), and each subscribe's outcome."""

    def __init__(self):
        self.publications = []
        self.subscribes = []
        self.arrived = asyncio.Event()

    async def on_subscribed(self, ctx):
        self.subscribes.append({"was_recovering": ctx.was_recovering, "recovered": ctx.recovered,
                                "position": ctx.stream_position})

    async def on_publication(self, ctx):
        self.publications.append((ctx.pub.offset, ctx.pub.data))
        self.arrived.set()

    async def until(self, count, timeout=10):
        async def wait():
            while len(self.publications) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(wait(), timeout)


async def recording_subscriber(server, channel):
    """A connected centrifuge-python client subscribed to `channel`, reconnecting fast, and what it records."""
    client = Client(server.ws_url, max_reconnect_delay=0.3)
    recorder = Recorder()
    subscription = client.new_subscription(channel, recorder)
    await client.connect()
    await subscription.subscribe()
    await subscription.ready(timeout=5)
    return client, subscription, recorder


def test_publish_returns_positions_and_history_serves_them(start_herald, workdir):
    server = start_herald(history_config(workdir, namespace("hist")))
    positions = [publish(server, "hist:a", {"n": n})["result"] for n in range(1, 6)]
    epoch = positions[0]["epoch"]
    assert [p["offset"] for p in positions] == [1, 2, 3, 4, 5]
    assert {p["epoch"] for p in positions} == {epoch} and epoch
    # A channel without history has no position to give.
    assert server.api("publish", {"channel": "plain", "data": 1})[1] == {"result": {}}

    def history(**params):
        status, body = server.api("history", {"channel": "hist:a", **params})
        assert status == 200
        return body

    assert history() == {"result": {"publications": [], "epoch": epoch, "offset": 5}}  # no limit: position only
    everything = history(limit=-1)["result"]["publications"]
    assert everything == [{"data": {"n": n}, "offset": n} for n in range(1, 6)]
    assert [p["offset"] for p in history(limit=2)["result"]["publications"]] == [1, 2]
    assert [p["offset"] for p in history(limit=2, reverse=True)["result"]["publications"]] == [5, 4]
    assert [p["offset"] for p in history(limit=-1, since={"offset": 3, "epoch": epoch})["result"]["publications"]] == [4, 5]
    assert [p["offset"] for p in history(limit=-1, since={"offset": 3}, reverse=True)["result"]["publications"]] == [2, 1]

    # Bad input: each a clear error, and the server keeps serving.
    assert history(limit=-1, since={"offset": 1, "epoch": "nowhere"}) == {"error": {"code": 112, "message": "unrecoverable position"}}
    assert history(limit=-1, since={"offset": 99, "epoch": epoch})["error"]["code"] == 107
    assert history(limit=-2)["error"]["code"] == 107
    assert history(limit=-1, since={"offset": -1})["error"]["code"] == 107
    assert history(limit="ten")["error"]["code"] == 107
    assert server.api("history", {"channel": "plain", "limit": 10})[1]["error"]["code"] == 108
    assert server.api("history_remove", {"channel": "plain"})[1]["error"]["code"] == 108

    # history_remove starts a new epoch at offset 0: old positions cannot be recovered from.
    assert server.api("history_remove", {"channel": "hist:a"})[1] == {"result": {}}
    after = publish(server, "hist:a", {"n": 6})["result"]
    assert after["offset"] == 1 and after["epoch"] != epoch
    assert history(limit=-1, since={"offset": 5, "epoch": epoch})["error"]["code"] == 112


def test_history_is_trimmed_by_size_and_pushes_carry_offsets(start_herald, workdir):
    server = start_herald(history_config(workdir, namespace("small", history_size=3)))

    async def scenario():
        client = await connected(server.ws_url)
        reply = await client.call("subscribe", {"channel": "small:a"})
        epoch = reply["subscribe"]["epoch"]
        assert reply["subscribe"]["recoverable"] and reply["subscribe"]["positioned"]
        for n in range(1, 6):
            publish(server, "small:a", {"n": n})
        pushes = [await client.push() for _ in range(5)]
        assert [p["pub"]["offset"] for p in pushes] == [1, 2, 3, 4, 5]
        # The client history command; above `client.history_max_publication_limit` is capped.
        reply = await client.call("history", {"channel": "small:a", "limit": -1})
        assert reply["history"] == {"publications": [{"data": {"n": n}, "offset": n} for n in (3, 4, 5)],
                                    "epoch": epoch, "offset": 5}
        # Trimmed past the position asked for: not served, the protocol's error.
        reply = await client.call("history", {"channel": "small:a", "limit": 10, "since": {"offset": 1, "epoch": epoch}})
        assert reply["error"]["code"] == 112
        await client.close()

    asyncio.run(scenario())


def test_sdk_recovers_what_it_missed_while_disconnected(start_herald, workdir):
    server = start_herald(history_config(workdir, namespace("hist")))

    async def scenario():
        client, subscription, recorder = await recording_subscriber(server, "hist:a")
        publish(server, "hist:a", {"n": 1})
        await recorder.until(1)
        await client.disconnect()
        for n in range(2, 12):
            publish(server, "hist:a", {"n": n})
        await client.connect()
        await recorder.until(11)
        await asyncio.sleep(0.2)
        assert recorder.publications == [(n, {"n": n}) for n in range(1, 12)]
        assert recorder.subscribes[-1]["was_recovering"] and recorder.subscribes[-1]["recovered"]
        await client.disconnect()

    asyncio.run(scenario())


def test_a_position_trimmed_away_answers_recovered_false(start_herald, workdir):
    server = start_herald(history_config(workdir, namespace("small", history_size=5)))

    async def scenario():
        client, subscription, recorder = await recording_subscriber(server, "small:a")
        publish(server, "small:a", {"n": 1})
        await recorder.until(1)
        await client.disconnect()
        for n in range(2, 12):  # ten more: offsets 2..6 fall out of a history of five
            publish(server, "small:a", {"n": n})
        await client.connect()
        await subscription.ready(timeout=5)
        await asyncio.sleep(0.3)
        assert recorder.subscribes[-1]["was_recovering"] and not recorder.subscribes[-1]["recovered"]
        assert recorder.publications == [(1, {"n": 1})], "nothing is recovered when continuity cannot be"
        publish(server, "small:a", {"n": 12})
        await recorder.until(2)
        assert recorder.publications[-1] == (12, {"n": 12}), "live from now"
        await client.disconnect()

    asyncio.run(scenario())


def test_raw_recovery_from_any_offset_and_bad_positions(start_herald, workdir):
    server = start_herald(history_config(workdir, namespace("hist")))
    epoch = [publish(server, "hist:a", {"n": n})["result"]["epoch"] for n in range(1, 8)][0]

    async def scenario():
        client = await connected(server.ws_url)
        reply = await client.call("subscribe", {"channel": "hist:a", "recover": True, "offset": 4, "epoch": epoch})
        result = reply["subscribe"]
        assert result["recovered"] and result["was_recovering"] and result["offset"] == 4
        assert [p["offset"] for p in result["publications"]] == [5, 6, 7]
        publish(server, "hist:a", {"n": 8})
        assert (await client.push())["pub"] == {"data": {"n": 8}, "offset": 8}
        # Another epoch: not recovered, live from the top.
        reply = await client.call("subscribe", {"channel": "hist:b", "recover": True, "offset": 3, "epoch": "nowhere"})
        assert not reply["subscribe"].get("recovered") and "publications" not in reply["subscribe"]
        # The SDK's flag asking for error 112 instead.
        reply = await client.call("subscribe", {"channel": "hist:c", "recover": True, "offset": 3, "epoch": "x", "flag": 2})
        assert reply["error"]["code"] == 112
        # An offset past the top was never given out: a bad request.
        reply = await client.call("subscribe", {"channel": "hist:d", "recover": True, "offset": 999, "epoch": ""})
        assert reply["error"]["code"] == 107
        # Delta compression not allowed in this namespace.
        reply = await client.call("subscribe", {"channel": "hist:e", "delta": "fossil"})
        assert reply["error"]["code"] == 107
        # A negative offset is not a uint64: a malformed command closes the connection (3501).
        await client.send({"subscribe": {"channel": "hist:f", "recover": True, "offset": -1}})
        assert (await client.closed())[0] == 3501

    asyncio.run(scenario())


def test_cli_subscribe_since_an_offset(start_herald, workdir):
    server = start_herald(history_config(workdir, namespace("hist")))
    for n in range(1, 6):
        publish(server, "hist:a", {"n": n})
    process = subprocess.Popen([E2E_HERALD_BIN, "subscribe", "hist:a", "--url", server.ws_url, "--since", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline().strip() for _ in range(3)]
        assert [json.loads(line) for line in lines] == [{"n": 3}, {"n": 4}, {"n": 5}]
        publish(server, "hist:a", {"n": 6})
        assert json.loads(process.stdout.readline()) == {"n": 6}
    finally:
        process.kill()
        process.wait()


def test_positioned_subscribers_learn_the_stream_was_reset(start_herald, workdir):
    server = start_herald(history_config(workdir, namespace("pos", force_recovery=False, force_positioning=True),
                                         client={"channel_position_check_delay": "500ms"}))
    publish(server, "pos:a", {"n": 1})

    async def scenario():
        client = await connected(server.ws_url)
        reply = await client.call("subscribe", {"channel": "pos:a"})
        assert reply["subscribe"]["positioned"] and not reply["subscribe"].get("recoverable")
        assert server.api("history_remove", {"channel": "pos:a"})[1] == {"result": {}}
        push = await client.push(timeout=5)
        assert push == {"channel": "pos:a", "unsubscribe": {"code": 2500, "reason": "insufficient state"}}
        # The SDK's answer is to subscribe again: it gets the new epoch.
        reply = await client.call("subscribe", {"channel": "pos:a"})
        assert reply["subscribe"]["epoch"] != "" and reply["subscribe"].get("offset", 0) == 0
        await client.close()

    asyncio.run(scenario())


def test_client_history_needs_its_permission(start_herald, workdir):
    server = start_herald(history_config(workdir, namespace("closed", allow_history_for_client=False,
                                                            allow_history_for_anonymous=False),
                                         namespace("subs", allow_history_for_client=False,
                                                   allow_history_for_subscriber=True)))
    publish(server, "closed:a", {"n": 1})
    publish(server, "subs:a", {"n": 1})

    async def scenario():
        client = await connected(server.ws_url)
        assert (await client.call("history", {"channel": "closed:a", "limit": 1}))["error"]["code"] == 103
        assert (await client.call("history", {"channel": "subs:a", "limit": 1}))["error"]["code"] == 103
        await client.call("subscribe", {"channel": "subs:a"})
        reply = await client.call("history", {"channel": "subs:a", "limit": 1})
        assert reply["history"]["publications"] == [{"data": {"n": 1}, "offset": 1}]
        assert (await client.call("history", {"channel": "plain", "limit": 1}))["error"]["code"] == 108
        await client.close()

    asyncio.run(scenario())
