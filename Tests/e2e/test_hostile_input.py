"""A storm of hostile input over real sockets while well-behaved SDK clients receive publications: random
bytes, truncated HTTP heads and WebSocket frames, garbled commands, invalid UTF-8, random API bodies. The
server must survive it without losing or reordering a single publication. The storm is drawn from a seeded
`random.Random`; HOSTILE_SEED=N replays one (the seed is printed, and shown when the test fails)."""
import asyncio
import contextlib
import json
import os
import random
import struct
import time

from conftest import API_KEY, base_config
from test_sdk import subscribed_client
from wsclient import RawClient

SUBSCRIBERS = 4
STORM_SECONDS = 8
ATTACKERS = 8
WATCHED = "watch:storm"
HANDSHAKE = (b"GET /connection/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
# Valid commands and API calls the garbler starts from. Only `junk` channels: hostile input must not be able to
# publish to, unsubscribe or disconnect the well-behaved clients by the rules (they are anonymous, user "").
COMMANDS = [
    {"connect": {"name": "x", "version": "1"}}, {"subscribe": {"channel": "junk", "recover": True, "offset": 3}},
    {"publish": {"channel": "junk", "data": {"a": [1, 2.5, None, "ü"], "b": {}}}}, {"ping": {}},
    {"history": {"channel": "junk", "limit": -1, "since": {"offset": 0, "epoch": ""}, "reverse": True}},
    {"presence": {"channel": "junk"}}, {"presence_stats": {"channel": "junk"}}, {"unsubscribe": {"channel": "junk"}},
    {"rpc": {"method": "m"}}, {"refresh": {}}, {"sub_refresh": {}}, {"send": {"data": 1}}, {},
]
API_CALLS = [
    ("publish", {"channel": "junk", "data": {"x": "y"}}), ("broadcast", {"channels": ["junk", "junk2"], "data": 1}),
    ("history", {"channel": "junk", "limit": 10, "since": {"offset": 1, "epoch": "e"}}), ("info", {}),
    ("history_remove", {"channel": "junk"}), ("presence", {"channel": "junk"}), ("channels", {"pattern": "j*"}),
    ("presence_stats", {"channel": "junk"}), ("teleport", {}),
]
TOKENS = [b"[", b"]", b"{", b"}", b'"', b"\\", b"\\u", b"\\ud800", b"-", b"1e999999", b"18446744073709551616",
          b"-9223372036854775809", b"null", b",", b":", b"\x00", "\u2028".encode(), "ü".encode(), b"\xff", b"\n"]


def garble(rng, text):
    """`text` (bytes) with a few random byte flips, cuts, repeats, inserted tokens or deep nesting."""
    data = bytearray(text)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(data))
        kind = rng.randrange(6)
        if kind == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif kind == 1:
            del data[at:at + rng.randint(1, 8)]
        elif kind == 2:
            data[at:at] = data[at:at + rng.randint(1, 16)] * rng.randint(2, 50)
        elif kind == 3:
            data[at:at] = rng.choice(TOKENS)
        elif kind == 4:
            depth = rng.choice([63, 64, 65, 1000, 30000])
            data[at:at] = b"[" * depth + b"0" + b"]" * rng.choice([0, depth])
        else:
            del data[at:]
    return bytes(data)


def ws_frame(opcode, payload, fin=True, rsv=0, masked=True, length=None):
    """A client frame; `length` overrides the payload length written in the header."""
    length = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([bit | length])
    elif length < 1 << 16:
        head += bytes([bit | 126]) + struct.pack(">H", length)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", length)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def ws_close_code(reader, timeout):
    """Reads server frames until a close frame (its code), the end of the stream or `timeout` (None)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                first, second = await reader.readexactly(2)
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack(">H", await reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", await reader.readexactly(8))[0]
                payload = await reader.readexactly(length)
                if first & 0x0F == 8:
                    return struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
    except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
        return None


class Storm:
    """The hostile connections; each attack opens its own and closes it. Outcomes are counted per kind."""

    def __init__(self, port, rng):
        self.port, self.rng = port, rng
        self.counts = {}
        self.ws_closes = set()

    async def open(self):
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def random_tcp(self):
        prefix = self.rng.choice([b"", b"GET ", b"POST /api/publish HTTP/1.1\r\n", HANDSHAKE])
        _, writer = await self.open()
        writer.write(prefix + self.rng.randbytes(self.rng.randint(1, 4096)))
        await self.drop(writer)

    async def truncated_http(self):
        body = json.dumps({"channel": "junk", "data": "x" * self.rng.randint(0, 300)}).encode()
        request = (b"POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: " + API_KEY.encode()
                   + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        _, writer = await self.open()
        writer.write(request[:self.rng.randrange(len(request))])
        await self.drop(writer)

    async def truncated_ws(self):
        reader, writer = await self.upgraded()
        if writer is None:
            return
        rng = self.rng
        payload = json.dumps({"id": 1, "connect": {}}).encode()
        frame = rng.choice([
            ws_frame(1, payload),
            ws_frame(1, payload, length=rng.choice([126, 70000, 1 << 40, 1 << 63])),  # longer than sent
            ws_frame(rng.choice([3, 7, 0xB, 0xF]), payload),  # reserved opcode
            ws_frame(1, payload, rsv=rng.randint(1, 7)),  # reserved bits
            ws_frame(1, payload, masked=False),  # clients must mask
            ws_frame(9, b"p" * 200),  # control frame over 125 bytes
            ws_frame(8, b"\x03"),  # close with a one-byte payload
            ws_frame(1, payload[:5], fin=False) + ws_frame(9, b"", fin=False),  # fragmented control frame
            ws_frame(0, payload),  # continuation of nothing
        ])
        writer.write(frame[:rng.randint(1, len(frame))] if rng.random() < 0.7 else frame)
        await writer.drain()
        await ws_close_code(reader, 0.2)
        await self.drop(writer)

    async def garbled_commands(self):
        client = await RawClient.open(f"ws://127.0.0.1:{self.port}/connection/websocket")
        try:
            lines = [] if self.rng.random() < 0.2 else [json.dumps({"id": 1, "connect": {}})]
            for number in range(self.rng.randint(1, 4)):
                command = dict(self.rng.choice(COMMANDS))
                if command and self.rng.random() < 0.8:
                    command = {"id": number + 2, **command}
                lines.append(garble(self.rng, json.dumps(command).encode()).decode("utf-8", "replace"))
            await client.ws.send("\n".join(lines))
            try:
                code, _ = await client.closed(timeout=0.3)
            except TimeoutError:
                return  # commands that still parse keep the connection
            if code is not None:
                self.ws_closes.add(code)
        finally:
            await client.close()

    async def invalid_utf8(self):
        reader, writer = await self.upgraded()
        if writer is None:
            return
        text = b'{"id":1,"publish":{"channel":"junk","data":"'
        bad = self.rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80"])
        writer.write(ws_frame(1, text + bad + b'"}}'))
        await writer.drain()
        code = await ws_close_code(reader, 2)
        await self.drop(writer)
        assert code == 1007, f"invalid UTF-8 {bad!r}: close code {code}"

    async def random_api_body(self):
        method, params = self.rng.choice(API_CALLS)
        body = (garble(self.rng, json.dumps(params).encode()) if self.rng.random() < 0.8
                else self.rng.randbytes(self.rng.randint(0, 2000)))
        reader, writer = await self.open()
        writer.write(b"POST /api/%s HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n" % (method.encode(), API_KEY.encode(), len(body)) + body)
        async with asyncio.timeout(5):
            answer = await reader.read()
        writer.close()
        head, _, payload = answer.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        assert status in (200, 400, 404), f"{method} {body!r}: {answer!r}"
        json.loads(payload)

    async def garbled_data_stream(self):
        """An SSE request or raw WebSocket upgrade with garbled parameters: a stream, or a clear HTTP status."""
        rng = self.rng
        query = garble(rng, rng.choice([b"channel=junk&since=1", b"channel=junk&channel=watch:a&since=1:ab,",
                                        b"channel=%23%zz&token=x.y.z", b"since=" + b"9" * 30])).replace(b" ", b"+")
        query = bytes(byte for byte in query if 0x21 <= byte < 0x7F)
        upgrade = rng.random() < 0.5
        target = (b"/ws/junk?" if upgrade else b"/connection/sse?") + query
        head = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
        if upgrade:
            head += (b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n")
        if rng.random() < 0.3:
            head += b"Last-Event-ID: " + garble(rng, b"3:abcdefgh,").replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
        reader, writer = await self.open()
        writer.write(head + b"\r\n")
        try:
            async with asyncio.timeout(5):
                answer = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            answer = b""
        await self.drop(writer)
        status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.") else None
        # A refusal is any 4xx (431 for a garbled head grown too long, 401 for a garbled token, and 403 from
        # libwebsockets itself for a malformed %-escape in an upgrade's query), never silence or a 5xx.
        assert status is not None and (status in (101, 200) or 400 <= status < 500), f"{head!r}: {answer!r}"

    async def upgraded(self):
        reader, writer = await self.open()
        writer.write(HANDSHAKE)
        try:
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return None, None
        assert head.startswith(b"HTTP/1.1 101"), head
        return reader, writer

    @staticmethod
    async def drop(writer):
        try:
            await writer.drain()
        except ConnectionError:
            pass  # the server may close first: that is an answer too
        writer.close()

    async def attacker(self, deadline):
        attacks = [self.random_tcp, self.truncated_http, self.truncated_ws, self.garbled_commands,
                   self.invalid_utf8, self.random_api_body, self.garbled_data_stream]
        while time.monotonic() < deadline:
            attack = self.rng.choice(attacks)
            await attack()
            self.counts[attack.__name__] = self.counts.get(attack.__name__, 0) + 1


def publish_all(server, deadline):
    """Publishes 0, 1, 2, ... to the watched channel until `deadline`; returns how many it published."""
    sequence = 0
    while time.monotonic() < deadline:
        assert server.api("publish", {"channel": WATCHED, "data": {"seq": sequence}}) == (200, {"result": {}})
        sequence += 1
        time.sleep(0.01)
    return sequence


def test_hostile_storm_loses_no_publication(start_herald):
    seed = int(os.environ.get("HOSTILE_SEED", time.time_ns() % 1_000_000))
    print(f"HOSTILE_SEED={seed}")
    server = start_herald(base_config(channel={
        # Hostile clients may publish, ask presence and history on `junk` channels, so garbled commands that
        # still parse go deep; the watched namespace only lets clients subscribe.
        "without_namespace": {**{f"allow_{what}_for_{who}": True for what in ("subscribe", "publish", "presence", "history")
                                 for who in ("client", "anonymous")},
                              "presence": True, "history_size": 10, "history_ttl": "60s"},
        "namespaces": [{"name": "watch", "allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True}],
    }))

    async def scenario():
        subscribers = [await subscribed_client(server, WATCHED) for _ in range(SUBSCRIBERS)]
        storm = Storm(server.port, random.Random(seed))
        deadline = time.monotonic() + STORM_SECONDS
        attackers = [asyncio.create_task(storm.attacker(deadline)) for _ in range(ATTACKERS)]
        published = await asyncio.to_thread(publish_all, server, deadline)
        await asyncio.gather(*attackers)
        print(f"published {published}, attacks {storm.counts}, close codes seen {sorted(storm.ws_closes)}")

        assert server.process.poll() is None, f"herald died (seed {seed})"
        for client, _, events in subscribers:
            received = []
            with contextlib.suppress(TimeoutError):
                while len(received) < published:
                    received.append((await events.next())["seq"])
            assert received == list(range(published)), f"{len(received)} of {published} in order (seed {seed})"
            assert events.queue.empty(), f"more publications than were published (seed {seed})"
            assert client.test_events.log == [("connecting", 0), ("connected", None)], client.test_events.log
            await client.disconnect()
        assert storm.ws_closes <= {3501, 1007, 1009, 3500}, f"seed {seed}"
        late, _, late_events = await subscribed_client(server, WATCHED)
        assert server.api("publish", {"channel": WATCHED, "data": {"seq": published}}) == (200, {"result": {}})
        assert (await late_events.next())["seq"] == published
        await late.disconnect()
        assert server.request("GET", "/health")[0] == 200

    asyncio.run(scenario())
