"""TLS (`http_server.tls`): libwebsockets terminates TLS for every connection on the port; WebSocket clients
(`websockets`, centrifuge-python) connect over wss, the API and health answer over https, and SIGHUP loads the
certificate files again for new connections while open ones stay. Certificates are made with the openssl CLI."""
import asyncio
import hashlib
import http.client
import json
import signal
import socket
import ssl
import subprocess
import time

import pytest
from centrifuge import Client

from conftest import API_KEY, E2E_HERALD_BIN, Herald, base_config, free_port
from websockets.sync.client import connect as ws_connect

from test_data_streams import EventStream
from test_sdk import Collector
from wsclient import RawClient


def make_certificate(directory, name, key_type="ec"):
    """A self-signed certificate for 127.0.0.1 and its key, as (cert path, key path, SHA-256 of the DER)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    algorithm = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key_type == "ec" else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", *algorithm, "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return cert, key, hashlib.sha256(der).hexdigest()


def trusting(*certs):
    context = ssl.create_default_context()
    for cert in certs:
        context.load_verify_locations(cafile=str(cert))
    return context


class TLSHerald(Herald):
    """A server whose port speaks TLS; its requests go over https, trusting `trust` (set before starting)."""
    trust: ssl.SSLContext = None

    @property
    def ws_url(self):
        return f"wss://127.0.0.1:{self.port}/connection/websocket"

    def connection(self):
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=self.trust)

    def served_fingerprint(self):
        """SHA-256 of the certificate a new connection is given."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


@pytest.fixture
def tls_files(tmp_path):
    """The files the server is configured with (`served.crt`, `served.key`), holding the first certificate."""
    first = make_certificate(tmp_path, "first")
    served = (tmp_path / "served.crt", tmp_path / "served.key")
    served[0].write_bytes(first[0].read_bytes())
    served[1].write_bytes(first[1].read_bytes())
    return {"dir": tmp_path, "first": first, "served": served}


def tls_config(files):
    return base_config(http_server={"tls": {"enabled": True, "cert_pem_file": str(files["served"][0]),
                                            "key_pem_file": str(files["served"][1])}})


@pytest.fixture
def tls_herald(start_herald, tls_files):
    TLSHerald.trust = trusting(tls_files["first"][0])
    return start_herald(tls_config(tls_files), server_class=TLSHerald)


def wait_for(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_wss_clients_get_publications_made_over_https(tls_herald):
    async def scenario():
        raw = await RawClient.open(tls_herald.ws_url, ssl=tls_herald.trust)
        await raw.connect()
        await raw.subscribe("news")
        events = Collector()
        sdk = Client(tls_herald.ws_url, ssl_context=tls_herald.trust)
        subscription = sdk.new_subscription("news", events)
        await sdk.connect()
        await subscription.subscribe()
        await subscription.ready(timeout=5)

        assert tls_herald.api("publish", {"channel": "news", "data": {"n": 1}}) == (200, {"result": {}})
        assert await raw.push() == {"channel": "news", "pub": {"data": {"n": 1}}}
        assert await events.next() == {"n": 1}
        await sdk.disconnect()
        await raw.close()

    asyncio.run(scenario())
    assert tls_herald.request("GET", "/health") == (200, b"{}")
    status, _ = tls_herald.api("info", {}, key="wrong")
    assert status == 401


def test_data_streams_over_tls(tls_herald):
    """SSE over https and the raw WebSocket over wss, through lws's TLS HTTP role."""
    stream = EventStream(tls_herald, "channel=news", base=f"https://127.0.0.1:{tls_herald.port}",
                         verify=tls_herald.trust)
    try:
        assert stream.status == 200
        with ws_connect(f"wss://127.0.0.1:{tls_herald.port}/ws/news", ssl=tls_herald.trust) as raw:
            time.sleep(0.2)
            for n in range(3):
                assert tls_herald.api("publish", {"channel": "news", "data": {"n": n}})[0] == 200
            assert [raw.recv(timeout=10) for _ in range(3)] == [json.dumps({"n": n}) for n in range(3)]
        assert [stream.next()[2] for _ in range(3)] == [json.dumps({"n": n}) for n in range(3)]
    finally:
        stream.close()
    refused = EventStream(tls_herald, "channel=nowhere:x", base=f"https://127.0.0.1:{tls_herald.port}",
                          verify=tls_herald.trust)
    assert (refused.status, refused.body["error"]["code"]) == (404, 404)
    assert tls_herald.request("GET", "/health") == (200, b"{}")


def test_plain_http_to_the_tls_port_is_closed(tls_herald):
    with socket.create_connection(("127.0.0.1", tls_herald.port), timeout=5) as plain:
        plain.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = plain.recv(4096)
        except ConnectionResetError:
            answer = b""
    assert not answer.startswith(b"HTTP/"), answer
    assert tls_herald.request("GET", "/health") == (200, b"{}")


def test_a_client_that_does_not_trust_the_certificate_fails_the_handshake(tls_herald):
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(("127.0.0.1", tls_herald.port), timeout=5) as raw:
            ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
    assert tls_herald.request("GET", "/health") == (200, b"{}")


def test_pipelined_requests_over_tls_get_one_answer_then_a_close(tls_herald):
    body = json.dumps({"channel": "news", "data": {}}).encode()
    one = (b"POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: " + API_KEY.encode()
           + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    with socket.create_connection(("127.0.0.1", tls_herald.port), timeout=5) as raw:
        with tls_herald.trust.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(one * 3)
            received = b""
            while chunk := tls.recv(65536):
                received += chunk
    assert received.count(b"HTTP/1.1 200 OK") == 1, received
    assert b"connection: close" in received and received.endswith(b'{"result":{}}')
    # The loop did not wedge on the unread requests.
    assert tls_herald.request("GET", "/health") == (200, b"{}")


def test_sighup_gives_new_connections_the_new_certificate_and_keeps_open_ones(tls_herald, tls_files):
    first_fingerprint = tls_files["first"][2]
    assert tls_herald.served_fingerprint() == first_fingerprint
    second = make_certificate(tls_files["dir"], "second")
    TLSHerald.trust = trusting(tls_files["first"][0], second[0])

    async def scenario():
        before = await RawClient.open(tls_herald.ws_url, ssl=tls_herald.trust)
        await before.connect()
        await before.subscribe("news")
        tls_files["served"][0].write_bytes(second[0].read_bytes())
        tls_files["served"][1].write_bytes(second[1].read_bytes())
        tls_herald.process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: tls_herald.served_fingerprint() == second[2]), tls_herald.log_text()
        # Every loop has reloaded: each of several new connections (dealt to the loops in turn) sees it.
        assert {tls_herald.served_fingerprint() for _ in range(4)} == {second[2]}

        assert tls_herald.api("publish", {"channel": "news", "data": {"after": "reload"}}) == (200, {"result": {}})
        assert await before.push() == {"channel": "news", "pub": {"data": {"after": "reload"}}}
        after = await RawClient.open(tls_herald.ws_url, ssl=trusting(second[0]))
        await after.connect()
        await after.close()
        await before.close()

    asyncio.run(scenario())
    assert "TLS certificate reloaded for new connections" in tls_herald.log_text()


@pytest.mark.parametrize("replacement, logged", [
    ("garbage", "http_server.tls.cert_pem_file: "),
    ("mismatched key", "key values mismatch"),
    ("rsa", "key type differs"),
])
def test_sighup_with_bad_files_keeps_the_old_certificate(tls_herald, tls_files, replacement, logged):
    cert, key = tls_files["served"]
    if replacement == "garbage":
        cert.write_text("not a certificate\n")
    elif replacement == "mismatched key":
        other = make_certificate(tls_files["dir"], "other")
        cert.write_bytes(other[0].read_bytes())  # the key stays the first certificate's
    else:
        rsa = make_certificate(tls_files["dir"], "rsa", key_type="rsa")
        cert.write_bytes(rsa[0].read_bytes())
        key.write_bytes(rsa[1].read_bytes())
    tls_herald.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: logged in tls_herald.log_text()), tls_herald.log_text()
    time.sleep(0.2)  # every loop has had its turn
    assert {tls_herald.served_fingerprint() for _ in range(4)} == {tls_files["first"][2]}
    assert tls_herald.request("GET", "/health") == (200, b"{}")
    assert "keeping the previous one" in tls_herald.log_text()


def test_a_key_that_does_not_match_the_certificate_stops_the_start(tls_files, tmp_path):
    other = make_certificate(tls_files["dir"], "other")
    tls_files["served"][1].write_bytes(other[1].read_bytes())
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tls_config(tls_files)))
    result = subprocess.run([E2E_HERALD_BIN, "serve", "--config", str(config), "--port", str(free_port()),
                             "--address", "127.0.0.1"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 1
    assert "http_server.tls.cert_pem_file and key_pem_file" in result.stdout + result.stderr


def test_sighup_without_tls_keeps_serving(herald):
    herald.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "nothing to reload" in herald.log_text())
    assert herald.request("GET", "/health") == (200, b"{}")
