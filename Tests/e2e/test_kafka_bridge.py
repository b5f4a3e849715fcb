"""The Kafka bridge as its users see it: records written to Kafka (by kcat and confluent-kafka, which nobody
here wrote) reach subscribers of the channel their template gives, with Kafka's positions; records that cannot
be mapped or decoded are counted, logged once, dead-lettered, and never block what follows; publishes into
bridged channels become records; the bridge reports its state in /health and /api/info and survives a broker
that is not there yet. The broker is Tansu (kafka_support.py), fresh for each test."""
import asyncio
import base64
import json
import re
from types import SimpleNamespace

from conftest import free_port
from test_metrics import scrape, value
from history_config import namespace
from kafka_support import KAFKA_ENV, Broker, bridge_config, bridge_state, broker, wait_for  # noqa: F401 (fixture)
from test_history import recording_subscriber
from wsclient import assert_still_serving, connected


# ---------------------------------------------------------------------------------------------- helpers

def health(server):
    status, body = server.request("GET", "/health")
    return status, json.loads(body)


def start_bridged(start_herald, broker, bridges, namespaces, partitions, **kafka):
    """Herald with `bridges`, once its tail has every one of the `partitions` assigned (so with `start: latest`
    every record written from now on is delivered)."""
    server = start_herald(bridge_config(broker, bridges, namespaces, **kafka), env=KAFKA_ENV)

    def ready():
        state = bridge_state(server)
        return state["status"] == "ok" and len(state["partitions"]) == partitions
    wait_for(ready, what="the bridge to connect and assign its partitions")
    return server


def epoch_of(server, topic, partition):
    [epoch] = [p["epoch"] for p in bridge_state(server)["partitions"]
               if (p["topic"], p["partition"]) == (topic, partition)]
    return epoch


def delivered_all(server, count):
    """Waits until the tail has handled `count` records (published or skipped)."""
    wait_for(lambda: bridge_state(server)["records"] >= count, what=f"the tail to handle {count} records")


async def subscribed(server, channel):
    """A raw protocol client subscribed to `channel`, and the subscribe reply's result."""
    client = await connected(server.ws_url)
    reply = await client.call("subscribe", {"channel": channel})
    assert "subscribe" in reply, reply
    return client, reply["subscribe"]


async def publications(client, count, timeout=5):
    """The next `count` publications pushed to `client`, as (channel, offset, data)."""
    received = []
    while len(received) < count:
        push = await client.push(timeout)
        if "pub" in push:
            received.append((push["channel"], push["pub"].get("offset"), push["pub"]["data"]))
    return received


async def nothing_more(client, wait=0.4):
    """Fails if `client` gets another publication within `wait` seconds."""
    try:
        push = await client.push(wait)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"unexpected push: {push}")


def records_by_key(records, key):
    """[(partition, offset, value, headers)] of the records with `key`, in Kafka order."""
    return sorted((partition, offset, value, headers) for partition, offset, k, value, headers in records if k == key)


# ---------------------------------------------------------------------------------------------- tests

def test_records_reach_the_channel_of_their_key(start_herald, broker):
    """Records keyed 42 and 7 are written to a 3-partition topic by kcat (murmur2) and by confluent-kafka: an
    SDK subscriber and a raw subscriber of `orders:42` see exactly the key-42 records, in write order, each
    with offset = Kafka offset + 1, and none of key 7 (which go to `orders:7`); the epoch in each subscribe
    reply is the one /api/info gives the partition the key's records went to, bound before any record arrived."""
    broker.create_topic("orders", partitions=3)
    server = start_bridged(start_herald, broker, [{"topic": "orders", "channel": "orders:{key}"}],
                           [namespace("orders")], partitions=3)

    async def scenario():
        sdk, _, recorder = await recording_subscriber(server, "orders:42")
        raw42, reply42 = await subscribed(server, "orders:42")
        raw7, reply7 = await subscribed(server, "orders:7")
        broker.kcat("-P", "-t", "orders", "-K:", "-X", "partitioner=murmur2_random",
                    input=b'42:{"n":1,"via":"kcat"}\n7:{"n":2}\n42:{"n":3}\n')
        broker.produce("orders", [("42", json.dumps({"n": 4})), ("7", json.dumps({"n": 5})),
                                  ("42", json.dumps({"n": 6, "text": "ü"}))])
        written = broker.consume_all("orders", partitions=3)
        assert len(written) == 6, written
        key42, key7 = records_by_key(written, b"42"), records_by_key(written, b"7")
        assert [json.loads(value) for _, _, value, _ in key42] == [{"n": 1, "via": "kcat"}, {"n": 3}, {"n": 4},
                                                                   {"n": 6, "text": "ü"}]
        [partition42] = {partition for partition, _, _, _ in key42}
        [partition7] = {partition for partition, _, _, _ in key7}
        expected42 = [("orders:42", offset + 1, json.loads(value)) for _, offset, value, _ in key42]
        expected7 = [("orders:7", offset + 1, json.loads(value)) for _, offset, value, _ in key7]

        assert await publications(raw42, 4) == expected42
        assert await publications(raw7, 2) == expected7
        await recorder.until(4, timeout=5)
        delivered_all(server, 6)
        await nothing_more(raw42)
        await nothing_more(raw7, wait=0.1)
        assert recorder.publications == [(offset, data) for _, offset, data in expected42]

        assert len(reply42["epoch"]) == 8, reply42
        assert reply42["epoch"] == epoch_of(server, "orders", partition42), (reply42, bridge_state(server))
        assert reply7["epoch"] == epoch_of(server, "orders", partition7), (reply7, bridge_state(server))
        assert bridge_state(server)["skipped"] == {}
        for client in (raw42, raw7):
            await client.close()
        await sdk.disconnect()

    asyncio.run(scenario())


def test_channels_by_header_by_partition_and_by_topic(start_herald, broker):
    """`events:{header:tenant}` sends each record to its tenant's channel (a record without the header is
    skipped as missingHeader); `part:{partition}` gives each partition a channel whose subscribe reply already
    carries that partition's epoch; `{topic}:{key}` names the namespace after the topic. A publish into
    `events:acme` or `part:2` through the API becomes a record with header tenant=acme, or in partition 2."""
    for topic, partitions in (("events", 1), ("parts", 3), ("audit", 2)):
        broker.create_topic(topic, partitions=partitions)
    server = start_bridged(start_herald, broker,
                           [{"topic": "events", "channel": "events:{header:tenant}"},
                            {"topic": "parts", "channel": "part:{partition}"},
                            {"topic": "audit", "channel": "{topic}:{key}"}],
                           # A header channel has no partition until its first record: a positioned subscriber
                           # from before would get unsubscribe 2500 when it binds (see README). This test is
                           # about mapping, so its header channels are not positioned.
                           [namespace("events", force_recovery=False), namespace("part"), namespace("audit")],
                           partitions=6)

    async def scenario():
        acme, _ = await subscribed(server, "events:acme")
        globex, _ = await subscribed(server, "events:globex")
        part1, reply1 = await subscribed(server, "part:1")
        part2, reply2 = await subscribed(server, "part:2")
        audit, audit_reply = await subscribed(server, "audit:k1")
        assert reply1["epoch"] == epoch_of(server, "parts", 1), reply1
        assert reply2["epoch"] == epoch_of(server, "parts", 2), reply2

        # By header: offsets are the (single) partition's offsets + 1.
        broker.produce("events", [(None, json.dumps({"n": 0}), [("tenant", b"acme")]),
                                  (None, json.dumps({"n": 1}), [("tenant", b"globex")]),
                                  (None, json.dumps({"n": 2}), [("other", b"acme")]),
                                  (None, json.dumps({"n": 3}), [("tenant", b"acme")])])
        broker.kcat("-P", "-t", "events", "-H", "tenant=globex", input=b'{"n":4}\n')
        assert await publications(acme, 2) == [("events:acme", 1, {"n": 0}), ("events:acme", 4, {"n": 3})]
        assert await publications(globex, 2) == [("events:globex", 2, {"n": 1}), ("events:globex", 5, {"n": 4})]

        # By partition: kcat writes to partitions 1 and 2 explicitly.
        broker.kcat("-P", "-t", "parts", "-p", "1", input=b'{"p":1,"n":0}\n{"p":1,"n":1}\n')
        broker.kcat("-P", "-t", "parts", "-p", "2", input=b'{"p":2,"n":0}\n')
        assert await publications(part1, 2) == [("part:1", 1, {"p": 1, "n": 0}), ("part:1", 2, {"p": 1, "n": 1})]
        assert await publications(part2, 1) == [("part:2", 1, {"p": 2, "n": 0})]

        # By topic and key.
        broker.produce("audit", [("k1", json.dumps({"a": 1})), ("k2", json.dumps({"a": 2})),
                                 ("k1", json.dumps({"a": 3}))])
        audit_records = records_by_key(broker.consume_all("audit", partitions=2), b"k1")
        assert await publications(audit, 2) == [("audit:k1", offset + 1, json.loads(value))
                                                for _, offset, value, _ in audit_records]
        assert audit_reply["epoch"] == epoch_of(server, "audit", audit_records[0][0])

        # Publishing back: the header and the partition come from the channel.
        status, answer = server.api("publish", {"channel": "events:acme", "data": {"n": 5}})
        assert status == 200 and "result" in answer, answer
        status, answer2 = server.api("publish", {"channel": "part:2", "data": {"p": 2, "n": 1}})
        assert status == 200 and "result" in answer2, answer2
        assert answer2["result"] == {"offset": 2, "epoch": epoch_of(server, "parts", 2)}, answer2
        assert await publications(acme, 1) == [("events:acme", answer["result"]["offset"], {"n": 5})]
        assert await publications(part2, 1) == [("part:2", 2, {"p": 2, "n": 1})]
        events = broker.consume_all("events", partitions=1)
        [(_, offset, _, value, headers)] = [r for r in events if r[1] == answer["result"]["offset"] - 1]
        assert json.loads(value) == {"n": 5} and ("tenant", b"acme") in headers, (value, headers)
        parts = broker.consume_all("parts", partitions=3)
        assert [(p, o, json.loads(v)) for p, o, _, v, _ in parts if p == 2] == [(2, 0, {"p": 2, "n": 0}),
                                                                                (2, 1, {"p": 2, "n": 1})]

        delivered_all(server, 5 + 3 + 3 + 2)
        for client in (acme, globex, part1, part2, audit):
            await nothing_more(client, wait=0.1)
            await client.close()
        assert bridge_state(server)["skipped"] == {"missingHeader": 1}

    asyncio.run(scenario())


def test_a_publish_into_a_partition_channel_written_another_way_reaches_its_subscribers(start_herald, broker):
    """`part:01` and `part:+1` read as partition 1 for `part:{partition}`, but the tail publishes partition 1's
    records to `part:1`. A user who publishes into `part:01` through the API must either be refused (it is
    not a channel the template gives) or have the publication reach the subscribers of `part:01`: an answer
    of success followed by silence loses the publication for them."""
    broker.create_topic("parts", partitions=3)
    server = start_bridged(start_herald, broker, [{"topic": "parts", "channel": "part:{partition}"}],
                           [namespace("part")], partitions=3)

    async def scenario():
        outcomes = {}
        for channel in ("part:01", "part:+1"):
            subscriber, _ = await subscribed(server, channel)
            written_before = len(broker.consume_all("parts", partitions=3, timeout=3))
            status, answer = server.api("publish", {"channel": channel, "data": {"to": channel}})
            assert status == 200, answer
            if "error" in answer:
                outcomes[channel] = "refused"
                assert len(broker.consume_all("parts", partitions=3, timeout=3)) == written_before, (
                    f"{channel}: refused, yet a record was written")
            else:
                try:
                    [(_, _, data)] = await publications(subscriber, 1, timeout=2)
                    outcomes[channel] = "delivered" if data == {"to": channel} else f"its subscriber got {data}"
                except asyncio.TimeoutError:
                    outcomes[channel] = f"answered {answer}, but its subscriber got nothing in 2 s"
            await subscriber.close()
        assert set(outcomes.values()) <= {"refused", "delivered"}, outcomes

    asyncio.run(scenario())


def test_string_and_base64_bridges_and_their_round_trip(start_herald, broker):
    """A `data: string` bridge publishes UTF-8 values as JSON strings (a value that looks like JSON stays a
    string); a `data: base64` bridge publishes any bytes, not UTF-8 ones too, as their base64. Publishing a
    string (or base64 text) through the API into such a channel writes the decoded bytes to Kafka, and
    subscribers get it back in the channel's format."""
    broker.create_topic("texts", partitions=1)
    broker.create_topic("blobs", partitions=1)
    server = start_bridged(start_herald, broker,
                           [{"topic": "texts", "channel": "text:{key}", "data": "string"},
                            {"topic": "blobs", "channel": "blob:{key}", "data": "base64"}],
                           [namespace("text"), namespace("blob")], partitions=2)
    text = 'héllo wörld "quoted" \\ tab\t✓'
    binary = b"\xff\x00\xfe\x80 not UTF-8 \xc3"

    async def scenario():
        texts, _ = await subscribed(server, "text:a")
        blobs, _ = await subscribed(server, "blob:b")
        broker.produce("texts", [("a", text.encode()), ("a", b'{"looks":"like json"}')])
        broker.kcat("-P", "-t", "texts", "-K:", input="a:line from kcat ü\n".encode())
        broker.produce("blobs", [("b", binary), ("b", b"")])
        assert await publications(texts, 3) == [("text:a", 1, text), ("text:a", 2, '{"looks":"like json"}'),
                                                ("text:a", 3, "line from kcat ü")]
        assert await publications(blobs, 2) == [("blob:b", 1, base64.b64encode(binary).decode()), ("blob:b", 2, "")]

        # The round trip: the API's string is written decoded; base64 text is written as its bytes.
        round_text = "round trip ✓ \"q\"\n"
        status, answer = server.api("publish", {"channel": "text:a", "data": round_text})
        assert status == 200 and answer.get("result", {}).get("offset") == 4, answer
        round_bytes = b"\x00\x01\xfe\xff round trip"
        status, answer = server.api("publish", {"channel": "blob:b",
                                                "data": base64.b64encode(round_bytes).decode()})
        assert status == 200 and answer.get("result", {}).get("offset") == 3, answer
        assert await publications(texts, 1) == [("text:a", 4, round_text)]
        assert await publications(blobs, 1) == [("blob:b", 3, base64.b64encode(round_bytes).decode())]
        assert [(o, k, v) for _, o, k, v, _ in broker.consume_all("texts", partitions=1)][-1] == (
            3, b"a", round_text.encode())
        assert [(o, k, v) for _, o, k, v, _ in broker.consume_all("blobs", partitions=1)][-1] == (2, b"b", round_bytes)
        # What the format cannot carry is refused, and nothing is written.
        for channel, data in (("text:a", {"not": "a string"}), ("blob:b", "%%% not base64 %%%")):
            status, answer = server.api("publish", {"channel": channel, "data": data})
            assert status == 200 and "error" in answer, (channel, answer)
        assert len(broker.consume_all("texts", partitions=1)) == 4
        assert len(broker.consume_all("blobs", partitions=1)) == 3
        await nothing_more(texts, wait=0.2)
        await nothing_more(blobs, wait=0.1)
        assert bridge_state(server)["skipped"] == {}
        await texts.close()
        await blobs.close()

    asyncio.run(scenario())


# What test_undecodable_records_... writes to `orders` (data: json) and `texts` (data: string), with its kind.
BAD_ORDERS = [("k", b"not json {", "notJSON"),
              (None, b'{"n":0}', "noKey"),
              ("k", b"also not json", "notJSON"),
              ("k", None, "noValue"),
              (None, b'{"n":1}', "noKey"),
              ("bad key", b'{"n":2}', "badChannel"),  # a space is not allowed in a channel name
              ("k", b"{'single': 1}", "notJSON"),
              ("", b'{"n":3}', "noKey")]
BAD_TEXTS = [("a", b"\xff\xfe", "notUTF8"),
             ("a", b"caf\xe9", "notUTF8")]


def test_undecodable_records_are_counted_logged_once_dead_lettered_and_skipped(start_herald, broker):
    """Records that cannot be mapped or decoded (not JSON, no key, no value, a channel name that is not valid,
    not UTF-8 for `data: string`) are skipped: /api/info counts each kind, the log names each kind once
    (though several of a kind were sent), each is copied to the dead-letter topic with `herald-error` and
    `herald-source` headers, and the valid record written after them still reaches its subscriber."""
    for topic in ("orders", "texts", "dead"):
        broker.create_topic(topic, partitions=1)
    server = start_bridged(start_herald, broker,
                           [{"topic": "orders", "channel": "orders:{key}"},
                            {"topic": "texts", "channel": "text:{key}", "data": "string"}],
                           [namespace("orders"), namespace("text")], partitions=2, dead_letter_topic="dead")

    async def scenario():
        orders, _ = await subscribed(server, "orders:k")
        texts, _ = await subscribed(server, "text:a")
        broker.produce("orders", [(key, value) for key, value, _ in BAD_ORDERS] + [("k", b'{"ok":1}')])
        broker.produce("texts", [(key, value) for key, value, _ in BAD_TEXTS] + [("a", "fine ✓".encode())])
        assert await publications(orders, 1) == [("orders:k", len(BAD_ORDERS) + 1, {"ok": 1})]
        assert await publications(texts, 1) == [("text:a", len(BAD_TEXTS) + 1, "fine ✓")]
        delivered_all(server, len(BAD_ORDERS) + len(BAD_TEXTS) + 2)
        await nothing_more(orders, wait=0.2)
        await nothing_more(texts, wait=0.1)
        await orders.close()
        await texts.close()

    asyncio.run(scenario())
    kinds = [kind for _, _, kind in BAD_ORDERS + BAD_TEXTS]
    assert bridge_state(server)["skipped"] == {kind: kinds.count(kind) for kind in set(kinds)}

    # The dead-letter topic: one copy of each, saying where it came from and why.
    sources = {f"orders/0/{offset}": (key, value, kind) for offset, (key, value, kind) in enumerate(BAD_ORDERS)}
    sources.update({f"texts/0/{offset}": (key, value, kind) for offset, (key, value, kind) in enumerate(BAD_TEXTS)})
    def dead_letters():
        found = broker.consume_all("dead", partitions=1, timeout=3)
        return found if len(found) >= len(sources) else None
    dead = wait_for(dead_letters, what="the dead-letter copies")
    reasons = {}
    seen = []
    for _, _, key, value, headers in dead:
        headers = dict(headers)
        assert "herald-error" in headers and "herald-source" in headers, headers
        source = headers["herald-source"].decode()
        seen.append(source)
        original_key, original_value, kind = sources[source]
        assert (key or b"") == (original_key or "").encode(), (source, key)
        assert (value or b"") == (original_value or b""), (source, value)
        reasons.setdefault(kind, set()).add(headers["herald-error"].decode())
    assert sorted(seen) == sorted(sources), "each bad record once in the dead-letter topic"
    assert all(len(said) == 1 and next(iter(said)) for said in reasons.values()), reasons
    assert len({next(iter(said)) for said in reasons.values()}) == len(reasons), f"one reason per kind: {reasons}"
    assert "JSON" in next(iter(reasons["notJSON"])) and "UTF-8" in next(iter(reasons["notUTF8"])), reasons

    # The log names each kind once, at the first record of that kind.
    first = {}
    for topic, records in (("orders", BAD_ORDERS), ("texts", BAD_TEXTS)):
        for offset, (_, _, kind) in enumerate(records):
            first.setdefault(kind, f"{topic}[0]@{offset}")
    skip_lines = [line for line in server.log_text().splitlines() if "skipping" in line]
    named = sorted(match.group(0) for line in skip_lines for match in [re.search(r"\w+\[\d+\]@\d+", line)] if match)
    assert named == sorted(first.values()), "\n".join(skip_lines)


def test_publish_into_a_bridged_channel_becomes_a_record(start_herald, broker):
    """`POST /api/publish` into `orders:k5` answers {offset, epoch} once Kafka has the record: in Kafka it
    has key k5, the published JSON as its value, offset = answer offset - 1, in the partition whose epoch the
    answer names (the one the subscriber's subscribe reply gave); a client publish over WebSocket does the
    same. The subscriber gets each publication once, from the tail; a publish to orders:k9 does not reach it."""
    broker.create_topic("orders", partitions=3)
    server = start_bridged(start_herald, broker, [{"topic": "orders", "channel": "orders:{key}"}],
                           [namespace("orders", allow_publish_for_client=True, allow_publish_for_anonymous=True)],
                           partitions=3)

    async def scenario():
        subscriber, reply = await subscribed(server, "orders:k5")
        datas = [{"n": 1}, {"n": 2, "text": "ü ✓"}, [1, "two", None]]
        answers = []
        for data in datas:
            status, answer = server.api("publish", {"channel": "orders:k5", "data": data})
            assert status == 200 and set(answer.get("result", {})) == {"offset", "epoch"}, answer
            answers.append(answer["result"])
        status, other = server.api("publish", {"channel": "orders:k9", "data": {"other": True}})
        assert status == 200 and "result" in other, other
        publisher = await connected(server.ws_url)
        ws_reply = await publisher.call("publish", {"channel": "orders:k5", "data": {"via": "websocket"}})
        assert ws_reply.get("publish") == {}, ws_reply
        await publisher.close()

        written = broker.consume_all("orders", partitions=3)
        k5 = records_by_key(written, b"k5")
        assert len(k5) == 4 and len(records_by_key(written, b"k9")) == 1, written
        [partition] = {partition for partition, _, _, _ in k5}
        epoch = epoch_of(server, "orders", partition)
        assert reply["epoch"] == epoch, (reply, bridge_state(server))
        assert [(a["offset"], a["epoch"]) for a in answers] == [(offset + 1, epoch) for _, offset, _, _ in k5[:3]]
        # The value is the data exactly as it was sent (the API body and the client command use json.dumps).
        assert [value for _, _, value, _ in k5] == [json.dumps(data).encode() for data in datas] + [
            json.dumps({"via": "websocket"}).encode()]

        expected = [("orders:k5", offset + 1, json.loads(value)) for _, offset, value, _ in k5]
        assert await publications(subscriber, 4) == expected
        delivered_all(server, 5)
        await nothing_more(subscriber)
        await subscriber.close()

    asyncio.run(scenario())


def test_herald_starts_without_the_broker_and_bridges_once_it_is_up(start_herald):
    """With nothing listening at the configured broker, Herald starts anyway: /health answers 200 with kafka
    status "degraded", and a channel that is not bridged works. Once a broker comes up on that port and the
    topic exists, /health turns "ok" within seconds and records reach subscribers."""
    port = free_port()
    nobody_there = SimpleNamespace(address=f"127.0.0.1:{port}")
    config = bridge_config(nobody_there, [{"topic": "orders", "channel": "orders:{key}"}], [namespace("orders")])
    server = start_herald(config, env=KAFKA_ENV)
    late = None
    try:
        # Once the tail has tried the broker and failed, /health says why.
        wait_for(lambda: health(server)[1]["kafka"]["detail"] not in ("", "connecting"),
                 what="the tail's first attempt to reach the broker")
        status, body = health(server)
        assert status == 200 and body["kafka"]["status"] == "degraded", body
        assert bridge_state(server)["status"] == "degraded"
        # Ready all the same: channels without a bridge are served; the detail says Kafka is missing.
        status, ready = server.request("GET", "/ready")
        assert status == 200 and json.loads(ready)["kafka"]["status"] == "degraded", ready
        asyncio.run(assert_still_serving(server, "plain"))

        late = Broker(port=port)
        late.create_topic("orders", partitions=1)
        wait_for(lambda: health(server)[1]["kafka"]["status"] == "ok"
                 and len(health(server)[1]["kafka"]["partitions"]) == 1,
                 timeout=15, what='/health to say "ok" once the broker is up')

        async def scenario():
            subscriber, reply = await subscribed(server, "orders:k")
            late.produce("orders", [("k", json.dumps({"n": n})) for n in range(3)])
            assert await publications(subscriber, 3, timeout=10) == [("orders:k", n + 1, {"n": n}) for n in range(3)]
            assert reply["epoch"] == epoch_of(server, "orders", 0)
            await subscriber.close()

        asyncio.run(scenario())
    finally:
        if late:
            late.stop()


def test_positions_and_lag_in_info_and_health(start_herald, broker):
    """/api/info and /health show each partition's position (next Kafka offset the tail delivers) and lag:
    with `start: latest` positions begin at the end of what was already in Kafka, with `start: earliest` the
    backlog is delivered; after N more records the positions add up and every lag reaches 0."""
    broker.create_topic("orders", partitions=3)
    broker.create_topic("backlog", partitions=2)
    before = broker.produce("orders", [(f"k{n}", json.dumps({"n": n})) for n in range(4)])
    backlog = broker.produce("backlog", [(f"b{n}", json.dumps({"n": n})) for n in range(5)])
    server = start_bridged(start_herald, broker,
                           [{"topic": "orders", "channel": "orders:{key}", "start": "latest"},
                            {"topic": "backlog", "channel": "backlog:{key}", "start": "earliest"}],
                           [namespace("orders"), namespace("backlog")], partitions=5)

    def ends(delivered, partitions):
        result = {partition: 0 for partition in range(partitions)}
        for partition, offset in delivered:
            result[partition] = max(result[partition], offset + 1)
        return result

    def positions(topic):
        return {p["partition"]: p["position"] for p in bridge_state(server)["partitions"] if p["topic"] == topic}

    assert positions("orders") == ends(before, 3), bridge_state(server)
    wait_for(lambda: positions("backlog") == ends(backlog, 2), what="the backlog to be delivered")
    assert bridge_state(server)["records"] == 5, "only the backlog: the records of `orders` before start are not"

    count = 30
    after = broker.produce("orders", [(f"key-{n % 7}", json.dumps({"n": n})) for n in range(count)])
    wait_for(lambda: positions("orders") == ends(before + after, 3), what="the tail to reach the end of orders")
    assert sum(positions("orders").values()) == len(before) + count

    def all_caught_up():
        state = bridge_state(server)
        return all(p["lag"] == 0 for p in state["partitions"]) and state
    state = wait_for(all_caught_up, what="every lag to reach 0")
    assert state["records"] == len(backlog) + count, state
    assert state["skipped"] == {}
    status, body = health(server)
    assert status == 200 and body["kafka"]["status"] == "ok"
    assert body["kafka"]["partitions"] == state["partitions"], (body, state)
    assert {(p["topic"], p["partition"]) for p in state["partitions"]} == {("orders", 0), ("orders", 1), ("orders", 2),
                                                                          ("backlog", 0), ("backlog", 1)}
    assert all(len(p["epoch"]) == 8 for p in state["partitions"])
    assert len({p["epoch"] for p in state["partitions"]}) == 5, "one epoch per topic and partition"
    # The same in /metrics: lag per topic and partition, records by source.
    samples = scrape(server)
    assert {labels for (name, labels) in samples if name == "herald_kafka_lag_records"} == \
        {(("partition", str(p)), ("topic", t)) for t, p in [("orders", 0), ("orders", 1), ("orders", 2),
                                                             ("backlog", 0), ("backlog", 1)]}
    assert all(v == 0 for (name, _), v in samples.items() if name == "herald_kafka_lag_records")
    assert value(samples, "herald_publications_total", source="kafka") == len(backlog) + count


def test_data_streams_follow_a_bridged_channel_with_kafka_positions(start_herald, broker):
    """An SSE stream and a raw WebSocket on a channel bridged from a 1-partition topic: records written with
    kcat arrive as written, the SSE ids carry Kafka offset + 1 and the partition's epoch, and a stream resumed
    from an id gets the records after it from memory, then live."""
    from websockets.sync.client import connect as ws_connect
    from test_data_streams import EventStream

    broker.create_topic("prices", partitions=1)
    server = start_bridged(start_herald, broker, [{"topic": "prices", "channel": "prices:{partition}"}],
                           [namespace("prices")], partitions=1)
    epoch = epoch_of(server, "prices", 0)
    stream = EventStream(server, "channel=prices:0")
    try:
        assert stream.last_id().endswith(f":{epoch}")
        with ws_connect(f"ws://127.0.0.1:{server.port}/ws/prices:0") as raw:
            broker.kcat("-P", "-t", "prices", input=b'{"eur":1.08}\n{"eur":1.09}\n')
            assert [raw.recv(timeout=10) for _ in range(2)] == ['{"eur":1.08}', '{"eur":1.09}']
        written = broker.consume_all("prices", partitions=1)
        ids = [f"{offset + 1}:{epoch}" for _, offset, *_ in written]
        assert [stream.next()[0::2] for _ in range(2)] == list(zip(ids, ['{"eur":1.08}', '{"eur":1.09}']))
    finally:
        stream.close()
    broker.kcat("-P", "-t", "prices", input=b'{"eur":1.10}\n')
    resumed = EventStream(server, "channel=prices:0", headers={"Last-Event-ID": ids[0]})
    try:
        assert [resumed.next()[2] for _ in range(2)] == ['{"eur":1.09}', '{"eur":1.10}']
    finally:
        resumed.close()
