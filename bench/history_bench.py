"""History benchmarks: durable publish rate, catch-up replay from the durable log, mass reconnect recovery.

Each measurement runs against a fresh Herald (pinned to CPU 0 when taskset exists) on a free loopback port
with a temporary data directory; this process, the load, pins itself to CPU 1. Every Herald started is
stopped by its PID, also on failure. Run: .venv/bin/python bench/history_bench.py [--quick] [--json FILE]
"""
import argparse
import asyncio
import ctypes
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections import deque
from pathlib import Path

from websockets.asyncio.client import connect as ws_connect

KEY = "bench-key"
PAYLOAD = {"text": "x" * 86}  # about 100 bytes of JSON: a small chat-like message
TICK = os.sysconf("SC_CLK_TCK")
MODES = {"fsync": {"durable": "fsync"}, "os": {"durable": "os"}, "memory": {}}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def die_with_parent():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: if the bench is killed, so is Herald


def fs_type(path):
    """The file system under `path` (fsync on tmpfs costs nothing, so the numbers would mean little)."""
    mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    return max((m for m in mounts if str(path).startswith(m[0])), key=lambda m: len(m[0]), default=("", "?"))[1]


class Herald:
    """One Herald process. `start()` may be called again after `stop()` (same data dir, new port)."""

    def __init__(self, binary, workdir, durable_opts):
        self.binary, self.workdir, self.process = binary, Path(workdir), None
        ns = {"name": "ns", "history_size": 1000000, "history_ttl": "3600s", "force_recovery": True,
              "allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True, **durable_opts}
        config = {"http_api": {"key": KEY},
                  # queue_max_size: a 100,000-publication recovery reply is one ~13 MB frame; at the 1 MiB
                  # default Herald disconnects the reader as slow (3008) before it can read it.
                  "client": {"allow_anonymous_connect_without_token": True, "queue_max_size": 256 << 20,
                             "recovery_max_publication_limit": 1000000},
                  "data_dir": str(self.workdir / "data"), "channel": {"namespaces": [ns]}}
        if shutil.which("taskset"):
            config["herald"] = {"event_loops": 1}  # one CPU: a second loop would only share it
        self.config_path = self.workdir / "config.json"
        self.config_path.write_text(json.dumps(config))

    def start(self):
        """Starts Herald; returns seconds until /health answers."""
        self.port = free_port()
        args = [self.binary, "serve", "--config", str(self.config_path), "--port", str(self.port),
                "--address", "127.0.0.1"]
        if shutil.which("taskset"):
            args = ["taskset", "-c", "0"] + args
        self.log = open(self.workdir / "herald.log", "ab")
        began = time.perf_counter()
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                        preexec_fn=die_with_parent)
        while time.perf_counter() - began < 120:
            if self.process.poll() is not None:
                raise RuntimeError(f"herald exited {self.process.returncode}, log: {self.workdir}/herald.log")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - began
            except OSError:
                time.sleep(0.005)
        raise RuntimeError("herald did not become healthy in 120 s")

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()

    ws_url = property(lambda self: f"ws://127.0.0.1:{self.port}/connection/websocket")


class fresh_herald:
    """`with fresh_herald(args, mode) as h:` a started Herald and its temporary directory, both gone after."""

    def __init__(self, args, mode):
        self.args, self.mode = args, mode

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="herald-hbench-", dir=self.args.tmp)
        self.herald = Herald(self.args.herald, self.dir, MODES[self.mode])
        try:
            self.herald.start()
        except BaseException:
            self.__exit__()
            raise
        return self.herald

    def __exit__(self, *exc):
        self.herald.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def publish_load(port, channel, concurrency, seconds=None, total=None, warmup=0.0):
    """Publishes through pipelined HTTP/1.1 keep-alive connections with `concurrency` requests in flight
    (Herald answers pipelined requests in order and commits them together). Runs for `warmup + seconds`,
    counting only acknowledgments after the warm-up, or until `total` are acknowledged. One thread: every
    batch of answers read is refilled with one send, so the generator pays few syscalls per publish."""
    body = json.dumps({"channel": channel, "data": PAYLOAD}).encode()
    request = (f"POST /api/publish HTTP/1.1\r\nHost: b\r\nX-API-Key: {KEY}\r\nContent-Type: application/json"
               f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    n_conns = -(-concurrency // 16)  # up to 16 deep per connection: bigger batches, cheaper generator
    selector, conns = selectors.DefaultSelector(), []
    began = time.perf_counter()
    measure_from = began + warmup
    end = measure_from + seconds if seconds else float("inf")
    sent = counted = 0
    latencies, errors = [], []
    cpu0 = time.process_time()
    for i in range(n_conns):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        depth = concurrency // n_conns + (i < concurrency % n_conns)
        conn = {"sock": sock, "buf": bytearray(), "times": deque([time.perf_counter()] * depth)}
        conns.append(conn)
        selector.register(sock, selectors.EVENT_READ, conn)
        sock.sendall(request * depth)
        sent += depth
    pending = sent
    while pending:
        for key, _ in selector.select(timeout=30) or [(None, None)]:
            if key is None:
                raise RuntimeError("no publish acknowledgment for 30 s")
            conn = key.data
            data = conn["sock"].recv(1 << 20)
            if not data:
                raise RuntimeError("herald closed a publish connection")
            buf, now, answered = conn["buf"], time.perf_counter(), 0
            buf += data
            while (head_end := buf.find(b"\r\n\r\n")) >= 0:
                head = bytes(buf[:head_end]).lower()
                at = head.find(b"content-length:") + 15
                stop = head.find(b"\r\n", at)
                length = int(head[at:stop if stop >= 0 else None])
                if len(buf) < head_end + 4 + length:
                    break
                conn["last"] = bytes(buf[head_end + 4:head_end + 4 + length])
                del buf[:head_end + 4 + length]
                if not head.startswith(b"http/1.1 200") or b'"result"' not in conn["last"]:
                    errors.append(conn["last"][:200])
                sent_at, answered = conn["times"].popleft(), answered + 1
                if now >= measure_from:
                    counted += 1
                    latencies.append(now - sent_at)
            pending -= answered
            refill = 0 if now >= end else min(answered, total - sent) if total else answered
            if refill:
                conn["times"].extend([now] * refill)
                conn["sock"].sendall(request * refill)
                sent += refill
                pending += refill
    elapsed = time.perf_counter() - measure_from
    for conn in conns:
        conn["sock"].close()
    if errors:
        raise RuntimeError(f"{len(errors)} publishes failed, first: {errors[0]!r}")
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
    return {"msg_per_s": counted / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "loadgen_cpu": (time.process_time() - cpu0) / (time.perf_counter() - began),
            "last": max((json.loads(c["last"])["result"] for c in conns), key=lambda r: r["offset"])}


# ---- 1. durable publish rate ---------------------------------------------------------------------------

def bench_publish(args, report):
    report("\n1. Publish rate (HTTP API, ~100-byte data, acknowledged = answered 200)")
    report(f"   {'mode':<7}{'C':>4}{'msg/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'herald CPU':>12}{'load CPU':>10}")
    rates = {}
    for concurrency in args.concurrency:
        for mode in MODES:
            with fresh_herald(args, mode) as herald:
                cpu0, t0 = herald.cpu_seconds(), time.perf_counter()
                r = publish_load(herald.port, "ns:pub", concurrency, seconds=args.seconds, warmup=0.5)
                herald_cpu = (herald.cpu_seconds() - cpu0) / (time.perf_counter() - t0)
            rates[mode, concurrency] = r["msg_per_s"]
            note = "  <- load generator bound" if r["loadgen_cpu"] > 0.9 and herald_cpu < 0.9 else ""
            report(f"   {mode:<7}{concurrency:>4}{r['msg_per_s']:>11,.0f}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}"
                   f"{herald_cpu:>11.0%}{r['loadgen_cpu']:>10.0%}{note}",
                   test="publish", mode=mode, concurrency=concurrency, msg_per_s=r["msg_per_s"],
                   p50_ms=r["p50_ms"], p99_ms=r["p99_ms"], herald_cpu=herald_cpu, loadgen_cpu=r["loadgen_cpu"])
    for concurrency in args.concurrency:
        memory = rates["memory", concurrency]
        report(f"   C={concurrency:<3} fsync/memory {rates['fsync', concurrency] / memory:6.3f}   "
               f"os/memory {rates['os', concurrency] / memory:6.3f}",
               test="publish_ratio", concurrency=concurrency,
               fsync_over_memory=rates["fsync", concurrency] / memory, os_over_memory=rates["os", concurrency] / memory)


# ---- raw Centrifuge protocol client ----------------------------------------------------------------------

async def subscribe_and_collect(url, channel, offset, epoch, want, deadline=120.0):
    """Connects, subscribes with recovery from (offset, epoch) and reads until `want` publications arrived
    (from the subscribe reply and pushes). Returns (offsets, wire bytes, open connection)."""
    ws = await ws_connect(url, compression=None, max_size=None, open_timeout=120, ping_interval=None)
    sub = {"channel": channel, "recoverable": True, "recover": True, "offset": offset, "epoch": epoch}
    await ws.send(json.dumps({"id": 1, "connect": {}}) + "\n" + json.dumps({"id": 2, "subscribe": sub}))
    offsets, wire = [], 0
    async with asyncio.timeout(deadline):
        while len(offsets) < want:
            frame = await ws.recv()
            wire += len(frame)
            for line in frame.split("\n"):
                message = json.loads(line)
                if not message:
                    await ws.send("{}")  # answer Herald's ping
                elif "error" in message:
                    raise RuntimeError(f"herald error: {message}")
                elif message.get("id") == 2:
                    reply = message["subscribe"]
                    if offset and not reply.get("recovered"):
                        raise RuntimeError(f"not recovered: {line[:200]}")
                    offsets += [p.get("offset") for p in reply.get("publications", [])]
                elif "push" in message and "pub" in message["push"]:
                    offsets.append(message["push"]["pub"].get("offset"))
    return offsets, wire, ws


def check_offsets(offsets, first, count, who):
    if offsets != list(range(first, first + count)):
        missing = set(range(first, first + count)) - set(offsets)
        raise RuntimeError(f"{who}: expected offsets {first}..{first + count - 1}, got {len(offsets)} "
                           f"({len(missing)} missing, {len(offsets) - len(set(offsets))} duplicates)")


# ---- 2. catch-up replay from the durable log ------------------------------------------------------------

def bench_replay(args, report):
    n = args.replay_n
    report(f"\n2. Catch-up replay from the durable log (fsync namespace, N = {n:,} publications)")
    with fresh_herald(args, "fsync") as herald:
        began = time.perf_counter()
        load = publish_load(herald.port, "ns:replay", 256, total=n)
        fill = time.perf_counter() - began
        epoch, last = load["last"]["epoch"], load["last"]["offset"]
        if last != n:
            raise RuntimeError(f"last publish offset {last}, expected {n}")
        report(f"   filled in {fill:.2f} s ({n / fill:,.0f} msg/s, 256 in flight); log "
               f"{sum(f.stat().st_size for f in Path(herald.workdir, 'data').iterdir()) / 1e6:.1f} MB")
        stop0 = time.perf_counter()
        herald.stop()
        stop_s = time.perf_counter() - stop0
        restart_s = herald.start()
        report(f"   restart: SIGTERM exit {stop_s:.3f} s, start until /health {restart_s:.3f} s",
               test="restart", publications=n, stop_s=stop_s, start_to_health_s=restart_s)

        async def replay():
            t0 = time.perf_counter()
            offsets, wire, ws = await subscribe_and_collect(herald.ws_url, "ns:replay", 0, epoch, n)
            elapsed = time.perf_counter() - t0
            await ws.close()
            return offsets, wire, elapsed

        cpu0, load0 = herald.cpu_seconds(), time.process_time()
        offsets, wire, elapsed = asyncio.run(replay())
        herald_cpu, load_cpu = herald.cpu_seconds() - cpu0, time.process_time() - load0
        check_offsets(offsets, 1, n, "replay")
        # Herald reads the log back into memory at start (in the restart time above): the replay itself
        # is served from those streams, and a Python client parsing 100,000 publications is the slow side.
        report(f"   replay: {n:,} publications in {elapsed:.3f} s = {n / elapsed:,.0f} pub/s, "
               f"{wire / elapsed / 1e6:.1f} MB/s on the wire ({wire / 1e6:.1f} MB); CPU herald "
               f"{herald_cpu:.2f} s, load {load_cpu:.2f} s", test="replay", publications=n, seconds=elapsed,
               pub_per_s=n / elapsed, mb_per_s=wire / elapsed / 1e6, wire_bytes=wire,
               herald_cpu_s=herald_cpu, loadgen_cpu_s=load_cpu)
        if load_cpu > 0.9 * elapsed:
            report("   (the load process was busy all that time: the replay rate is a lower bound)")


# ---- 3. 1,000 subscribers reconnecting at once ----------------------------------------------------------

def bench_reconnect(args, report):
    subs, m = args.subscribers, args.missed
    report(f"\n3. Mass reconnect: {subs:,} subscribers recover {m:,} missed publications each")
    for mode in ("memory", "fsync"):
        with fresh_herald(args, mode) as herald:
            epoch = publish_load(herald.port, "ns:room", 1, total=10)["last"]["epoch"]  # channel, epoch

            async def connect_all():
                gate = asyncio.Semaphore(100)  # connect in waves: the initial fan-in is not what we measure

                async def one():
                    async with gate:
                        offsets, _, ws = await subscribe_and_collect(herald.ws_url, "ns:room", 0, epoch, 10)
                    check_offsets(offsets, 1, 10, "initial subscribe")
                    return ws, offsets[-1]
                return await asyncio.gather(*(one() for _ in range(subs)))

            async def reconnect_all(lasts):  # all at once, no gate: the thundering herd is the point
                async def one(last):
                    offsets, _, ws = await subscribe_and_collect(herald.ws_url, "ns:room", last, epoch, m)
                    done = time.perf_counter()
                    await ws.close()
                    check_offsets(offsets, last + 1, m, "reconnected subscriber")
                    return done
                t0 = time.perf_counter()
                done = await asyncio.gather(*(one(last) for last in lasts))
                return t0, done

            async def run():
                held = await connect_all()
                await asyncio.gather(*(ws.close() for ws, _ in held))
                load = await asyncio.to_thread(publish_load, herald.port, "ns:room", 64, None, m)
                if load["last"]["offset"] != 10 + m:
                    raise RuntimeError(f"unexpected last offset {load['last']}")
                cpu_h, cpu_l = herald.cpu_seconds(), time.process_time()
                t0, done = await reconnect_all([last for _, last in held])
                return t0, done, herald.cpu_seconds() - cpu_h, time.process_time() - cpu_l

            t0, done, herald_cpu, load_cpu = asyncio.run(run())
            per = sorted(d - t0 for d in done)  # each from the first reconnect attempt: all start together
            total, p50, p99 = per[-1], per[len(per) // 2] * 1000, per[int(0.99 * len(per))] * 1000
            report(f"   {mode:<7} all recovered in {total:.3f} s; per subscriber p50 {p50:.0f} ms p99 {p99:.0f} ms;"
                   f" CPU herald {herald_cpu:.2f} s, load {load_cpu:.2f} s", test="reconnect", mode=mode,
                   subscribers=subs, missed=m, total_s=total, p50_ms=p50, p99_ms=p99,
                   herald_cpu_s=herald_cpu, loadgen_cpu_s=load_cpu)
        if load_cpu > 0.9 * total:
            report(f"   ({mode}: the load process was busy {load_cpu / total:.0%} of that time: the time is an upper bound)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--herald", default=".build/release/herald")
    parser.add_argument("--json", help="append one JSON line per measurement to this file")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run under a minute")
    parser.add_argument("--tmp", default=None, help="where the temporary data directories go (default $TMPDIR)")
    args = parser.parse_args()
    args.herald = os.path.abspath(args.herald)
    if not os.access(args.herald, os.X_OK):
        parser.error(f"no herald binary at {args.herald} (make release)")
    args.concurrency = [1, 16, 64]
    args.seconds = 1.0 if args.quick else 5.0
    args.replay_n = 10_000 if args.quick else 100_000
    args.subscribers, args.missed = (100, 100) if args.quick else (1000, 1000)

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000+ sockets here and in Herald (inherits)
    pinned = hasattr(os, "sched_setaffinity") and shutil.which("taskset") and os.cpu_count() > 1
    if pinned:
        os.sched_setaffinity(0, {1})
    json_file = open(args.json, "a") if args.json else None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")

    def report(text, **measurement):
        print(text, flush=True)
        if json_file and measurement:
            json_file.write(json.dumps({"bench": "history", "time": stamp, "quick": args.quick,
                                        **measurement}) + "\n")
            json_file.flush()

    tmp = args.tmp or tempfile.gettempdir()
    report(f"Herald history benchmark{' (quick)' if args.quick else ''}: {args.herald}\n"
           f"herald on CPU 0 (1 event loop), load on CPU 1: {'yes' if pinned else 'NO (no taskset or 1 CPU)'}; "
           f"client.queue_max_size 256 MiB; data dirs under {tmp} ({fs_type(Path(tmp).resolve())}); load average "
           f"{Path('/proc/loadavg').read_text().split()[0]}")
    try:
        bench_publish(args, report)
        bench_replay(args, report)
        bench_reconnect(args, report)
    finally:
        if json_file:
            json_file.close()


if __name__ == "__main__":
    main()
