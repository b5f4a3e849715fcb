"""Recovery under load: a publisher at thousands of publications per second on one channel, 100 SDK
subscribers (centrifuge-python, in four processes) that disconnect and reconnect with recovery at random
moments. Each must end up with offsets exactly 1..N: no gap, no repeat."""
import asyncio
import multiprocessing
import random
import socket
import tempfile
import time
from pathlib import Path

from conftest import API_KEY
from history_config import history_config, namespace

SUBSCRIBERS_PER_PROCESS = 25
PROCESSES = 4
RATE = 3000          # publications per second
SECONDS = 3.0


def subscriber_process(url, seed, ready, start, total, results):
    """25 subscribers in one process; reports, per subscriber, its offsets and how many resubscribes recovered."""
    from centrifuge import Client, SubscriptionEventHandler

    class Offsets(SubscriptionEventHandler):
        def __init__(self):
            self.offsets = []
            self.subscribes = 0
            self.recovered = 0
            self.reconnects = 0

        async def on_subscribed(self, ctx):
            self.subscribes += 1
            self.recovered += bool(ctx.recovered)

        async def on_publication(self, ctx):
            self.offsets.append(ctx.pub.offset)

    async def one(random_source):
        client = Client(url, max_reconnect_delay=0.5)
        offsets = Offsets()
        subscription = client.new_subscription("load:1", offsets)
        await client.connect()
        await subscription.subscribe()
        await subscription.ready(timeout=10)
        return client, offsets

    async def churn(client, offsets, random_source, until):
        while time.monotonic() < until:
            offsets.reconnects += 1
            await asyncio.sleep(random_source.uniform(0.05, 0.4))
            await client.disconnect()
            await asyncio.sleep(random_source.uniform(0.02, 0.2))
            await client.connect()

    async def main():
        random_source = random.Random(seed)
        pairs = [await one(random_source) for _ in range(SUBSCRIBERS_PER_PROCESS)]
        ready.release()
        while not start.is_set():
            await asyncio.sleep(0.01)
        until = time.monotonic() + SECONDS
        await asyncio.gather(*(churn(client, offsets, random.Random(random_source.random()), until)
                               for client, offsets in pairs))
        while total.value == 0:
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
                not offsets.offsets or offsets.offsets[-1] < total.value
                for _, offsets in pairs):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # resubscribes still under way finish
        for client, _ in pairs:
            await client.disconnect()
        results.put([(offsets.offsets, offsets.subscribes, offsets.recovered, offsets.reconnects)
                     for _, offsets in pairs])

    asyncio.run(main())


def publish_at_rate(port, rate, seconds):
    """Pipelined HTTP publishes, 30 per write, paced to `rate`; returns how many were acknowledged."""
    batch = 30
    connection = socket.create_connection(("127.0.0.1", port))
    buffered = b""
    published = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        requests = []
        for _ in range(batch):
            published += 1
            body = b'{"channel":"load:1","data":{"n":%d}}' % published
            requests.append(b"POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: " + API_KEY.encode()
                            + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        connection.sendall(b"".join(requests))
        answered = 0
        while answered < batch:
            head_end = buffered.find(b"\r\n\r\n")
            if head_end >= 0:
                length = int(buffered[:head_end].lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                if len(buffered) >= head_end + 4 + length:
                    assert b'"offset"' in buffered[head_end + 4:head_end + 4 + length], buffered[:200]
                    buffered = buffered[head_end + 4 + length:]
                    answered += 1
                    continue
            buffered += connection.recv(65536)
        ahead = published / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    connection.close()
    return published


def test_subscribers_reconnecting_under_load_get_every_offset_once(start_herald):
    workdir = Path(tempfile.mkdtemp(prefix="herald-load-"))
    # A subscriber far behind recovers thousands of publications in one reply: its queue must hold them
    # (a recovery over half of client.queue_max_size answers recovered: false).
    server = start_herald(history_config(workdir, namespace("load", history_size=100000),
                                         client={"queue_max_size": 8 * 1024 * 1024}))
    context = multiprocessing.get_context("spawn")
    ready = context.Semaphore(0)
    start = context.Event()
    total = context.Value("q", 0)
    results = context.Queue()
    processes = [context.Process(target=subscriber_process, args=(server.ws_url, seed, ready, start, total, results))
                 for seed in range(PROCESSES)]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            assert ready.acquire(timeout=60), "subscribers did not come up"
        start.set()
        total.value = publish_at_rate(server.port, RATE, SECONDS)
        reports = [subscriber for _ in processes for subscriber in results.get(timeout=90)]
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    n = total.value
    assert n >= RATE * SECONDS * 0.8, f"the publisher reached only {n} publications"
    assert len(reports) == PROCESSES * SUBSCRIBERS_PER_PROCESS
    expected = list(range(1, n + 1))
    for index, (offsets, _, _, _) in enumerate(reports):
        assert offsets == expected, (f"subscriber {index}: {len(offsets)} of {n}, "
                                     f"first wrong at {next(i for i, (a, b) in enumerate(zip(offsets + [None], expected)) if a != b)}")
    reconnects = sum(reconnects for _, _, _, reconnects in reports)
    assert reconnects >= 2 * len(reports), f"only {reconnects} reconnects"
    # A reconnect that comes before the previous resubscribe finished makes no subscribe of its own.
    assert all(subscribes >= 2 for _, subscribes, _, _ in reports), "every subscriber resubscribed"
    assert [recovered for _, _, recovered, _ in reports] == [subscribes - 1 for _, subscribes, _, _ in reports], \
        "every resubscribe recovered"
