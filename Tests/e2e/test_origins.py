"""Allowed origins (`client.allowed_origins`): a browser page from another site cannot open a WebSocket to
Herald; non-browser clients (no Origin header) and allowed pages can. Checked with the `websockets` client,
which sends the Origin it is given as a browser would."""
import asyncio

import pytest
import websockets

from conftest import base_config


async def status_of(server, origin):
    """101 when the upgrade succeeds (and the connection speaks the protocol), else the HTTP status."""
    try:
        async with websockets.connect(server.ws_url, origin=origin) as socket:
            await socket.send('{"id":1,"connect":{}}')
            assert '"connect"' in await socket.recv()
            return 101
    except websockets.exceptions.InvalidStatus as refused:
        assert b"origin not allowed" in refused.response.body
        return refused.response.status_code


@pytest.mark.parametrize("allowed, origin, expected", [
    ([], None, 101),                                   # not a browser page
    ([], "http://127.0.0.1:{port}", 101),              # the same origin
    ([], "https://evil.example", 403),
    (["https://*.example.com"], "https://app.example.com", 101),
    (["https://*.example.com"], "https://example.com.evil.net", 403),
    (["https://*.example.com"], "http://127.0.0.1:{port}", 403),  # a list replaces same-origin
    (["*"], "https://anywhere.example", 101),
])
def test_upgrades_are_refused_for_pages_of_other_origins(start_herald, allowed, origin, expected):
    server = start_herald(base_config(client={"allow_anonymous_connect_without_token": True,
                                              "allowed_origins": allowed}))
    origin = origin and origin.format(port=server.port)
    assert asyncio.run(status_of(server, origin)) == expected
    # A refused page does not disturb anyone: a client without Origin still connects.
    assert asyncio.run(status_of(server, None)) == 101


def test_development_mode_allows_any_page(start_herald):
    server = start_herald(None)
    assert asyncio.run(status_of(server, "https://anywhere.example")) == 101
