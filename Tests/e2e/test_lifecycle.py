"""Shutdown, connection limits and slow consumers: what a client sees at each bound."""
import asyncio
import http.client
import json
import socket
import time

import pytest
import websockets

from conftest import API_KEY, base_config
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


def test_slow_consumer_is_disconnected_and_others_get_everything(start_herald):
    server = start_herald(base_config(client={"allow_anonymous_connect_without_token": True,
                                              "queue_max_size": 65536}))
    messages, payload = 600, "x" * 8000

    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # small kernel buffer: the queue fills soon
    slow.connect(("127.0.0.1", server.port))
    slow.sendall(b"GET /connection/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert slow.recv(4096).startswith(b"HTTP/1.1 101")
    command = b'{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"firehose"}}'
    slow.sendall(bytes([0x81, 0x80 | len(command), 0, 0, 0, 0]) + command)
    time.sleep(0.3)  # let the subscribe land; from here on the slow client reads nothing

    async def scenario():
        fast = await connected(server.ws_url)
        await fast.subscribe("firehose")
        publisher = asyncio.get_running_loop().run_in_executor(None, publish, server.port, messages, payload)
        received = 0
        while received < messages:
            await fast.push(timeout=30)
            received += 1
        await publisher
        await fast.close()
        return received

    assert asyncio.run(scenario()) == messages
    closes = [payload for opcode, payload in read_frames(slow, time.monotonic() + 10) if opcode == 0x8]
    slow.close()
    assert closes and int.from_bytes(closes[0][:2], "big") == 3008 and closes[0][2:] == b"slow"


def publish(port, count, payload):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for n in range(count):
        conn.request("POST", "/api/publish", json.dumps({"channel": "firehose", "data": {"n": n, "p": payload}}),
                     {"X-API-Key": API_KEY})
        response = conn.getresponse()
        assert response.status == 200, response.read()
        response.read()
    conn.close()
