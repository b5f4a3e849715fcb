"""Checks that each benchmark peer (uws.sh, nchan.sh) works as a fan-out server.

Run with any Python 3 (standard library only): python3 bench/peers/verify.py [uws] [nchan]
For each peer: start it pinned to CPU 0 on a free port; publish one message before anyone subscribes
(to see what a new subscriber gets first); connect 100 WebSocket subscribers to channel `c`; publish
50 64-byte messages over one keep-alive HTTP connection; check every subscriber got exactly those 50,
in order, each as its own unfragmented text frame, and nothing else. Then the same with 2,000
subscribers and 5 messages, and with 1 subscriber for a delivery-latency figure not dominated by this
client's own queueing. The subscribers are raw WebSocket clients so that frames, not reassembled
messages, are checked. Every process started is stopped by PID, also on failure.
"""
import asyncio
import base64
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = {  # name -> (command, subscribe path, publish path, expected publish statuses)
    "uws": (lambda port, wd: [f"{HERE}/uws.sh", str(port), "0"], "/{ch}", "/publish/{ch}", {200}),
    "nchan": (lambda port, wd: [f"{HERE}/nchan.sh", str(port), "0", wd], "/sub/{ch}", "/pub/{ch}", {201, 202}),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_us():
    return time.monotonic_ns() // 1000


def payload(seq):
    text = '{"t":%d,"s":%d,"p":"' % (now_us(), seq)
    return (text + "x" * (64 - len(text) - 2) + '"}').encode()


class Subscriber:
    """A minimal WebSocket client that records every frame as (fin, opcode, payload, arrival µs)."""

    async def connect(self, port, path):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"upgrade refused: {head[:80]!r}")
        self.frames = []
        self.task = asyncio.ensure_future(self.read_frames())

    async def read_frames(self):
        try:
            while True:
                b0, b1 = await self.reader.readexactly(2)
                length = b1 & 0x7F
                if length == 126:
                    length = struct.unpack("!H", await self.reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
                data = await self.reader.readexactly(length)
                opcode = b0 & 0x0F
                if opcode == 0x9:  # ping: answer with a masked pong
                    self.writer.write(bytes([0x8A, 0x80 | len(data)]) + b"\0\0\0\0" + data)
                    continue
                self.frames.append((bool(b0 & 0x80), opcode, data, now_us()))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    def close(self):
        self.task.cancel()
        self.writer.close()


async def publish_all(port, path, count, gap):
    """POSTs `count` fresh payloads on one keep-alive connection; returns them, the response statuses
    and the last response body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    messages, statuses, body = [], [], b""
    for seq in range(count):
        message = payload(seq)  # stamped just before sending, for the latency figure
        messages.append(message)
        writer.write((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                      f"Content-Length: {len(message)}\r\n\r\n").encode() + message)
        head = await reader.readuntil(b"\r\n\r\n")
        statuses.append(int(head.split()[1]))
        length = next(int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
                      if line.startswith(b"content-length:"))
        body = await reader.readexactly(length)
        await asyncio.sleep(gap)
    writer.close()
    return messages, statuses, body


async def fan_out(port, sub_path, pub_path, channel, subscribers, count, old=None):
    """Subscribes, publishes `count` messages, and returns (errors, delivery latencies µs, last pub body)."""
    subs, gate = [], asyncio.Semaphore(100)  # at most 100 handshakes in flight

    async def connect_one():
        async with gate:
            sub = Subscriber()
            await sub.connect(port, sub_path.format(ch=channel))
            subs.append(sub)

    await asyncio.gather(*(connect_one() for _ in range(subscribers)))
    try:
        messages, statuses, body = await publish_all(port, pub_path.format(ch=channel), count, 0.005)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(len(s.frames) < count for s in subs):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # catch anything extra
    finally:
        for s in subs:
            s.close()
    errors, latencies = [], []
    for i, s in enumerate(subs):
        got = [f[2] for f in s.frames]
        if old is not None and old in got:
            errors.append(f"subscriber {i} received the message published before it subscribed")
        if got != messages:
            errors.append(f"subscriber {i}: got {len(got)} frames, first {got[:1]!r}")
        if any(not fin or op != 1 for fin, op, _, _ in s.frames):
            errors.append(f"subscriber {i}: non-text or fragmented frame")
        for _, _, data, arrival in s.frames:
            if data.startswith(b'{"t":'):
                latencies.append(arrival - int(data[5:data.index(b",")]))
    return errors[:5] + ([f"... {len(errors) - 5} more"] if len(errors) > 5 else []), latencies, statuses, body


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def stop(proc, extra_pids):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for pid in extra_pids:  # e.g. an nginx worker, if its master died without taking it along
        try:
            os.kill(pid, 9)
            print(f"  (had to kill leftover process {pid})")
        except ProcessLookupError:
            pass


def verify(name):
    command, sub_path, pub_path, ok_statuses = PEERS[name]
    port, workdir = free_port(), tempfile.mkdtemp(prefix=f"peer-{name}-")
    log = open(os.path.join(workdir, "stdout.log"), "w")
    proc = subprocess.Popen(command(port, workdir), stdout=log, stderr=subprocess.STDOUT)
    pids = []
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"exited with {proc.returncode}; see {workdir}")
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("did not accept connections within 15 s")
                time.sleep(0.05)
        time.sleep(0.2)
        pids = [proc.pid] + children(proc.pid)
        cpu0 = cpu_seconds(pids)
        time.sleep(2)
        idle_cpu = (cpu_seconds(pids) - cpu0) / 2

        [old], _, _ = asyncio.run(publish_all(port, pub_path.format(ch="c"), 1, 0))
        errors, lat, statuses, body = asyncio.run(fan_out(port, sub_path, pub_path, "c", 100, 50, old))
        errors2, _, statuses2, _ = asyncio.run(fan_out(port, sub_path, pub_path, "big", 2000, 5))
        # One subscriber: delivery latency without the Python client's own queueing behind 100 sockets.
        errors3, lat1, statuses3, _ = asyncio.run(fan_out(port, sub_path, pub_path, "one", 1, 50))
        bad = {s for s in statuses + statuses2 + statuses3 if s not in ok_statuses}
        if bad:
            errors.append(f"unexpected publish statuses {sorted(bad)}")
        problems = errors + [f"2000 subscribers: {e}" for e in errors2] + [f"1 subscriber: {e}" for e in errors3]
        ms = lambda values, q: sorted(values)[int(q * (len(values) - 1))] / 1000 if values else float("nan")
        summary = (f"{len(pids)} process(es), idle CPU {idle_cpu * 100:.1f}%, publish statuses "
                   f"{sorted(set(statuses))}, client-seen latency p50/max: 1 sub {ms(lat1, .5):.2f}/"
                   f"{ms(lat1, 1):.2f} ms, 100 subs {ms(lat, .5):.2f}/{ms(lat, 1):.2f} ms")
        print(f"{name}: {'FAIL' if problems else 'OK'}: 100 subs x 50 msgs, 2000 subs x 5 msgs, 1 sub x 50 msgs; "
              f"{summary}")
        if name == "nchan":
            print(f"  last publish response body: {body.decode(errors='replace')!r}")
        for p in problems:
            print(f"  {p}")
        if not problems:
            shutil.rmtree(workdir, ignore_errors=True)  # kept on failure, for its logs
        return not problems
    except Exception as error:
        print(f"{name}: FAIL: {error} (logs in {workdir})")
        return False
    finally:
        stop(proc, pids[1:] or children(proc.pid))
        log.close()


if __name__ == "__main__":
    os.sched_setaffinity(0, {1})  # keep the clients off the peers' CPU 0
    results = [verify(name) for name in (sys.argv[1:] or PEERS)]
    sys.exit(0 if all(results) else 1)
