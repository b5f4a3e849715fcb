"""A minimal raw Centrifuge-protocol client over the `websockets` package, for tests that need to see the
exact frames: replies may share a frame (newline-separated), so frames are split into lines."""
import asyncio
import json

import websockets


class RawClient:
    def __init__(self, ws):
        self.ws = ws
        self.lines = []
        self.next_id = 1

    @classmethod
    async def open(cls, url, **kwargs):
        # The protocol has its own pings; websockets' keepalive would misread a busy test client as dead.
        return cls(await websockets.connect(url, max_size=None, ping_interval=None, **kwargs))

    async def send(self, *commands):
        """Sends the commands (dicts get ids when they lack one) in one frame; returns their ids."""
        ids, texts = [], []
        for command in commands:
            if isinstance(command, dict):
                if "id" not in command and command:
                    command = {"id": self.next_id, **command}
                    self.next_id += 1
                ids.append(command.get("id"))
                texts.append(json.dumps(command))
            else:
                texts.append(command)
        await self.ws.send("\n".join(texts))
        return ids

    async def recv(self, timeout=5):
        """The next reply or push, as a dict."""
        while not self.lines:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
            self.lines.extend(line for line in frame.split("\n") if line)
        return json.loads(self.lines.pop(0))

    async def reply(self, command_id, timeout=5):
        """Waits for the reply with this id, answering pings and skipping pushes on the way."""
        while True:
            message = await self.recv(timeout)
            if message == {}:
                await self.ws.send("{}")
            elif message.get("id") == command_id:
                return message

    async def push(self, timeout=5):
        """Waits for the next push, answering pings on the way."""
        while True:
            message = await self.recv(timeout)
            if message == {}:
                await self.ws.send("{}")
            elif "push" in message:
                return message["push"]

    async def connect(self):
        [command_id] = await self.send({"connect": {}})
        reply = await self.reply(command_id)
        assert "connect" in reply, reply
        return reply["connect"]

    async def call(self, method, params):
        [command_id] = await self.send({method: params})
        return await self.reply(command_id)

    async def subscribe(self, channel, **params):
        reply = await self.call("subscribe", {"channel": channel, **params})
        assert reply.get("subscribe") == {}, reply
        return reply

    async def closed(self, timeout=5):
        """Waits for the server to close; returns (code, reason). Lines received meanwhile stay in `lines`."""
        try:
            while True:
                frame = await asyncio.wait_for(self.ws.recv(), timeout)
                assert isinstance(frame, str), f"the server sent a binary frame: {frame!r}"
                self.lines.extend(line for line in frame.split("\n") if line)
        except websockets.ConnectionClosed as closed:
            frame = closed.rcvd
            return (frame.code, frame.reason) if frame else (None, None)

    async def close(self):
        await self.ws.close()


async def connected(url):
    client = await RawClient.open(url)
    await client.connect()
    return client


async def assert_still_serving(server, channel="still-alive"):
    """A well-behaved client can still subscribe and receive a publication."""
    client = await connected(server.ws_url)
    try:
        await client.subscribe(channel)
        status, body = server.api("publish", {"channel": channel, "data": {"alive": True}})
        assert (status, body) == (200, {"result": {}})
        push = await client.push()
        assert push == {"channel": channel, "pub": {"data": {"alive": True}}}
    finally:
        await client.close()
