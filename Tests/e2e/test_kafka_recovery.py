"""Kafka bridge positions and catch-up with real clients: subscribers that recover from Kafka while records
are written, a catch-up from an offset older than memory, two nodes agreeing on positions, and a broker that
dies and comes back. The broker is Tansu (kafka_support.py); records are written by confluent-kafka and kcat."""
import asyncio
import json
import random
import signal
import subprocess
import time

import websockets

from churning_subscribers import first_difference, run_churning_subscribers
from conftest import E2E_HERALD_BIN
from history_config import namespace
from kafka_support import KAFKA_ENV, Broker, bridge_config, bridge_state, broker, wait_for  # noqa: F401 (fixture)

KEYS = ["k0", "k1", "k2", "k3"]


def orders_config(broker, history_size=1000, **kafka):
    # Memory keeps only `history_size` publications per channel: older positions are read from Kafka.
    return bridge_config(broker, [{"topic": "orders", "channel": "orders:{key}"}],
                         [namespace("orders", history_size=history_size)], **kafka)


async def raw_subscribe(url, channel, **recovery):
    """A raw protocol client: connects, subscribes (with `recover`/`offset`/`epoch` when given), returns
    (socket, subscribe result)."""
    socket = await websockets.connect(url, max_size=None)
    await socket.send(json.dumps({"id": 1, "connect": {}}))
    json.loads(await socket.recv())
    subscribe = {"channel": channel, **({"recover": True, **recovery} if recovery else {})}
    await socket.send(json.dumps({"id": 2, "subscribe": subscribe}))
    reply = json.loads(await socket.recv())
    assert "subscribe" in reply, reply
    return socket, reply["subscribe"]


async def pushes(socket, count, timeout=10):
    """The next `count` publications pushed on `socket`, as (offset, data)."""
    received = []
    deadline = time.monotonic() + timeout
    while len(received) < count:
        frames = await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic()))
        for line in frames.splitlines():
            push = json.loads(line).get("push", {})
            if "pub" in push:
                received.append((push["pub"].get("offset"), push["pub"]["data"]))
    return received


def test_subscribers_reconnecting_while_kafka_is_written_get_every_record_once(start_herald, broker):
    """16 SDK subscribers on 4 keyed channels disconnect and reconnect at random while confluent-kafka writes
    about 2,000 records a second; memory keeps only 20 per channel, so most recoveries are read from Kafka.
    Each subscriber ends with exactly its key's Kafka offsets (+1), in order."""
    broker.create_topic("orders", partitions=3)
    server = start_herald(orders_config(broker, history_size=20), env=KAFKA_ENV)
    wait_for(lambda: bridge_state(server)["status"] == "ok", what="the bridge to connect")
    expected = {}

    def publish():
        delivered = write_at_rate(broker, rate=2000, seconds=3.0)
        expected.update({f"orders:{key}": [offset + 1 for k, (_, offset) in delivered if k == key] for key in KEYS})
        return {channel: offsets[-1] for channel, offsets in expected.items()}

    reports = run_churning_subscribers(server.ws_url, [f"orders:{key}" for key in KEYS] * 2, 2, 3.0, publish)
    assert sum(len(offsets) for offsets in expected.values()) >= 4000
    for index, (channel, offsets, subscribes, recovered, _) in enumerate(reports):
        assert offsets == expected[channel], (f"subscriber {index} on {channel}: {len(offsets)} of "
                                              f"{len(expected[channel])}, first wrong at "
                                              f"{first_difference(offsets, expected[channel])}")
        assert subscribes >= 2 and recovered == subscribes - 1, (index, subscribes, recovered)
    state = bridge_state(server)
    assert state["catch_ups"] > 0, f"no recovery needed Kafka: {state}"
    assert state["catch_ups_failed"] == 0 and state["skipped"] == {}, state


def write_at_rate(broker, rate, seconds):
    """Keyed JSON records over KEYS at `rate` a second; returns [(key, (partition, offset))] in write order."""
    producer = broker.producer()
    delivered = []
    written = 0
    started = time.monotonic()
    keys = random.Random(7)
    order = []
    while time.monotonic() - started < seconds:
        for _ in range(50):
            key = keys.choice(KEYS)
            written += 1
            index = len(order)
            order.append(key)
            producer.produce("orders", key=key, value=json.dumps({"key": key, "n": written}),
                             on_delivery=lambda error, message, index=index: delivered.append(
                                 (index, error, message.partition(), message.offset())))
        producer.poll(0)
        ahead = written / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    assert producer.flush(20) == 0
    assert all(error is None for _, error, _, _ in delivered)
    by_index = {index: (partition, offset) for index, _, partition, offset in delivered}
    records = [(order[index], by_index[index]) for index in range(len(order))]
    # Offsets of one key grow in write order: the subscriber's order is Kafka's order.
    return sorted(records, key=lambda record: record[1][1])


def test_catch_up_from_an_offset_older_than_memory_then_live(start_herald, broker, tmp_path):
    """2,000 records are in Kafka before Herald starts (so memory has none of them): `herald subscribe
    --since 500` prints every record from Kafka offset 500 on, read from Kafka, then records written
    afterwards live, each once."""
    broker.create_topic("orders", partitions=1)
    delivered = broker.produce("orders", [("k1", json.dumps({"n": n})) for n in range(2000)])
    assert [offset for _, offset in delivered] == list(range(2000))
    server = start_herald(orders_config(broker, history_size=100), env=KAFKA_ENV)
    wait_for(lambda: bridge_state(server)["status"] == "ok", what="the bridge to connect")
    output = open(tmp_path / "subscribe.out", "wb")
    subscriber = subprocess.Popen([E2E_HERALD_BIN, "subscribe", "orders:k1", "--since", "500", "--url", server.ws_url],
                                  stdout=output, stderr=subprocess.PIPE)
    try:
        lines = lambda: (tmp_path / "subscribe.out").read_text().splitlines()  # noqa: E731
        wait_for(lambda: len(lines()) >= 1500, what="the catch-up")
        broker.produce("orders", [("k1", json.dumps({"n": n})) for n in range(2000, 2010)])
        wait_for(lambda: len(lines()) >= 1510, what="live records after the catch-up")
        time.sleep(0.3)
        assert [json.loads(line)["n"] for line in lines()] == list(range(500, 2010))
    finally:
        subscriber.send_signal(signal.SIGTERM)
        subscriber.wait(5)
        output.close()
    assert bridge_state(server)["catch_ups"] >= 1


def test_two_nodes_give_the_same_positions_and_a_client_recovers_on_the_other(start_herald, broker):
    """Two Herald nodes tail one topic: records have the same position on both, a publish through one node's
    API reaches subscribers of both, and a client that read some records on node A, left, and reconnects
    to node B with its position recovers exactly what it missed."""
    broker.create_topic("orders", partitions=3)
    node_a = start_herald(orders_config(broker), env=KAFKA_ENV)
    node_b = start_herald(orders_config(broker), env=KAFKA_ENV)
    for node in (node_a, node_b):
        wait_for(lambda node=node: bridge_state(node)["status"] == "ok", what="both bridges to connect")

    async def scenario():
        socket_a, first = await raw_subscribe(node_a.ws_url, "orders:k2")
        socket_b, other = await raw_subscribe(node_b.ws_url, "orders:k2")
        assert first["epoch"] == other["epoch"]
        written = broker.produce("orders", [("k2", json.dumps({"n": n})) for n in range(5)])
        status, answer = node_a.api("publish", {"channel": "orders:k2", "data": {"n": 5}})
        assert status == 200 and answer["result"]["epoch"] == first["epoch"], answer
        expected = [(offset + 1, {"n": n}) for n, (_, offset) in enumerate(written)] + [(answer["result"]["offset"], {"n": 5})]
        assert await pushes(socket_a, 6) == expected
        assert await pushes(socket_b, 6) == expected
        await socket_a.close()
        # Missed on A: three more, one through node B's API.
        broker.produce("orders", [("k2", json.dumps({"n": n})) for n in range(6, 8)])
        assert node_b.api("publish", {"channel": "orders:k2", "data": {"n": 8}})[0] == 200
        missed = await pushes(socket_b, 3)
        await socket_b.close()
        moved, result = await raw_subscribe(node_b.ws_url, "orders:k2", offset=expected[-1][0], epoch=first["epoch"])
        await moved.close()
        assert result.get("recovered") is True, result
        assert [(p["offset"], p["data"]) for p in result.get("publications", [])] == missed

    asyncio.run(scenario())
    # Each node's tail delivers on its own time: compare once both have delivered all 9 records.
    for node in (node_a, node_b):
        wait_for(lambda node=node: sum(p["position"] for p in bridge_state(node)["partitions"]) == 9,
                 what="both tails to deliver every record")
    partitions = [[(p["partition"], p["epoch"], p["position"]) for p in bridge_state(node)["partitions"]]
                  for node in (node_a, node_b)]
    assert partitions[0] == partitions[1]
    history = [node.api("history", {"channel": "orders:k2", "limit": -1})[1]["result"] for node in (node_a, node_b)]
    assert history[0] == history[1] and len(history[0]["publications"]) == 9


def test_broker_killed_and_restarted(start_herald, tmp_path):
    """The broker dies under a live subscriber: /health turns degraded, a publish into a bridged channel is
    answered with an error within the producer's timeout (set through `librdkafka`), unbridged channels keep
    working. The broker comes back (empty: Tansu keeps memory only) and the bridge resumes: records written
    after the restart reach the subscriber, under a new epoch, none twice."""
    broker = Broker()
    try:
        broker.create_topic("orders", partitions=1)
        config = orders_config(broker, librdkafka={"message.timeout.ms": "2000"})
        config["channel"]["namespaces"].append(namespace("plain", history_size=0, history_ttl="0s",
                                                         force_recovery=False))
        server = start_herald(config, env=KAFKA_ENV)
        wait_for(lambda: bridge_state(server)["status"] == "ok", what="the bridge to connect")

        async def scenario():
            socket, subscribed = await raw_subscribe(server.ws_url, "orders:k1")
            broker.produce("orders", [("k1", json.dumps({"n": n})) for n in range(3)])
            assert [data["n"] for _, data in await pushes(socket, 3)] == [0, 1, 2]
            broker.stop(signal.SIGKILL)
            wait_for(lambda: server.request("GET", "/health")[0] == 200
                     and json.loads(server.request("GET", "/health")[1])["kafka"]["status"] == "degraded",
                     what="/health to say degraded")
            status, answer = server.api("publish", {"channel": "orders:k1", "data": {"n": "lost"}})
            assert status == 200 and answer["error"]["code"] == 100 and "kafka" in answer["error"]["message"], answer
            assert server.api("publish", {"channel": "plain:x", "data": {}}) == (200, {"result": {}})
            broker.start()
            broker.create_topic("orders", partitions=1)
            wait_for(lambda: bridge_state(server)["status"] == "ok", timeout=20, what="the bridge to reconnect")
            broker.produce("orders", [("k1", json.dumps({"n": n})) for n in range(3, 6)])
            after = await pushes(socket, 3, timeout=20)
            assert [data["n"] for _, data in after] == [3, 4, 5]
            # No duplicate arrives late.
            try:
                extra = await pushes(socket, 1, timeout=1)
            except asyncio.TimeoutError:
                extra = []
            assert extra == []
            await socket.close()
            epoch_now = bridge_state(server)["partitions"][0]["epoch"]
            assert epoch_now != subscribed["epoch"]

        asyncio.run(scenario())
    finally:
        broker.stop()


def test_positions_kafka_cannot_serve_are_not_recovered(start_herald, tmp_path):
    """A position further back than `kafka.catch_up_max_scan`, or one to read while the broker is gone, is
    answered `recovered: false` with the current position (error 112 when the SDK sets its reject flag), and
    the subscriber is live from there: it gets the next record."""
    broker = Broker()
    try:
        broker.create_topic("orders", partitions=1)
        broker.produce("orders", [("k1", json.dumps({"n": n})) for n in range(200)])
        server = start_herald(orders_config(broker, history_size=10, catch_up_max_scan=50), env=KAFKA_ENV)
        wait_for(lambda: bridge_state(server)["status"] == "ok", what="the bridge to connect")
        epoch = bridge_state(server)["partitions"][0]["epoch"]

        async def scenario():
            socket, result = await raw_subscribe(server.ws_url, "orders:k1", offset=0, epoch=epoch)
            assert result.get("recovered") is not True and result["was_recovering"] is True, result
            assert result["offset"] == 200 and "publications" not in result, result
            broker.produce("orders", [("k1", json.dumps({"n": 200}))])
            assert await pushes(socket, 1) == [(201, {"n": 200})]
            await socket.close()
            # Within the scan bound: recovered from Kafka.
            socket, result = await raw_subscribe(server.ws_url, "orders:k1", offset=170, epoch=epoch)
            assert result.get("recovered") is True and [p["offset"] for p in result["publications"]] == list(range(171, 202))
            await socket.close()
            socket = await websockets.connect(server.ws_url)
            await socket.send(json.dumps({"id": 1, "connect": {}}))
            await socket.recv()
            await socket.send(json.dumps({"id": 2, "subscribe": {"channel": "orders:k1", "recover": True, "offset": 0,
                                                                 "epoch": epoch, "flag": 2}}))
            assert json.loads(await socket.recv()) == {"id": 2, "error": {"code": 112, "message": "unrecoverable position"}}
            await socket.close()
            # Kafka gone: the read fails, the subscriber is answered (not left waiting) and live.
            broker.stop(signal.SIGKILL)
            started = time.monotonic()
            socket, result = await raw_subscribe(server.ws_url, "orders:k1", offset=170, epoch=epoch)
            assert result.get("recovered") is not True and result["offset"] == 201, result
            assert time.monotonic() - started < 15
            await socket.close()
            assert bridge_state(server)["catch_ups_failed"] >= 3

        asyncio.run(scenario())
    finally:
        broker.stop()
