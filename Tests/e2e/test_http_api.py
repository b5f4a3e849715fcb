"""The HTTP server API: every method and every refusal, with plain HTTP."""
import asyncio
import json

from conftest import API_KEY, base_config
from wsclient import RawClient, connected


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
    assert herald.api("history", {"channel": "a"})[1]["error"]["code"] == 108


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
    assert server.request("POST", "/api/publish", body, {"Authorization": f"apikey {API_KEY}"})[0] == 200
    assert server.request("POST", "/nope", body, {"X-API-Key": API_KEY})[0] == 404
    assert server.request("POST", "/api/nope", body, {"X-API-Key": API_KEY})[0] == 404
    assert server.request("POST", "/api/publish", "x" * 5000, {"X-API-Key": API_KEY})[0] == 413
    assert server.request("GET", "/health") == (200, b"{}")
    assert server.api("publish", {"channel": "a", "data": 1}) == (200, {"result": {}}), "still serving"


def test_keep_alive_connection_serves_many_requests(herald):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", herald.port, timeout=5)
    for n in range(200):
        conn.request("POST", "/api/publish", json.dumps({"channel": "a", "data": n}), {"X-API-Key": API_KEY})
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b'{"result":{}}')
    conn.close()
