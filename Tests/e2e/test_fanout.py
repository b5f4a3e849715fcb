"""Fan-out at scale: 1,000 subscribers, 1,000 publications through the API, every one delivered in order."""
import asyncio
import http.client
import json
import time

from conftest import API_KEY, ARTIFACTS
from wsclient import RawClient

SUBSCRIBERS = 1000
MESSAGES = 1000


async def subscriber(url, ready, received):
    client = await RawClient.open(url)
    await client.connect()
    await client.subscribe("fanout")
    ready.release()
    sequence = []
    while len(sequence) < MESSAGES:
        push = await client.push(timeout=60)
        sequence.append(push["pub"]["data"]["seq"])
    received.append(sequence)
    await client.close()


def publish_all(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for seq in range(MESSAGES):
        body = json.dumps({"channel": "fanout", "data": {"seq": seq, "pad": "x" * 32}})
        conn.request("POST", "/api/publish", body, {"X-API-Key": API_KEY})
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b'{"result":{}}')
    conn.close()


def test_every_subscriber_gets_every_message_in_order(herald):
    async def scenario():
        ready, received = asyncio.Semaphore(0), []
        tasks = [asyncio.create_task(subscriber(herald.ws_url, ready, received)) for _ in range(SUBSCRIBERS)]
        for _ in range(SUBSCRIBERS):
            await asyncio.wait_for(ready.acquire(), 30)
        started = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, publish_all, herald.port)
        published = time.monotonic() - started
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        return published, time.monotonic() - started, received

    published, delivered, received = asyncio.run(scenario())
    assert len(received) == SUBSCRIBERS
    assert all(sequence == list(range(MESSAGES)) for sequence in received), "a subscriber missed or reordered"
    summary = (f"fan-out: {SUBSCRIBERS} subscribers x {MESSAGES} publications = {SUBSCRIBERS * MESSAGES} "
               f"deliveries, all in order; publishing took {published:.2f}s, last delivery after "
               f"{delivered:.2f}s (the Python clients are the bottleneck)")
    print(summary)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fanout.txt").write_text(summary + "\n")
