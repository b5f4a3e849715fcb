"""SDK subscribers (centrifuge-python) that disconnect and reconnect at random moments while publications flow,
each recording the offsets it received: the recovery tests' load. Run in processes of their own (`spawn`), so
the Python clients are not the bottleneck of one interpreter."""
import asyncio
import multiprocessing
import random
import time


def run_churning_subscribers(url, channels, processes, seconds, publish, timeout=120):
    """Starts `processes` subscriber processes, each with one subscriber per entry of `channels`; once they are
    all subscribed and churning, calls `publish()`, which returns {channel: its final offset}; returns every
    subscriber's report (see `subscriber_process`). Every process is stopped, also on failure."""
    context = multiprocessing.get_context("spawn")
    ready, start = context.Semaphore(0), context.Event()
    last_offsets = context.Array("q", len(channels))
    results = context.Queue()
    started = [context.Process(target=subscriber_process,
                               args=(url, channels, seed, seconds, ready, start, last_offsets, results))
               for seed in range(processes)]
    for process in started:
        process.start()
    try:
        for _ in started:
            assert ready.acquire(timeout=60), "subscribers did not come up"
        start.set()
        last = publish()
        last_offsets[:] = [last[channel] for channel in channels]
        return [subscriber for _ in started for subscriber in results.get(timeout=timeout)]
    finally:
        for process in started:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def subscriber_process(url, channels, seed, seconds, ready, start, last_offsets, results):
    """One subscriber per entry of `channels` in this process. After `start` is set they churn for `seconds`;
    then they wait until each has reached its channel's final offset (`last_offsets[i]` for `channels[i]`,
    set by the test when publishing is over, 0 until then) and report, per subscriber:
    (channel, offsets received, subscribes, recovered subscribes, reconnects)."""
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

    async def one(channel):
        client = Client(url, max_reconnect_delay=0.5)
        offsets = Offsets()
        subscription = client.new_subscription(channel, offsets)
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
        pairs = [await one(channel) for channel in channels]
        ready.release()
        while not start.is_set():
            await asyncio.sleep(0.01)
        until = time.monotonic() + seconds
        await asyncio.gather(*(churn(client, offsets, random.Random(random_source.random()), until)
                               for client, offsets in pairs))

        def behind():
            return any(last_offsets[index] == 0 or not offsets.offsets or offsets.offsets[-1] < last_offsets[index]
                       for index, (_, offsets) in enumerate(pairs))

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and behind():
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # resubscribes still under way finish
        for client, _ in pairs:
            await client.disconnect()
        results.put([(channel, offsets.offsets, offsets.subscribes, offsets.recovered, offsets.reconnects)
                     for channel, (_, offsets) in zip(channels, pairs)])

    asyncio.run(main())


def first_difference(got, expected):
    """Where two offset lists part, and what each has there, for failure messages."""
    index = next(i for i, (a, b) in enumerate(zip(got + [None], expected + [None])) if a != b)
    return f"{index} (got {got[max(0, index - 2):index + 3]}, expected {expected[max(0, index - 2):index + 3]})"
