"""The admin console's HTTP side: off by default, its files, the login at /admin/auth, its token on the server
API, and the admin connection that may subscribe to any channel. The page itself, in a real browser, is in
test_admin_browser.py."""
import asyncio
import http.client
import json
import subprocess
import time

import jwt
import pytest

from conftest import E2E_HERALD_BIN, base_config
from wsclient import RawClient

PASSWORD = "correct horse battery staple"
SECRET = "admin-secret-of-the-admin-tests-0123456789"
CLIENT_SECRET = "hmac-secret-of-client-tokens-0123456789"
# A namespace that lets nobody subscribe, publish or see presence.
LOCKED = {"name": "locked"}


def admin_config(**admin):
    config = base_config(client={"token": {"hmac_secret_key": CLIENT_SECRET}})
    config["admin"] = {"enabled": True, "password": PASSWORD, "secret": SECRET, **admin}
    config["channel"]["namespaces"] = [LOCKED]
    return config


def log_in(server, body):
    status, answer = server.request("POST", "/admin/auth", json.dumps(body))
    return status, json.loads(answer)


def admin_token(server):
    status, answer = log_in(server, {"password": PASSWORD})
    assert status == 200, answer
    return answer["token"]


def api(server, method, token, params=None):
    status, body = server.request("POST", f"/api/{method}", json.dumps(params or {}),
                                  {"Authorization": f"token {token}"})
    return status, json.loads(body)


def refusals(server):
    status, body = server.api("info", {})
    assert status == 200, body
    return body["result"]["nodes"][0]["refused"]


def forged(secret=SECRET, **claims):
    now = int(time.time())
    return jwt.encode({"admin": True, "iat": now, "exp": now + 60, **claims}, secret, algorithm="HS256")


def get(server, path):
    """(status, headers by lower-case name, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_console_is_off_by_default(start_herald):
    server = start_herald(base_config())
    for method, path in [("GET", "/admin"), ("GET", "/admin/"), ("GET", "/admin/admin.js"),
                         ("POST", "/admin/auth")]:
        status, body = server.request(method, path, json.dumps({"password": ""}))
        assert status == 404, (path, body)
    # Nor does any token open the API as an admin's.
    status, _ = api(server, "info", forged())
    assert status == 401


def test_console_files(start_herald):
    server = start_herald(admin_config())
    for path, content_type, marker in [("/admin", "text/html", b"<!doctype html>"),
                                       ("/admin/", "text/html", b"<!doctype html>"),
                                       ("/admin/admin.js", "text/javascript", b"/admin/auth"),
                                       ("/admin/admin.css", "text/css", b"#chart")]:
        status, headers, body = get(server, path)
        assert status == 200, path
        assert headers["content-type"].startswith(content_type), (path, headers)
        assert headers["cache-control"] == "no-store", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert marker in body, path
    assert get(server, "/admin/secret.txt")[0] == 404
    assert server.request("POST", "/admin")[0] == 405
    assert server.request("GET", "/admin/auth")[0] == 405


def test_login(start_herald):
    server = start_herald(admin_config())
    assert log_in(server, {"password": "guess"}) == (401, {"error": {"code": 401, "message": "wrong password"}})
    assert log_in(server, {"password": PASSWORD + " "})[0] == 401
    assert refusals(server).get("admin_password") == 2
    # Without a password the page only asks whether it needs one: 401, not counted as a guess.
    assert log_in(server, {})[0] == 401
    assert server.request("POST", "/admin/auth", b"not json")[0] == 401
    assert refusals(server).get("admin_password") == 2

    token = admin_token(server)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["admin"] is True
    assert abs(claims["exp"] - time.time() - 24 * 3600) < 60
    assert token not in server.log_text() and PASSWORD not in server.log_text()


def test_password_guessing_is_slowed_node_wide(start_herald):
    """Ten attempts at once, then one every 6 s, whoever makes them: 429 without looking at the password."""
    server = start_herald(admin_config())
    answers = [log_in(server, {"password": f"guess-{n}"})[0] for n in range(12)]
    assert answers == [401] * 10 + [429] * 2
    assert log_in(server, {"password": PASSWORD})[0] == 429, "the right password waits its turn too"
    assert refusals(server).get("admin_login_rate") == 3
    assert refusals(server).get("admin_password") == 10


def test_admin_token_opens_the_api(start_herald):
    server = start_herald(admin_config())
    token = admin_token(server)
    status, body = api(server, "info", token)
    assert status == 200 and body["result"]["nodes"][0]["num_clients"] == 0, body
    assert api(server, "publish", token, {"channel": "locked:news", "data": {"n": 1}}) == (200, {"result": {}})
    for refused in [forged("another-secret-of-thirty-two-bytes-or-more"),                     # not signed with admin.secret
                    forged(CLIENT_SECRET),                        # a client token secret
                    forged(admin=False),                          # no admin claim
                    forged(exp=int(time.time()) - 60),            # expired
                    token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]]:  # tampered
        status, body = api(server, "info", refused)
        assert status == 401, (refused, body)


def test_admin_connection_subscribes_where_nobody_may(start_herald):
    server = start_herald(admin_config())
    token = admin_token(server)

    async def scenario():
        admin = await RawClient.open(server.ws_url)
        user = await RawClient.open(server.ws_url)
        try:
            reply = await admin.call("connect", {"token": token})
            assert "connect" in reply and reply["connect"]["ttl"] > 23 * 3600, reply
            await admin.subscribe("locked:room")
            # Read-only: publishing goes through the API.
            reply = await admin.call("publish", {"channel": "locked:room", "data": 1})
            assert reply["error"]["code"] == 103, reply

            # A client token claiming admin: true is still an ordinary user's.
            claims = {"sub": "mallory", "admin": True, "exp": int(time.time()) + 60}
            await user.call("connect", {"token": jwt.encode(claims, CLIENT_SECRET, algorithm="HS256")})
            reply = await user.call("subscribe", {"channel": "locked:room"})
            assert reply["error"]["code"] == 103, reply

            assert api(server, "publish", token, {"channel": "locked:room", "data": {"text": "hi"}})[0] == 200
            assert await admin.push() == {"channel": "locked:room", "pub": {"data": {"text": "hi"}}}
        finally:
            await admin.close()
            await user.close()

    asyncio.run(scenario())


def test_insecure_console_needs_no_password(start_herald):
    server = start_herald(admin_config(password="", secret="", insecure=True))
    status, answer = log_in(server, {})
    assert status == 200, answer
    assert api(server, "info", answer["token"])[0] == 200
    assert "admin.insecure" in server.log_text()


@pytest.mark.parametrize("admin, key", [({"secret": SECRET}, "admin.password"),
                                        ({"password": PASSWORD}, "admin.secret")])
def test_enabled_without_credentials_does_not_start(tmp_path, admin, key):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"admin": {"enabled": True, **admin}}))
    checked = subprocess.run([E2E_HERALD_BIN, "checkconfig", "--config", str(path)], capture_output=True, text=True)
    assert checked.returncode != 0
    assert key in checked.stderr + checked.stdout
