"""The embedded durable log: acknowledged publications survive kill -9, offsets and epochs continue after a
restart, configuration push outlives history_ttl, a damaged data directory stops the start, a full disk
fails publishes loudly while reads go on."""
import asyncio
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from centrifuge import Client
from centrifuge.fossil import apply_delta

from conftest import API_KEY, E2E_HERALD_BIN, free_port
from history_config import history_config, namespace
from test_history import Recorder, recording_subscriber
from wsclient import RawClient, connected


@pytest.fixture
def workdir():
    return Path(tempfile.mkdtemp(prefix="herald-durable-"))


def test_acknowledged_publications_survive_kill_9_and_offsets_continue(start_herald, workdir):
    config = history_config(workdir, namespace("orders", durable="fsync", history_size=100000))
    server = start_herald(config)
    acknowledged = {}  # offset -> data, only for publishes Herald answered with a position
    stop = threading.Event()

    def publisher(worker):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        n = 0
        while not stop.is_set():
            n += 1
            data = {"worker": worker, "n": n}
            try:
                connection.request("POST", "/api/publish", json.dumps({"channel": "orders:1", "data": data}),
                                   {"X-API-Key": API_KEY})
                body = json.loads(connection.getresponse().read())
            except OSError:
                return  # Herald was killed mid-request: this one was never acknowledged
            acknowledged[body["result"]["offset"]] = data

    async def scenario():
        nonlocal server
        client, _, recorder = await recording_subscriber(server, "orders:1")
        workers = [threading.Thread(target=publisher, args=(w,)) for w in range(8)]
        for worker in workers:
            worker.start()
        await asyncio.sleep(1.0)
        server.process.send_signal(signal.SIGKILL)  # mid-stream, with publishes in flight
        server.process.wait()
        stop.set()
        for worker in workers:
            worker.join()
        assert len(acknowledged) > 100, f"only {len(acknowledged)} publishes were acknowledged before the kill"

        server = start_herald(config, port=server.port, workdir=server.workdir)
        status, body = server.api("history", {"channel": "orders:1", "limit": -1})
        kept = body["result"]["publications"]
        offsets = [p["offset"] for p in kept]
        assert offsets == list(range(1, len(offsets) + 1)), "offsets are consecutive from 1"
        for offset, data in acknowledged.items():
            assert kept[offset - 1]["data"] == data, f"acknowledged publication {offset} lost or changed"
        top = body["result"]["offset"]
        after = server.api("publish", {"channel": "orders:1", "data": {"after": "restart"}})[1]["result"]
        assert after["offset"] == top + 1 and after["epoch"] == body["result"]["epoch"], "offsets continue"

        # The SDK reconnects to the restarted Herald and recovers from its last position: it ends up with
        # every publication exactly once, in order.
        deadline = time.monotonic() + 20
        while (not recorder.publications or recorder.publications[-1][0] < top + 1) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        got = [offset for offset, _ in recorder.publications]
        assert got == list(range(1, top + 2)), f"gap or duplicate: {len(got)} publications, last {got[-3:]}"
        assert recorder.subscribes[-1]["recovered"]
        await client.disconnect()

    asyncio.run(scenario())


def test_a_position_on_a_never_published_durable_channel_holds_after_a_restart(start_herald, workdir):
    """An SDK subscriber joins a durable channel nobody has published to yet (position 0 in some epoch);
    Herald restarts; publications are made before the SDK is back: it recovers them, since the empty
    channel's epoch comes from the log, not from chance. A memory-only channel gets a new epoch instead."""
    config = history_config(workdir, namespace("orders", durable="fsync"), namespace("cache"))

    async def scenario():
        nonlocal server
        client, _, recorder = await recording_subscriber(server, "orders:empty")
        _, memory_before = server.api("history", {"channel": "cache:empty", "limit": 0})
        epoch = recorder.subscribes[0]["position"].epoch
        server.stop()
        server = start_herald(config, port=server.port, workdir=server.workdir)
        _, history = server.api("history", {"channel": "orders:empty", "limit": 0})
        assert history["result"]["epoch"] == epoch
        _, memory_after = server.api("history", {"channel": "cache:empty", "limit": 0})
        assert memory_after["result"]["epoch"] != memory_before["result"]["epoch"]
        for n in range(3):
            server.api("publish", {"channel": "orders:empty", "data": {"n": n}})
        await recorder.until(3, timeout=20)
        assert [offset for offset, _ in recorder.publications] == [1, 2, 3]
        assert recorder.subscribes[-1]["recovered"], recorder.subscribes[-1]
        await client.disconnect()

    server = start_herald(config)
    asyncio.run(scenario())


def test_configuration_push_gives_the_latest_value_first_with_deltas_when_asked(start_herald, workdir):
    config = history_config(workdir, namespace("config", durable="os", history_size=10, history_ttl="60s",
                                               force_recovery_mode="cache", allowed_delta_types=["fossil"]))
    server = start_herald(config)
    settings = {"service": "payments", "limits": {"rps": 100, "burst": 20},
                "hosts": [f"host-{n}.example" for n in range(200)]}
    server.api("publish", {"channel": "config:payments", "data": {**settings, "version": 1}})
    # An hour-old value (much older than history_ttl): made so by ageing it in the log while Herald is down.
    assert server.stop() == 0
    with sqlite3.connect(workdir / "data" / "herald.sqlite") as db:
        db.execute("UPDATE publications SET time = time - 3600 * 1000")
    server = start_herald(config, port=server.port, workdir=server.workdir)

    async def scenario():
        plain = Client(server.ws_url)
        plain_recorder = Recorder()
        plain_sub = plain.new_subscription("config:payments", plain_recorder)
        delta = Client(server.ws_url)
        delta_recorder = Recorder()
        from centrifuge import DeltaType
        delta_sub = delta.new_subscription("config:payments", delta_recorder, delta=DeltaType.FOSSIL)
        raw = await connected(server.ws_url)
        for client, subscription in ((plain, plain_sub), (delta, delta_sub)):
            await client.connect()
            await subscription.subscribe()
        reply = await raw.call("subscribe", {"channel": "config:payments", "delta": "fossil"})
        await plain_recorder.until(1)
        await delta_recorder.until(1)
        assert plain_recorder.publications[0][1]["version"] == 1, "the current value comes first"
        assert delta_recorder.publications[0][1]["version"] == 1
        assert reply["subscribe"]["delta"] is True
        first = reply["subscribe"]["publications"][0]
        assert isinstance(first["data"], str) and not first.get("delta"), "the base travels whole, as a string"
        base = first["data"].encode()

        for version in (2, 3):
            server.api("publish", {"channel": "config:payments", "data": {**settings, "version": version}})
            push = (await raw.push())["pub"]
            assert push["delta"] is True and len(push["data"]) < len(base) / 10, "a small change travels as a small delta"
            base = bytes(apply_delta(base, push["data"].encode()))
            assert json.loads(base) == {**settings, "version": version}
        await plain_recorder.until(3)
        await delta_recorder.until(3)
        assert [data["version"] for _, data in plain_recorder.publications] == [1, 2, 3]
        assert [data for _, data in delta_recorder.publications] == [data for _, data in plain_recorder.publications]
        for client in (plain, delta):
            await client.disconnect()
        await raw.close()

    asyncio.run(scenario())


def test_a_damaged_or_unwritable_data_directory_stops_the_start(workdir):
    config = history_config(workdir, namespace("orders", durable="fsync"))
    (workdir / "data").mkdir()
    (workdir / "data" / "herald.sqlite").write_bytes(b"not a database" * 1000)
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    run = subprocess.run([E2E_HERALD_BIN, "serve", "--config", str(config_path), "--port", str(free_port())],
                         capture_output=True, text=True, timeout=10)
    assert run.returncode != 0
    assert "herald.sqlite" in run.stdout + run.stderr and "damaged" in run.stdout + run.stderr

    config["data_dir"] = "/proc/herald-cannot-write-here"
    config_path.write_text(json.dumps(config))
    run = subprocess.run([E2E_HERALD_BIN, "serve", "--config", str(config_path), "--port", str(free_port())],
                         capture_output=True, text=True, timeout=10)
    assert run.returncode != 0
    assert "/proc/herald-cannot-write-here" in run.stdout + run.stderr


def readiness(server):
    status, body = server.request("GET", "/ready")
    return status, json.loads(body)


def test_a_full_disk_fails_durable_publishes_loudly_and_reads_go_on(start_herald, workdir):
    data = workdir / "data"
    data.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(data)]).returncode == 0
    if not mounted:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        server = start_herald(history_config(workdir, namespace("orders", durable="fsync", history_size=100000)))
        assert readiness(server) == (200, {"status": "ready", "durable_log": "ok"})
        payload = "x" * 2000
        acknowledged, failures = [], []
        for n in range(1000):
            status, body = server.api("publish", {"channel": "orders:1", "data": {"n": n, "pad": payload}})
            assert status == 200
            if "error" in body:
                failures.append(body["error"])
            else:
                acknowledged.append(body["result"]["offset"])
        assert failures, "the disk never filled"
        assert failures[0]["code"] == 100 and "full" in failures[0]["message"], failures[0]
        # Not ready while the log cannot write, so a load balancer sends publishers elsewhere.
        assert readiness(server) == (503, {"status": "not ready", "durable_log": "failing"})
        # Reads keep working, and everything acknowledged is there, in order.
        status, body = server.api("history", {"channel": "orders:1", "limit": -1})
        assert [p["offset"] for p in body["result"]["publications"]] == sorted(acknowledged)
        assert acknowledged == list(range(1, len(acknowledged) + 1)), "no offset was skipped by a failed write"
        status, body = server.api("publish", {"channel": "plain", "data": 1})
        assert body == {"result": {}}, "channels without durability are not affected"
        assert server.stop() == 0
    finally:
        subprocess.run(["umount", "-l", str(data)])


def test_client_publishes_to_a_durable_channel_are_answered_once_written(start_herald, workdir):
    config = history_config(workdir, namespace("orders", durable="fsync", allow_publish_for_subscriber=True,
                                               allow_publish_for_anonymous=True))
    server = start_herald(config)

    async def scenario():
        client = await RawClient.open(server.ws_url)
        client_id = (await client.connect())["client"]
        await client.call("subscribe", {"channel": "orders:7"})
        ids = await client.send(*({"publish": {"channel": "orders:7", "data": {"n": n}}} for n in range(1, 51)))
        replies, pushes = {}, []
        while len(replies) < 50 or len(pushes) < 50:
            message = await client.recv()
            if "push" in message:
                pushes.append(message["push"]["pub"])
            elif message.get("id") in ids:
                replies[message["id"]] = message
        assert all(reply == {"id": i, "publish": {}} for i, reply in replies.items())
        assert [(p["data"], p["offset"]) for p in pushes] == [({"n": n}, n) for n in range(1, 51)]
        assert {p["info"]["client"] for p in pushes} == {client_id}, "client publications carry the publisher"
        await client.close()

    asyncio.run(scenario())
    assert server.stop() == 0
    # Written before it was answered: a restart finds all fifty.
    server = start_herald(config, port=server.port, workdir=server.workdir)
    status, body = server.api("history", {"channel": "orders:7", "limit": -1})
    assert [p["data"]["n"] for p in body["result"]["publications"]] == list(range(1, 51))
