"""Data streams for clients without an SDK: Server-Sent Events (`GET /connection/sse?channel=…`, read with
the real SSE client httpx-sse) and the raw WebSocket per channel (`/ws/CHANNEL`, read with `websockets`).

What a user sees: each publication's data exactly as published; an SSE `id` that is the stream position
(`OFFSET:EPOCH`, one per channel in URL order), so that resuming from `Last-Event-ID` or `?since=` sends every
later publication once (none missing, none twice); the channel's current value first in a configuration
channel; a clear HTTP status and message for every bad request; and the same permissions as WebSocket
subscribers."""
import asyncio
import json
import queue
import signal
import socket
import threading
import time

import httpx
import jwt
import pytest
import websockets
from httpx_sse import aconnect_sse
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect as ws_connect

from conftest import base_config
from history_config import history_config, namespace

SECRET = "data-stream-test-secret-of-32-bytes!"


class EventStream:
    """One SSE stream read by httpx-sse on an event loop of its own: events (id, event type, data) land in a
    queue, so a test can publish while it reads, and `close` hangs up at once, as a client going away does.
    The real client parses the wire format; this only collects what it yields."""

    def __init__(self, server, query, headers=None, base=None, verify=True):
        self.events = queue.Queue()
        self.opened = threading.Event()
        self.status = None
        self.body = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        url = f"{base or server.http_base}/connection/sse?{query}"
        self.reading = asyncio.run_coroutine_threadsafe(self._read(url, headers or {}, verify), self.loop)
        assert self.opened.wait(10), "the stream did not answer"

    async def _read(self, url, headers, verify):
        self.task = asyncio.current_task()
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=None), verify=verify) as client:
                async with aconnect_sse(client, "GET", url, headers=headers) as source:
                    self.status = source.response.status_code
                    if self.status != 200:
                        self.body = json.loads(await source.response.aread())
                        return
                    self.opened.set()
                    async for event in source.aiter_sse():
                        self.events.put((event.id, event.event, event.data))
        except httpx.HTTPError:
            pass  # closed by the server
        finally:
            self.opened.set()
            self.events.put(None)

    def next(self, timeout=10):
        """The next event that carries data (id-only lines set the position but are no event)."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if item is None:
                raise EOFError("the stream ended")
            if item[2]:
                return item

    def last_id(self, timeout=10):
        """The first id-only line: where the stream starts."""
        item = self.events.get(timeout=timeout)
        assert item is not None and item[2] == "", f"expected an id-only line first, got {item}"
        return item[0]

    def ended(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.events.get(timeout=0.2) is None:
                    return True
            except queue.Empty:
                pass
        return False

    def close(self):
        """Hangs up, as a client going away does (once)."""
        if not self.thread.is_alive():
            return

        async def hang_up():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(hang_up(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def streams():
    opened = []

    def open_stream(server, query, headers=None):
        stream = EventStream(server, query, headers)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


def publish(server, channel, data):
    status, body = server.api("publish", {"channel": channel, "data": data})
    assert status == 200 and "error" not in body, body
    return body["result"]


def open_streams_and_subscribers(server, channel):
    """What /metrics says of open data streams, and how many subscribers /api/channels gives `channel`."""
    _, metrics = server.request("GET", "/metrics")
    [streams] = [sample.value for family in text_string_to_metric_families(metrics.decode())
                 for sample in family.samples if sample.name == "herald_data_streams"]
    _, channels = server.api("channels", {})
    return streams, channels["result"]["channels"].get(channel, {}).get("num_clients", 0)


def eventually(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def history_server(start_herald, tmp_path, **options):
    return start_herald(history_config(tmp_path, namespace("hist", **options), namespace("config", force_recovery_mode="cache")))


# MARK: Server-Sent Events


def test_sse_delivers_data_as_published_with_positions_as_ids(start_herald, tmp_path, streams):
    server = history_server(start_herald, tmp_path)
    first = publish(server, "hist:news", {"n": 0})
    stream = streams(server, "channel=hist:news")
    epoch = first["epoch"]
    assert stream.last_id() == f"1:{epoch}"
    for n in range(1, 4):
        publish(server, "hist:news", {"n": n, "text": "a b"})
    for n in range(1, 4):
        event_id, event_type, data = stream.next()
        # The data as the API got it (conftest's publish writes `{"n": 1, "text": "a b"}`), byte for byte.
        assert (event_id, event_type, data) == (f"{n + 1}:{epoch}", "message", json.dumps({"n": n, "text": "a b"}))


def test_sse_resumes_from_last_event_id_with_no_gap_and_no_duplicate(start_herald, tmp_path, streams):
    server = history_server(start_herald, tmp_path)
    stream = streams(server, "channel=hist:feed")
    start = stream.last_id()
    publish(server, "hist:feed", "one")
    last_id, _, data = stream.next()
    assert data == '"one"'
    eventually(lambda: open_streams_and_subscribers(server, "hist:feed") == (1, 1))
    stream.close()
    # The hang-up is noticed: the stream leaves its channel and the count.
    eventually(lambda: open_streams_and_subscribers(server, "hist:feed") == (0, 0))

    for text in ["two", "three", "four"]:  # published while the client is away
        publish(server, "hist:feed", text)
    # As EventSource reconnects: the URL it started with (here with an old `since`) and Last-Event-ID, which wins.
    resumed = streams(server, f"channel=hist:feed&since={start}", headers={"Last-Event-ID": last_id})
    assert resumed.last_id() == last_id
    assert [resumed.next()[2] for _ in range(3)] == ['"two"', '"three"', '"four"']
    publish(server, "hist:feed", "five")
    event_id, _, data = resumed.next()
    assert data == '"five"' and event_id.startswith("5:")
    # Nothing more: no duplicate of what was caught up.
    with pytest.raises(queue.Empty):
        resumed.next(timeout=0.5)


def test_sse_of_several_channels_carries_every_channels_position(start_herald, tmp_path, streams):
    server = history_server(start_herald, tmp_path)
    epoch = publish(server, "hist:a", "a1")["epoch"]
    epoch_b = publish(server, "hist:b", "b1")["epoch"]
    stream = streams(server, "channel=hist:a&channel=live&channel=hist:b")
    assert stream.last_id() == f"1:{epoch},,1:{epoch_b}"
    publish(server, "hist:b", "b2")
    publish(server, "live", "l1")
    publish(server, "hist:a", "a2")
    assert stream.next() == (f"1:{epoch},,2:{epoch_b}", "message", '"b2"')
    assert stream.next() == (f"1:{epoch},,2:{epoch_b}", "message", '"l1"')
    last = stream.next()
    assert last == (f"2:{epoch},,2:{epoch_b}", "message", '"a2"')
    stream.close()

    publish(server, "hist:a", "a3")
    publish(server, "hist:b", "b3")
    resumed = streams(server, "channel=hist:a&channel=live&channel=hist:b", headers={"Last-Event-ID": last[0]})
    resumed.last_id()
    assert sorted(resumed.next()[2] for _ in range(2)) == ['"a3"', '"b3"']


def test_sse_says_unrecovered_when_history_cannot_cover_and_goes_on_live(start_herald, tmp_path, streams):
    server = history_server(start_herald, tmp_path, history_size=2)
    epoch = publish(server, "hist:short", 1)["epoch"]
    for n in range(2, 6):
        publish(server, "hist:short", n)
    # Offset 1 is gone (two kept); another epoch is unknown: both say so and continue live.
    for since in ["1", "3:zzzzzzzz"]:
        stream = streams(server, f"channel=hist:short&since={since}")
        assert stream.last_id() == f"5:{epoch}"
        assert stream.next()[1:] == ("unrecovered", '{"channel":"hist:short"}')
        stream.close()
    stream = streams(server, f"channel=hist:short&since=3:{epoch}")
    stream.last_id()
    assert [stream.next()[2] for _ in range(2)] == ["4", "5"]


def test_sse_on_a_configuration_channel_starts_with_the_current_value(start_herald, tmp_path, streams):
    server = history_server(start_herald, tmp_path)
    for version in range(1, 4):
        epoch = publish(server, "config:flags", {"version": version})["epoch"]
    stream = streams(server, "channel=config:flags")
    assert stream.last_id() == f"2:{epoch}"
    assert stream.next() == (f"3:{epoch}", "message", '{"version": 3}')
    publish(server, "config:flags", {"version": 4})
    assert stream.next()[2] == '{"version": 4}'


@pytest.mark.parametrize("query, headers, status, message", [
    ("", {}, 400, "name the channels"),
    ("channel=", {}, 400, "name the channels"),
    ("channel=nowhere:x", {}, 404, "no namespace for channel nowhere:x"),
    ("channel=a&channel=a", {}, 400, "named twice"),
    ("channel=bad%20name", {}, 400, "bad channel name"),
    ("channel=hist:x&since=abc", {}, 400, "OFFSET or OFFSET:EPOCH"),
    ("channel=hist:x&channel=y&since=1", {}, 400, "one position per channel"),
    ("channel=hist:x", {"Last-Event-ID": "1:no-such!"}, 400, "OFFSET or OFFSET:EPOCH"),
    ("channel=hist:x&since=7", {}, 400, "has no offset 7"),
    ("channel=closed:x", {}, 403, "permission denied for channel closed:x"),
])
def test_sse_refuses_bad_requests_with_a_status_and_a_message(start_herald, tmp_path, query, headers, status, message):
    config = history_config(tmp_path, namespace("hist"), {"name": "closed"})
    server = start_herald(config)
    response = httpx.get(f"{server.http_base}/connection/sse?{query}", headers=headers, timeout=10)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]
    assert server.request("GET", "/health")[0] == 200


def test_sse_answers_allowed_pages_with_cors_and_counts_per_address(start_herald, streams):
    server = start_herald(base_config(client={"allowed_origins": ["https://app.example"]},
                                      herald={"connections_per_ip": 1}))
    base = f"{server.http_base}/connection/sse?channel=news"
    assert httpx.post(base, timeout=10).status_code == 405
    refused = httpx.get(base, headers={"Origin": "https://evil.example"}, timeout=10)
    assert (refused.status_code, refused.json()["error"]["message"]) == (403, "origin not allowed")
    with httpx.stream("GET", base, headers={"Origin": "https://app.example"}, timeout=10) as page:
        assert page.status_code == 200
        assert page.headers["access-control-allow-origin"] == "https://app.example"
        # One per address (herald.connections_per_ip), the SSE stream counted like a WebSocket.
        over = httpx.get(base, timeout=10)
        assert (over.status_code, over.json()["error"]["message"]) == (429, "too many connections from this address")
        with pytest.raises(websockets.InvalidStatus) as upgrade:
            with ws_connect(f"ws://127.0.0.1:{server.port}/ws/news"):
                pass
        assert upgrade.value.response.status_code == 429
    # A plain GET of a WebSocket endpoint is told what it is.
    status, body = server.request("GET", "/ws/news")
    assert (status, json.loads(body)["error"]["code"]) == (400, 400)
    assert b"connect with a WebSocket client" in body


def test_sse_and_raw_websocket_follow_tokens_and_permissions(start_herald, streams):
    config = base_config(client={"allow_anonymous_connect_without_token": False,
                                 "token": {"hmac_secret_key": SECRET}})
    config["channel"]["namespaces"] = [{"name": "dm", "allow_user_limited_channels": True}]
    server = start_herald(config)

    def token(user, ttl=60, **claims):
        return jwt.encode({"sub": user, "exp": int(time.time()) + ttl, **claims}, SECRET, "HS256")

    def sse_status(query, headers=None):
        response = httpx.get(f"{server.http_base}/connection/sse?{query}", headers=headers or {}, timeout=10)
        return response.status_code, response.json()["error"]["message"] if response.status_code != 200 else ""

    assert sse_status("channel=news") == (401, "a connection token is required (token parameter or Authorization: Bearer)")
    assert sse_status(f"channel=news&token={token('alice', ttl=-5)}") == (401, "token expired")
    assert sse_status(f"channel=news&token={jwt.encode({'sub': 'a'}, 'another-secret-of-enough-length!', 'HS256')}") == (401, "invalid token")
    assert sse_status(f"channel=dm:inbox%23alice&token={token('bob')}")[0] == 403
    # A token's `channels` grant what the namespace does not (Centrifugo's server-side subscriptions).
    assert sse_status(f"channel=dm:closed&token={token('carol')}")[0] == 403

    alice = streams(server, f"channel=dm:inbox%23alice&token={token('alice')}")
    granted = streams(server, "channel=dm:closed", headers={"Authorization": f"Bearer {token('carol', channels=['dm:closed'])}"})
    with ws_connect(f"ws://127.0.0.1:{server.port}/ws/dm:inbox%23alice?token={token('alice')}") as raw:
        time.sleep(0.2)
        publish(server, "dm:inbox#alice", {"to": "alice"})
        publish(server, "dm:closed", "granted")
        assert raw.recv(timeout=10) == '{"to": "alice"}'
    assert alice.next()[2] == '{"to": "alice"}'
    assert granted.next()[2] == '"granted"'
    with pytest.raises(websockets.InvalidStatus) as refused:
        with ws_connect(f"ws://127.0.0.1:{server.port}/ws/dm:inbox%23alice?token={token('bob')}"):
            pass
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus) as refused:
        with ws_connect(f"ws://127.0.0.1:{server.port}/ws/news"):
            pass
    assert refused.value.response.status_code == 401


def test_a_slow_sse_reader_is_closed_at_its_bound_and_others_go_on(start_herald, tmp_path, streams):
    server = start_herald(history_config(tmp_path, namespace("hist"), client={"queue_max_size": 65536}))
    stalled = socket.create_connection(("127.0.0.1", server.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /connection/sse?channel=hist:flood HTTP/1.1\r\nHost: x\r\n\r\n")
    reader = streams(server, "channel=hist:flood")
    reader.last_id()
    payload = "x" * 16000
    for n in range(600):  # 9.6 MB: past the kernel's socket buffers and then the stalled reader's 64 KiB
        publish(server, "hist:flood", {"n": n, "pad": payload})
    for n in range(600):
        assert json.loads(reader.next()[2])["n"] == n
    _, metrics = server.request("GET", "/metrics")
    refused = {sample.labels["kind"]: sample.value for family in text_string_to_metric_families(metrics.decode())
               for sample in family.samples if sample.name == "herald_refused_total"}
    assert refused.get("slow_client") == 1
    stalled.close()


def test_shutdown_ends_data_streams(start_herald, tmp_path, streams):
    server = history_server(start_herald, tmp_path)
    stream = streams(server, "channel=hist:end")
    stream.last_id()
    with ws_connect(f"ws://127.0.0.1:{server.port}/ws/hist:end") as raw:
        server.process.send_signal(signal.SIGTERM)
        assert stream.ended(), "the event stream did not end at shutdown"
        with pytest.raises(websockets.ConnectionClosed) as ended:
            raw.recv(timeout=10)
    assert ended.value.rcvd.code == 1001
    assert server.process.wait(10) == 0


# MARK: Raw WebSocket per channel


def test_raw_websocket_sends_each_publication_as_published_after_catching_up(start_herald, tmp_path):
    server = history_server(start_herald, tmp_path)
    for n in range(1, 4):
        publish(server, "hist:raw", {"n": n})
    with ws_connect(f"ws://127.0.0.1:{server.port}/ws/hist:raw?since=1") as raw:
        assert [raw.recv(timeout=10) for _ in range(2)] == ['{"n": 2}', '{"n": 3}']
        # The data as published, byte for byte: odd spacing, a raw UTF-8 character, an escape.
        body = '{"channel":"hist:raw","data":{"n":4,  "s":"é\\u00e9"}}'
        status, _ = server.request("POST", "/api/publish", body.encode(), {"X-API-Key": "test-api-key"})
        assert status == 200
        assert raw.recv(timeout=10) == '{"n":4,  "s":"é\\u00e9"}'


def test_raw_websocket_is_read_only_and_says_why(start_herald):
    server = start_herald(base_config())
    with ws_connect(f"ws://127.0.0.1:{server.port}/ws/news") as raw:
        raw.send("hello")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            raw.recv(timeout=10)
    assert closed.value.rcvd.code == 1003
    assert "read-only" in closed.value.rcvd.reason


def test_raw_websocket_closes_with_4112_when_history_cannot_cover(start_herald, tmp_path):
    server = history_server(start_herald, tmp_path, history_size=2)
    for n in range(5):
        publish(server, "hist:gone", n)
    with ws_connect(f"ws://127.0.0.1:{server.port}/ws/hist:gone?since=1") as raw:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            raw.recv(timeout=10)
    assert closed.value.rcvd.code == 4112
    with ws_connect(f"ws://127.0.0.1:{server.port}/ws/hist:gone?since=99") as raw:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            raw.recv(timeout=10)
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "since: hist:gone has no offset 99 yet")


@pytest.mark.parametrize("path, status", [("/ws/nowhere:x", 404), ("/ws/", 400), ("/ws/hist:x?since=x", 400)])
def test_raw_websocket_refuses_a_bad_upgrade_with_its_status(start_herald, tmp_path, path, status):
    server = history_server(start_herald, tmp_path)
    with pytest.raises(websockets.InvalidStatus) as refused:
        with ws_connect(f"ws://127.0.0.1:{server.port}{path}"):
            pass
    assert refused.value.response.status_code == status


def test_every_kind_of_subscriber_gets_every_publication_once_in_order(start_herald, tmp_path, streams):
    """SDK-less clients beside each other under a burst: 40 raw WebSockets and 10 SSE streams on one channel,
    500 publications from 4 publishers at once; each client gets all 500 once, in the channel's order."""
    server = history_server(start_herald, tmp_path)
    sse = [streams(server, "channel=hist:burst") for _ in range(10)]
    for stream in sse:
        stream.last_id()

    async def run():
        raws = [await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/hist:burst", max_queue=None) for _ in range(40)]
        await asyncio.sleep(0.3)

        def publisher(first):
            for n in range(first, 500, 4):
                publish(server, "hist:burst", n)
        await asyncio.gather(*(asyncio.to_thread(publisher, first) for first in range(4)))
        async def take(raw):
            return [await raw.recv() for _ in range(500)]
        received = await asyncio.gather(*(take(raw) for raw in raws))
        for raw in raws:
            await raw.close()
        return received

    received = asyncio.run(run())
    status, history = server.api("history", {"channel": "hist:burst", "limit": 500})
    order = [publication["data"] for publication in history["result"]["publications"]]
    assert sorted(order) == list(range(500))
    for frames in received:
        assert [int(frame) for frame in frames] == order
    for stream in sse:
        assert [int(stream.next()[2]) for _ in range(500)] == order
