"""The HTTP server API: every method and every refusal, with plain HTTP."""
import asyncio
import http.client
import json
import signal
import socket
import time

import pytest

from conftest import API_KEY, base_config
from wsclient import RawClient, assert_still_serving, connected


def test_publish_and_broadcast(herald):
    async def scenario():
        one, two = await connected(herald.ws_url), await connected(herald.ws_url)
        await one.subscribe("a")
        await two.subscribe("b")
        status, body = herald.api("broadcast", {"channels": ["a", "b", "x:y"], "data": {"n": 1}})
        assert status == 200
        assert body == {"result": {"responses": [
            {"result": {}}, {"result": {}}, {"error": {"code": 102, "message": "unknown channel"}}]}}
        assert (await one.push())["pub"] == {"data": {"n": 1}}
        assert (await two.push())["pub"] == {"data": {"n": 1}}
        await one.close()
        await two.close()

    asyncio.run(scenario())


def test_operation_errors_are_200_with_an_error_body(herald):
    assert herald.api("publish", {"channel": "x:y", "data": 1}) == (
        200, {"error": {"code": 102, "message": "unknown channel"}})
    assert herald.api("publish", {"channel": "a"}) == (200, {"error": {"code": 107, "message": "bad request"}})
    assert herald.api("publish", {"channel": "a b", "data": 1})[1]["error"]["code"] == 107
    assert herald.api("presence", {"channel": "a"})[1]["error"]["code"] == 108
    assert herald.api("presence_stats", {"channel": "a"})[1]["error"]["code"] == 108
    assert herald.api("history", {"channel": "a"})[1]["error"]["code"] == 108
    assert herald.api("unsubscribe", {"channel": "x:y", "user": ""})[1]["error"]["code"] == 102
    assert herald.api("broadcast", {"data": 1})[1]["error"]["code"] == 107
    assert herald.api("disconnect", {})[1]["error"]["code"] == 107


def test_presence_channels_and_info(start_herald):
    server = start_herald(base_config(channel={"without_namespace": {
        "presence": True, "allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True}}))

    async def scenario():
        client = await RawClient.open(server.ws_url)
        client_id = (await client.connect())["client"]
        await client.subscribe("news")
        await client.subscribe("sport")
        assert server.api("presence", {"channel": "news"}) == (200, {"result": {"presence": {
            client_id: {"user": "", "client": client_id}}}})
        assert server.api("presence_stats", {"channel": "news"}) == (
            200, {"result": {"num_clients": 1, "num_users": 1}})
        assert server.api("channels", {}) == (200, {"result": {"channels": {
            "news": {"num_clients": 1}, "sport": {"num_clients": 1}}}})
        assert server.api("channels", {"pattern": "sp*"}) == (200, {"result": {"channels": {
            "sport": {"num_clients": 1}}}})
        status, info = server.api("info", {})
        node = info["result"]["nodes"][0]
        assert (node["num_clients"], node["num_channels"], node["num_subs"]) == (1, 2, 2)
        await client.close()

    asyncio.run(scenario())


def test_http_refusals(start_herald):
    server = start_herald(base_config(herald={"http_api_body_limit": 1000}))
    body = json.dumps({"channel": "a", "data": 1})
    assert server.request("POST", "/api/publish", "{oops", {"X-API-Key": API_KEY})[0] == 400
    assert server.request("POST", "/api/publish", "[1]", {"X-API-Key": API_KEY})[0] == 400
    assert server.request("POST", "/api/publish", body)[0] == 401
    assert server.request("POST", "/api/publish", body, {"X-API-Key": "wrong"})[0] == 401
    assert server.request("POST", "/api/publish", body, {"Authorization": "apikey wrong"})[0] == 401
    assert server.request("POST", "/api/publish", body, {"Authorization": f"apikey {API_KEY}"})[0] == 200
    assert server.request("POST", "/nope", body, {"X-API-Key": API_KEY})[0] == 404
    assert server.request("POST", "/api/nope", body, {"X-API-Key": API_KEY})[0] == 404
    assert server.request("POST", "/api/publish", "x" * 5000, {"X-API-Key": API_KEY})[0] == 413
    assert server.request("GET", "/health") == (200, b"{}")
    assert server.request("GET", "/ready") == (200, b'{"status":"ready","durable_log":"off"}')
    assert server.api("publish", {"channel": "a", "data": 1}) == (200, {"result": {}}), "still serving"


def test_unsubscribe_and_disconnect_target_one_client(herald):
    async def scenario():
        target, bystander = await RawClient.open(herald.ws_url), await RawClient.open(herald.ws_url)
        target_id = (await target.connect())["client"]
        await bystander.connect()
        for client in (target, bystander):
            await client.subscribe("news")
            await client.subscribe("other")
        assert herald.api("unsubscribe", {"channel": "news", "user": "", "client": target_id}) == (
            200, {"result": {}})
        assert await target.push() == {"channel": "news",
                                       "unsubscribe": {"code": 2000, "reason": "server unsubscribe"}}
        herald.api("publish", {"channel": "news", "data": "n"})
        herald.api("publish", {"channel": "other", "data": "o"})
        assert await target.push() == {"channel": "other", "pub": {"data": "o"}}, "news still delivered"
        assert await bystander.push() == {"channel": "news", "pub": {"data": "n"}}
        assert await bystander.push() == {"channel": "other", "pub": {"data": "o"}}
        assert herald.api("channels", {})[1]["result"]["channels"] == {
            "news": {"num_clients": 1}, "other": {"num_clients": 2}}

        assert herald.api("disconnect", {"user": "", "client": target_id}) == (200, {"result": {}})
        assert await target.closed() == (3503, "force disconnect")
        herald.api("publish", {"channel": "other", "data": "after"})
        assert await bystander.push() == {"channel": "other", "pub": {"data": "after"}}
        assert herald.api("info", {})[1]["result"]["nodes"][0]["num_clients"] == 1
        await bystander.close()

    asyncio.run(scenario())


def test_keep_alive_connection_serves_many_requests(herald):
    conn = http.client.HTTPConnection("127.0.0.1", herald.port, timeout=5)
    for n in range(200):
        conn.request("POST", "/api/publish", json.dumps({"channel": "a", "data": n}), {"X-API-Key": API_KEY})
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b'{"result":{}}')
    conn.close()


def request_bytes(body, key=API_KEY):
    head = f"POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_pipelined_requests_are_all_answered_and_do_not_wedge_the_server(herald):
    body = json.dumps({"channel": "news", "data": 1}).encode()
    try:
        with socket.create_connection(("127.0.0.1", herald.port), timeout=3) as pipelining:
            pipelining.sendall(request_bytes(body) * 3)  # three requests in one write
            received = b""
            try:
                while received.count(b"HTTP/1.1 200") < 3:
                    chunk = pipelining.recv(65536)
                    if not chunk:
                        break
                    received += chunk
            except TimeoutError:
                pass
            assert received.count(b"HTTP/1.1 200") == 3, received
            assert received.count(b'{"result":{}}') == 3, received
        for _ in range(4):  # connections are dealt to the event loops in turn: reach each loop
            conn = http.client.HTTPConnection("127.0.0.1", herald.port, timeout=3)
            conn.request("POST", "/api/info", "{}", {"X-API-Key": API_KEY})
            assert conn.getresponse().status == 200
            conn.close()
        for _ in range(4):
            asyncio.run(assert_still_serving(herald))
        assert herald.stop(timeout=5) == 0, "SIGTERM did not stop the server"
    finally:
        herald.stop(signal.SIGKILL)  # a wedged server ignores SIGTERM; do not leave it spinning


def raw_exchange(port, request, timeout=3):
    """Sends `request` bytes on a fresh connection; returns the status code, or None without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        try:
            head = sock.recv(65536)
        except TimeoutError:
            return None
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else head


def test_post_without_a_body_is_answered(herald):
    """What `curl -X POST -H 'X-API-Key: k' URL` sends: no body and no Content-Length."""
    request = (f"POST /api/info HTTP/1.1\r\nHost: 127.0.0.1:{herald.port}\r\nUser-Agent: curl/7.88.1\r\n"
               f"Accept: */*\r\nX-API-Key: {API_KEY}\r\n\r\n").encode()
    assert raw_exchange(herald.port, request) == 200


def test_chunked_request_body_is_refused_with_411(herald):
    """Chunked request bodies are not decoded: a clear 411, not a hang (README)."""
    conn = http.client.HTTPConnection("127.0.0.1", herald.port, timeout=3)
    conn.request("POST", "/api/publish", body=iter([b'{"channel":"news",', b'"data":"chunked"}']),
                 headers={"X-API-Key": API_KEY}, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 411
    assert json.loads(response.read())["error"]["message"] == "send the body with Content-Length"
    conn.close()
    asyncio.run(assert_still_serving(herald))
