"""Herald's own HTTP/1.1 server: pipelining, its bounds, and routing a connection by its first request."""
import asyncio
import json
import socket
import time

from conftest import API_KEY
from test_http_api import request_bytes
from wsclient import RawClient, assert_still_serving


class ResponseReader:
    """Reads whole responses (JSON bodies with Content-Length) off one socket, keeping any partial one."""

    def __init__(self, sock):
        self.sock, self.data = sock, b""

    def read(self, count, timeout=10):
        self.sock.settimeout(timeout)
        responses = []
        while len(responses) < count:
            head_end = self.data.find(b"\r\n\r\n")
            if head_end >= 0:
                head = self.data[:head_end].decode()
                length = int(head.lower().split("content-length: ")[1].split("\r\n")[0])
                end = head_end + 4 + length
                if len(self.data) >= end:
                    status = int(head.split(" ", 2)[1])
                    responses.append((status, head, json.loads(self.data[head_end + 4:end])))
                    self.data = self.data[end:]
                    continue
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.data += chunk
        return responses


def read_responses(sock, count, timeout=10):
    return ResponseReader(sock).read(count, timeout)


def test_a_thousand_pipelined_publications_are_answered_in_order_and_delivered(herald):
    async def scenario():
        subscriber = await RawClient.open(herald.ws_url)
        await subscriber.connect()
        await subscriber.subscribe("news")
        requests = b"".join(request_bytes(json.dumps({"channel": "news", "data": {"n": n}}).encode())
                            for n in range(1000))
        with socket.create_connection(("127.0.0.1", herald.port)) as publisher:
            publisher.sendall(requests)  # all at once, before reading any answer
            responses = read_responses(publisher, 1000)
        assert [(status, body) for status, _, body in responses] == [(200, {"result": {}})] * 1000
        received = [(await subscriber.push())["pub"]["data"]["n"] for _ in range(1000)]
        assert received == list(range(1000))
        await subscriber.close()

    asyncio.run(scenario())


def test_a_pipelining_client_that_does_not_read_is_held_back_not_buffered_without_bound(herald):
    """Responses pile up to the output bound, then Herald stops reading; once the client reads, it goes on."""
    body = b"{}"
    request = (f"POST /api/info HTTP/1.1\r\nX-API-Key: {API_KEY}\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    count = 100000  # ~250 bytes of answer each: 25 MB, past the 256 KiB bound and every kernel buffer
    with socket.create_connection(("127.0.0.1", herald.port)) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        client.settimeout(1)
        sent = 0
        payload = request * count
        try:
            while sent < len(payload):  # the send side blocks once Herald stops reading
                sent += client.send(payload[sent:sent + 65536])
        except TimeoutError:
            pass
        assert sent < len(payload), "Herald read everything without anyone reading its answers"
        asyncio.run(assert_still_serving(herald))  # the loop is not stuck behind this client
        reader = ResponseReader(client)
        received = 0
        while sent < len(payload):  # reading lets it go on
            received += len(reader.read(100))
            client.settimeout(0.01)
            try:
                sent += client.send(payload[sent:sent + 65536])
            except TimeoutError:
                pass
        received += len(reader.read(count - received, timeout=30))
        assert received == count


def test_http10_without_keep_alive_is_answered_and_closed(herald):
    with socket.create_connection(("127.0.0.1", herald.port), timeout=3) as sock:
        sock.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"connection: close\r\n" in data and data.endswith(b"{}")


def status_of_one(port, request):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        responses = read_responses(sock, 1)
        closed = sock.recv(1) == b""
    return responses[0][0], responses[0][2], closed


def test_bad_requests_get_a_status_and_the_connection_closes(herald):
    assert status_of_one(herald.port, b"NONSENSE\r\n\r\n")[::2] == (400, True)
    assert status_of_one(herald.port, b"GET /health HTTP/2.0\r\n\r\n")[::2] == (505, True)
    assert status_of_one(herald.port, b"POST /api/info HTTP/1.1\r\nContent-Length: x\r\n\r\n")[::2] == (400, True)
    big_head = b"GET /health HTTP/1.1\r\nX-Filler: " + b"a" * 9000 + b"\r\n\r\n"
    assert status_of_one(herald.port, big_head)[::2] == (431, True)
    asyncio.run(assert_still_serving(herald))


def test_a_head_that_arrives_byte_by_byte_is_served_for_http_and_websocket(herald):
    with socket.create_connection(("127.0.0.1", herald.port), timeout=5) as sock:
        for byte in b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n":
            sock.send(bytes([byte]))
            time.sleep(0.002)
        assert read_responses(sock, 1)[0][:1] == (200,)
    upgrade = (b"GET /connection/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    with socket.create_connection(("127.0.0.1", herald.port), timeout=5) as sock:
        for start in range(0, len(upgrade), 7):
            sock.send(upgrade[start:start + 7])
            time.sleep(0.005)
        assert sock.recv(4096).startswith(b"HTTP/1.1 101")


def test_an_upgrade_after_a_plain_request_on_the_same_connection_is_refused(herald):
    with socket.create_connection(("127.0.0.1", herald.port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n\r\n")
        assert read_responses(sock, 1)[0][0] == 200
        sock.sendall(b"GET /connection/websocket HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        status, _, body = read_responses(sock, 1)[0]
        assert status == 400 and "first request" in body["error"]["message"]
        assert sock.recv(1) == b""


def test_an_unfinished_first_request_is_dropped_after_ten_seconds(herald):
    with socket.create_connection(("127.0.0.1", herald.port), timeout=15) as sock:
        sock.sendall(b"GET /connection/websocket HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        started = time.monotonic()
        try:
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass  # closed with the unfinished request unread: a reset, which the client sees as closed too
        assert 9 <= time.monotonic() - started <= 13
    asyncio.run(assert_still_serving(herald))


def test_a_refused_client_still_sending_its_body_gets_the_answer_and_a_clean_close(herald):
    """413 is decided from Content-Length before the body is read; the body keeps coming. Closing at once
    would reset the connection under the unread bytes; Herald shuts its side and reads on instead."""
    with socket.create_connection(("127.0.0.1", herald.port), timeout=5) as sock:
        sock.sendall(f"POST /api/publish HTTP/1.1\r\nX-API-Key: {API_KEY}\r\n"
                     f"Content-Length: {4 * 1024 * 1024}\r\n\r\n".encode())
        time.sleep(0.2)  # the 413 is on its way back
        sock.sendall(b"x" * (1024 * 1024))  # the body the client had already started to send
        time.sleep(0.2)
        status, _, body = read_responses(sock, 1)[0]
        assert (status, body["error"]["message"]) == (413, "request body too large")
        assert sock.recv(1) == b"", "the client sees a clean end of stream, not a reset"
