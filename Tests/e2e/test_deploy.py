"""deploy/ is checked here, since Docker cannot run on this machine: the compose file parses and wires what
Herald really serves, its Herald configuration passes `herald checkconfig`, and that configuration, pointed at
a real Kafka-protocol broker, bridges records to subscribers."""
import asyncio
import re
import subprocess

import yaml

from conftest import E2E_HERALD_BIN, REPO
from kafka_support import KAFKA_ENV, bridge_state, broker, wait_for  # noqa: F401 (fixture)
from test_kafka_recovery import pushes, raw_subscribe

DEPLOY = REPO / "deploy"


def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_herald_with_a_kraft_kafka_and_the_bridge_configuration():
    services = compose()["services"]
    kafka, herald = services["kafka"], services["herald"]
    # KRaft: the broker is its own controller, no ZooKeeper anywhere.
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert not any("zookeeper" in name for name in services)
    assert kafka["image"].startswith("apache/kafka:")
    # Herald is built from deploy/Dockerfile and runs the mounted configuration on the port it publishes.
    assert herald["build"]["dockerfile"] == "deploy/Dockerfile"
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in herald["volumes"]}
    config_path = herald["command"][herald["command"].index("--config") + 1]
    config_file = DEPLOY / mounted[config_path]
    config = yaml.safe_load(config_file.read_text())
    assert f'{config["http_server"]["port"]}:{config["http_server"]["port"]}' in herald["ports"]
    # Every bridged topic (and the dead-letter topic) is created by kafka-init, on the broker Herald uses.
    created = set(re.findall(r"--topic (\S+)", " ".join(services["kafka-init"]["command"])))
    assert {bridge["topic"] for bridge in config["kafka"]["bridges"]} | {config["kafka"]["dead_letter_topic"]} <= created
    assert config["kafka"]["brokers"] == [kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"].split("//")[1]]
    checked = subprocess.run([E2E_HERALD_BIN, "checkconfig", "--config", str(config_file)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dockerfile_ships_the_libraries_herald_links_and_checks_health():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    linked = subprocess.run(["ldd", E2E_HERALD_BIN], capture_output=True, text=True).stdout
    for library, package in [("librdkafka.so", "librdkafka1"), ("libwebsockets.so", "libwebsockets17"),
                             ("libsqlite3.so", "libsqlite3-0")]:
        assert library in linked and package in dockerfile, library
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile


def test_the_deploy_configuration_bridges_records_from_a_real_broker(start_herald, broker):  # noqa: F811
    """The compose configuration as it is, with only the broker address changed (through the environment, as
    an operator would): a record keyed 42 reaches the subscriber of orders:42."""
    broker.create_topic("orders", partitions=6)
    server = start_herald(DEPLOY / "config.kafka.yaml",
                          env={**KAFKA_ENV, "HERALD_KAFKA_BROKERS": broker.address})
    key = yaml.safe_load((DEPLOY / "config.kafka.yaml").read_text())["http_api"]["key"]
    wait_for(lambda: bridge_state(server, key=key)["status"] == "ok", what="the bridge to connect")

    async def scenario():
        socket, _ = await raw_subscribe(server.ws_url, "orders:42")
        broker.kcat("-P", "-t", "orders", "-K:", "-X", "partitioner=murmur2_random", input=b'42:{"status":"paid"}\n')
        assert [data for _, data in await pushes(socket, 1)] == [{"status": "paid"}]
        await socket.close()

    asyncio.run(scenario())
