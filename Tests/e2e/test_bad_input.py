"""Bad input over real sockets: each gets its documented answer, and the server keeps serving others."""
import asyncio
import socket

import pytest

from conftest import base_config
from wsclient import RawClient, assert_still_serving, connected

CONNECT = '{"id":1,"connect":{}}'


async def close_code_after(server, *frames):
    client = await RawClient.open(server.ws_url)
    for frame in frames:
        await client.ws.send(frame)
    return await client.closed()


@pytest.mark.parametrize("frames", [
    pytest.param([CONNECT, "{nope"], id="malformed-json"),
    pytest.param([CONNECT, "[1,2]"], id="not-an-object"),
    pytest.param(['{"id":1,"subscribe":{"channel":"a"}}'], id="command-before-connect"),
    pytest.param([CONNECT, '{"id":2,"connect":{}}'], id="second-connect"),
    pytest.param([CONNECT, '{"subscribe":{"channel":"a"}}'], id="id-missing"),
    pytest.param([CONNECT, '{"id":0,"subscribe":{"channel":"a"}}'], id="id-zero"),
    pytest.param([CONNECT, '{"id":-1,"subscribe":{"channel":"a"}}'], id="id-negative"),
    pytest.param([CONNECT, '{"id":"2","subscribe":{"channel":"a"}}'], id="id-not-a-number"),
    pytest.param([CONNECT, '{"id":2,"subscribe":{"channel":""}}'], id="empty-channel"),
    pytest.param([CONNECT, '{"id":2,"subscribe":"news"}'], id="params-not-an-object"),
    pytest.param([CONNECT + '\n{"id":2,"subscribe":{"channel":"a"}}\n{nope'], id="bad-line-in-a-batch"),
    pytest.param([CONNECT, '{"id":2,"subscribe":{}}'], id="missing-channel"),
    pytest.param([CONNECT, '{"id":2,"publish":{"channel":"a"}}'], id="publish-without-data"),
    pytest.param([CONNECT, '{"id":2,"subscribe":{"channel":7}}'], id="channel-not-a-string"),
    pytest.param([CONNECT, b"\x00\x01binary"], id="binary-frame"),
])
def test_protocol_violations_close_with_bad_request(herald, frames):
    async def scenario():
        assert await close_code_after(herald, *frames) == (3501, "bad request")
        await assert_still_serving(herald)

    asyncio.run(scenario())


def test_oversize_message_closes_with_1009(start_herald):
    server = start_herald(base_config(websocket={"message_size_limit": 1024}))

    async def scenario():
        code, _ = await close_code_after(server, CONNECT, '{"id":2,"subscribe":{"channel":"' + "a" * 2000 + '"}}')
        assert code == 1009
        fragmented = await RawClient.open(server.ws_url)  # the limit holds across fragments too
        await fragmented.ws.send(["x" * 600, "y" * 600])
        assert (await fragmented.closed())[0] == 1009
        await assert_still_serving(server)

    asyncio.run(scenario())


def test_invalid_utf8_closes_with_1007(herald):
    with socket.create_connection(("127.0.0.1", herald.port), timeout=5) as raw:
        raw.sendall(b"GET /connection/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    b"Sec-WebSocket-Version: 13\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 101")
        raw.sendall(bytes([0x81, 0x82, 0, 0, 0, 0, 0xFF, 0xFE]))  # masked text frame, bytes FF FE
        close = raw.recv(4096)
        assert close[0] == 0x88 and int.from_bytes(close[2:4], "big") == 1007
    asyncio.run(assert_still_serving(herald))


def test_replies_before_a_violation_are_sent_before_the_close(herald):
    async def scenario():
        client = await RawClient.open(herald.ws_url)
        await client.ws.send(CONNECT + '\n{"id":2,"subscribe":{"channel":"a"}}\n{nope}\n{"id":3,"ping":{}}')
        assert "connect" in await client.recv()
        assert await client.recv() == {"id": 2, "subscribe": {}}
        assert await client.closed() == (3501, "bad request")
        assert client.lines == [], "a command after the violation was answered"
        await assert_still_serving(herald)

    asyncio.run(scenario())


def test_token_is_refused_when_no_key_is_configured(herald):
    async def scenario():
        assert await close_code_after(herald, '{"id":1,"connect":{"token":"x.y.z"}}') == (3500, "invalid token")
        await assert_still_serving(herald)

    asyncio.run(scenario())


def test_anonymous_connect_refused_by_secure_defaults(start_herald):
    server = start_herald({"http_api": {"key": "k"}, "client": {"insecure": False}})

    async def scenario():
        assert await close_code_after(server, CONNECT) == (3501, "bad request")

    asyncio.run(scenario())


def test_connection_without_connect_is_closed_as_stale(herald):
    async def scenario():
        client = await RawClient.open(herald.ws_url)
        started = asyncio.get_running_loop().time()
        assert await client.closed(timeout=15) == (3502, "stale")
        assert 9 <= asyncio.get_running_loop().time() - started <= 12
        await assert_still_serving(herald)

    asyncio.run(scenario())


def test_garbage_bytes_and_truncated_frames_do_not_hurt_others(herald):
    async def scenario():
        subscriber = await connected(herald.ws_url)
        await subscriber.subscribe("steady")
        hostile = [
            b"\x00" * 100, b"GET / HTTP/1.1\r\n\r\n", b"GET /connection/websocket HTTP/1.1\r\nUpgrade: websocket\r\n",
            b"POST /api/publish HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"chan", bytes(range(256)) * 4,
        ]
        for payload in hostile:
            with socket.create_connection(("127.0.0.1", herald.port), timeout=5) as raw:
                raw.sendall(payload)
        herald.api("publish", {"channel": "steady", "data": "ok"})
        assert await subscriber.push() == {"channel": "steady", "pub": {"data": "ok"}}
        await subscriber.close()
        await assert_still_serving(herald)

    asyncio.run(scenario())


@pytest.mark.parametrize("padding, answer", [(6000, b"HTTP/1.1 101 "), (9000, b"HTTP/1.1 431 ")])
def test_an_upgrade_with_long_headers_is_answered_not_dropped(herald, padding, answer):
    """Up to the 8 KiB head bound an upgrade is served (libwebsockets' own 4 KiB default once closed such a
    connection without a word); past it the answer is 431."""
    with socket.create_connection(("127.0.0.1", herald.port), timeout=5) as raw:
        raw.sendall(b"GET /connection/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    b"X-Padding: " + b"p" * padding + b"\r\n\r\n")
        assert raw.recv(64).startswith(answer)


@pytest.mark.parametrize("parameters, answer", [(40, b"HTTP/1.1 101 "), (120, b"HTTP/1.1 431 ")])
def test_an_upgrade_with_many_query_parameters_is_answered_not_dropped(herald, parameters, answer):
    """libwebsockets keeps at most 95 header fields and query parameters and drops an upgrade with more
    without a word; Herald answers one with more than 64 itself (431)."""
    query = "&".join(f"since={n}" for n in range(parameters))
    with socket.create_connection(("127.0.0.1", herald.port), timeout=5) as raw:
        raw.sendall(f"GET /ws/news?{query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        assert raw.recv(64).startswith(answer)
