"""Shutdown, connection limits and slow consumers: what a client sees at each bound."""
import asyncio
import http.client
import json
import signal
import socket
import subprocess
import threading
import time

import pytest
import websockets

from conftest import API_KEY, E2E_HERALD_BIN, base_config, free_port
from wsclient import RawClient, assert_still_serving, connected


def test_sigterm_sends_shutdown_and_exits_zero(herald):
    async def scenario():
        clients = [await connected(herald.ws_url) for _ in range(5)]
        started = time.monotonic()
        herald.process.terminate()
        codes = [await client.closed() for client in clients]
        assert codes == [(3001, "shutdown")] * 5
        return time.monotonic() - started

    elapsed = asyncio.run(scenario())
    assert herald.process.wait(10) == 0
    assert elapsed < 5


def test_connection_limit_refuses_the_upgrade_with_503(start_herald):
    server = start_herald(base_config(client={"allow_anonymous_connect_without_token": True,
                                              "connection_limit": 2}))

    async def scenario():
        first, second = await connected(server.ws_url), await connected(server.ws_url)
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(server.ws_url)
        assert refused.value.response.status_code == 503
        await first.close()
        await asyncio.sleep(0.2)
        third = await connected(server.ws_url)  # a slot freed up
        await third.close()
        await second.close()

    asyncio.run(scenario())


def test_other_paths_and_subprotocols_are_refused(herald):
    async def scenario():
        with pytest.raises(websockets.InvalidStatus) as wrong_path:
            await websockets.connect(f"ws://127.0.0.1:{herald.port}/elsewhere")
        assert wrong_path.value.response.status_code == 404
        with_query = await connected(herald.ws_url + "?cf_protocol=json")  # a query string is not a path
        await with_query.close()
        with pytest.raises(websockets.InvalidStatus) as protobuf:
            await websockets.connect(herald.ws_url, subprotocols=["centrifuge-protobuf"])
        assert protobuf.value.response.status_code == 400
        await assert_still_serving(herald)

    asyncio.run(scenario())


def read_frames(sock, deadline):
    """Unmasked server frames from a raw socket until it closes: yields (opcode, payload)."""
    buffer = b""
    while time.monotonic() < deadline:
        while len(buffer) >= 2:
            length, offset = buffer[1] & 0x7F, 2
            if length == 126:
                length, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < offset + length:
                break
            yield buffer[0] & 0x0F, buffer[offset:offset + length]
            buffer = buffer[offset + length:]
        chunk = sock.recv(1 << 20)
        if not chunk:
            return
        buffer += chunk


def stalled_subscriber(port, channel):
    """A WebSocket client on a raw socket with a tiny receive buffer that subscribes and then reads nothing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # small kernel buffer: the queue fills soon
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /connection/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    command = ('{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"%s"}}' % channel).encode()
    sock.sendall(bytes([0x81, 0x80 | len(command), 0, 0, 0, 0]) + command)
    time.sleep(0.3)  # let the subscribe land; from here on nothing is read
    return sock


# Each bound holds 64 publications of 8 kB: a subscriber that reads keeps well inside it even when a loaded
# machine delays the server's writes for a moment, while one that stops reading passes it for good.
@pytest.mark.parametrize("bound", [
    pytest.param({"client": {"allow_anonymous_connect_without_token": True, "queue_max_size": 64 * 8100}},
                 id="client.queue_max_size"),
    pytest.param({"herald": {"queue_max_messages": 64}}, id="herald.queue_max_messages"),
])
def test_slow_consumer_is_disconnected_and_others_get_everything(start_herald, bound):
    server = start_herald(base_config(**bound))
    messages, payload_size = 1500, 8000  # 12 MB: several times what kernel buffers and the bound hold
    slow = stalled_subscriber(server.port, "firehose")
    halfway, slow_frames = threading.Event(), []

    def late_reader():
        """Reads nothing until half the publications are out (the server must have given up on this
        client by then), then everything the server sent it, up to the close."""
        halfway.wait(60)
        try:
            slow_frames.extend(read_frames(slow, time.monotonic() + 15))
        except OSError:
            pass

    reader = threading.Thread(target=late_reader, daemon=True)
    reader.start()

    async def scenario():
        fast = await connected(server.ws_url)
        await fast.subscribe("firehose")
        publisher = asyncio.get_running_loop().run_in_executor(
            None, publish, server.port, "firehose", messages, payload_size, 0.001, halfway)
        received = [(await fast.push(timeout=30))["pub"]["data"]["n"] for _ in range(messages)]
        await publisher
        await fast.close()
        return received

    assert asyncio.run(scenario()) == list(range(messages)), "the reading subscriber missed or reordered"
    reader.join(20)
    slow.close()
    lines = [json.loads(line) for opcode, payload in slow_frames if opcode == 0x1 for line in payload.split(b"\n")]
    seen = [line["push"]["pub"]["data"]["n"] for line in lines if "push" in line]
    closes = [payload for opcode, payload in slow_frames if opcode == 0x8]
    assert closes, f"no close frame after {len(seen)} publications"
    assert (int.from_bytes(closes[0][:2], "big"), closes[0][2:]) == (3008, b"slow")
    assert seen == list(range(len(seen))) and len(seen) < messages, "the slow reader got a gap or everything"
    asyncio.run(assert_still_serving(server))


def test_shutdown_is_bounded_with_a_stalled_client(start_herald):
    server = start_herald(base_config(client={"allow_anonymous_connect_without_token": True,
                                              "queue_max_size": 16 << 20},
                                      herald={"shutdown_timeout": "1s"}))
    stalled = stalled_subscriber(server.port, "firehose")
    publish(server.port, "firehose", 600, 8000, 0)  # about 5 MB: more than the kernel buffers hold

    async def scenario():
        polite = await connected(server.ws_url)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert await polite.closed() == (3001, "shutdown")
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1, "a stalled client held up the shutdown push to others"
    started = time.monotonic()
    status = server.process.wait(10)
    stalled.close()
    assert status == 0
    assert time.monotonic() - started < 3, "shutdown waited longer than herald.shutdown_timeout"


def publish(port, channel, count, payload_size, pause, halfway=None):
    """Publishes `count` publications {"n", "p"} on one keep-alive connection; sets `halfway` midway."""
    payload = "x" * payload_size
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for n in range(count):
        if halfway and n == count // 2:
            halfway.set()
        conn.request("POST", "/api/publish", json.dumps({"channel": channel, "data": {"n": n, "p": payload}}),
                     {"X-API-Key": API_KEY})
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b'{"result":{}}')
        time.sleep(pause)  # paced, so the reading client keeps up while the silent one falls behind
    conn.close()


def test_the_soft_open_files_limit_is_raised_to_the_hard_one(tmp_path):
    """One descriptor per connection: a container's soft limit of 1024 would cap Herald at that."""
    port = free_port()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(base_config()))
    process = subprocess.Popen(["prlimit", "--nofile=1024:4096", E2E_HERALD_BIN, "serve", "--port", str(port),
                                "--address", "127.0.0.1", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        limits = ""
        while time.monotonic() < deadline and "4096" not in limits.split("Max open files")[-1].split("\n")[0]:
            time.sleep(0.1)
            limits = open(f"/proc/{process.pid}/limits").read()
        line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
        assert line.split()[3:5] == ["4096", "4096"], line
    finally:
        process.terminate()
        process.wait(10)
