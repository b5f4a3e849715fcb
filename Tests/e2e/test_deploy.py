"""deploy/ is checked here, since neither Docker nor a Kubernetes cluster runs on this machine. Real tools where
one installs here: hadolint (Dockerfile), the Compose specification's JSON schema (check-jsonschema), the
Kubernetes API schemas (kubernetes-validate), promtool (Prometheus configuration), systemd-analyze (the unit).
Around them, what no linter knows: every file wires the ports, paths and configurations Herald really serves,
checked against the real binary (`herald checkconfig`, probes answered 200, a drain inside the grace period),
and the runtime image carries every library the binary links. The compose configuration, pointed at a real
Kafka-protocol broker, bridges records to subscribers."""
import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from conftest import E2E_HERALD_BIN, REPO
from kafka_support import KAFKA_ENV, bridge_state, broker, wait_for  # noqa: F401 (fixture)
from test_kafka_recovery import pushes, raw_subscribe

DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
# What Herald serves over plain HTTP; /metrics only from the binary that has it (see test_k8s_*_probe).
SERVED_PATHS = {"/health", "/ready", "/metrics"}
# The Kubernetes release whose API schemas the manifests are checked against (the oldest still supported).
KUBERNETES_VERSION = "1.30.0"


def tool(name):
    """A checker installed by `make test`: the venv's scripts (pip packages), .build-tools (promtool), PATH."""
    for candidate in (Path(sys.executable).parent / name, REPO / ".build-tools" / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    assert found, f"{name} is missing: `make test-deps` and Tests/e2e/requirements.txt install it"
    return found


def run(*args, **kwargs):
    return subprocess.run([str(arg) for arg in args], capture_output=True, text=True, **kwargs)


def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def checkconfig(path, env=None):
    checked = run(E2E_HERALD_BIN, "checkconfig", "--config", path, env=env)
    assert checked.returncode == 0, f"{path}: {checked.stdout}{checked.stderr}"


def seconds(duration):
    """A Go duration string as Herald reads it ("5s", "1m30s", "500ms") in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


def shutdown_timeout(config):
    return seconds(config.get("herald", {}).get("shutdown_timeout", "5s"))


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- compose ---------------------------------------------------------------------------------------------

def compose_herald_config():
    herald = compose()["services"]["herald"]
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in herald["volumes"]}
    config_file = DEPLOY / mounted[herald["command"][herald["command"].index("--config") + 1]]
    return config_file, yaml.safe_load(config_file.read_text())


def test_compose_file_is_valid_against_the_compose_specification():
    checked = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", DEPLOY / "compose.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr

def test_compose_runs_herald_with_a_kraft_kafka_and_the_bridge_configuration():
    services = compose()["services"]
    kafka, herald = services["kafka"], services["herald"]
    # KRaft: the broker is its own controller, no ZooKeeper anywhere.
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert not any("zookeeper" in name for name in services)
    assert kafka["image"].startswith("apache/kafka:")
    # Herald is built from deploy/Dockerfile and runs the mounted configuration on the port it publishes.
    assert herald["build"]["dockerfile"] == "deploy/Dockerfile"
    config_file, config = compose_herald_config()
    port = config["http_server"]["port"]
    assert f"{port}:{port}" in herald["ports"]
    # Its health check asks Herald itself, on its port, for a path it serves, with a tool the image has.
    test = herald["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] in runtime_packages(), test
    url = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/\S*)", test[-1])
    assert url and int(url[1]) == port and url[2] in {"/health", "/ready"}, test
    # Room for many connections, one descriptor each.
    assert herald["ulimits"]["nofile"]["soft"] >= 65536
    # Shutdown drains clients before Docker's SIGKILL.
    assert seconds(herald["stop_grace_period"]) > shutdown_timeout(config)
    # Every bridged topic (and the dead-letter topic) is created by kafka-init, on the broker Herald uses.
    created = set(re.findall(r"--topic (\S+)", " ".join(services["kafka-init"]["command"])))
    assert {bridge["topic"] for bridge in config["kafka"]["bridges"]} | {config["kafka"]["dead_letter_topic"]} <= created
    assert config["kafka"]["brokers"] == [kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"].split("//")[1]]
    checkconfig(config_file)


def test_compose_prometheus_scrapes_the_metrics_herald_serves():
    services = compose()["services"]
    prometheus = services["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in prometheus["volumes"]}
    config_file = DEPLOY / mounted["/etc/prometheus/prometheus.yml"]
    checked = run(tool("promtool"), "check", "config", config_file)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Every scrape target is the herald service on Herald's port and metrics path.
    _, herald_config = compose_herald_config()
    jobs = yaml.safe_load(config_file.read_text())["scrape_configs"]
    targets = [target for job in jobs for static in job["static_configs"] for target in static["targets"]]
    assert targets == [f'herald:{herald_config["http_server"]["port"]}']
    assert [job.get("metrics_path") for job in jobs] == ["/metrics"]
    assert "herald" in services
    assert any("/-/ready" in part for part in prometheus["healthcheck"]["test"])


# --- Dockerfile ----------------------------------------------------------------------------------------------

def dockerfile_stages():
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments) with continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def runtime_stage():
    return dockerfile_stages()[-1]


def runtime_packages():
    """What the runtime stage installs with apt-get, as named there."""
    runs = " ".join(arguments for instruction, arguments in runtime_stage() if instruction == "RUN")
    installs = re.findall(r"apt-get install ((?:[-\w.+]+ ?)+)", runs)
    return {word for words in installs for word in words.split() if not word.startswith("-")}


def dpkg_package_of(path):
    """The installed Debian package owning a file, trying the path as given and resolved (merged /usr)."""
    resolved = str(Path(path).resolve())
    for candidate in (path, resolved, resolved.removeprefix("/usr"), "/usr" + path):
        owner = run("dpkg", "-S", candidate)
        if owner.returncode == 0:
            return owner.stdout.split(":")[0].split(",")[0].strip()
    raise AssertionError(f"no installed package owns {path}")


def installed_closure(packages):
    """`packages` and, recursively, what they depend on among the packages installed here."""
    seen, todo = set(), list(packages)
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        fields = run("dpkg-query", "-W", "-f", "${Depends}, ${Pre-Depends}", package)
        if fields.returncode != 0:
            continue  # an alternative that is not installed here
        seen.add(package)
        todo += [re.sub(r"[\s(:].*", "", alternative.strip())
                 for dependency in fields.stdout.split(",") for alternative in dependency.split("|")
                 if alternative.strip()]
    return seen


def slim_base_packages():
    """What debian:bookworm-slim has before any install: the required packages and apt."""
    listed = run("dpkg-query", "-W", "-f", "${Package} ${Essential} ${Priority}\n").stdout.splitlines()
    required = [line.split()[0] for line in listed if " yes " in line or line.endswith(" required")]
    return installed_closure(required + ["apt"])


def test_dockerfile_passes_hadolint():
    checked = run(tool("hadolint"), "--failure-threshold", "info", DEPLOY / "Dockerfile")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dockerfile_builds_the_release_binary_and_ships_every_library_it_links():
    build = " ".join(arguments for instruction, arguments in dockerfile_stages()[0] if instruction == "RUN")
    release = re.search(r"^release:.*\n\t\$\(SWIFT\) (.*)$", (REPO / "Makefile").read_text(), re.M)[1]
    assert f"swift {release}" in build, "the image builds Herald as `make release` does"
    assert runtime_stage()[0][1] == "debian:bookworm-slim"
    # Every shared library of the real binary comes from a package the runtime stage installs, one of their
    # dependencies, or the slim base.
    linked = re.findall(r"=> (/\S+)", run("ldd", E2E_HERALD_BIN).stdout)
    assert any("libwebsockets" in path for path in linked), linked
    present = installed_closure(runtime_packages()) | slim_base_packages()
    owners = {path: dpkg_package_of(path) for path in linked}
    missing = {path: package for path, package in owners.items() if package not in present}
    assert not missing, f"the runtime image lacks {missing}"
    # libwebsockets loads its libev event-loop plugin at run time (herald.event_backend libev): ldd cannot see it.
    assert "libwebsockets-evlib-ev" in runtime_packages()


def test_dockerfile_runs_as_non_root_and_its_health_check_is_answered(start_herald, tmp_path):
    stage = runtime_stage()
    runtime = dict(stage)
    user = runtime["USER"].split(":")[0]
    assert user.isdigit() and int(user) != 0, "a numeric non-root USER (Kubernetes' runAsNonRoot checks it)"
    assert f"--uid {user}" in " ".join(arguments for instruction, arguments in stage if instruction == "RUN")
    # The image runs its CMD's configuration on the port it exposes; the configuration passes checkconfig.
    command = json.loads(runtime["CMD"])
    [copied] = [arguments.split()[0] for instruction, arguments in stage
                if instruction == "COPY" and arguments.endswith(" " + command[-1])]
    config_file = REPO / copied
    config = json.loads(config_file.read_text())
    checkconfig(config_file)
    assert runtime["EXPOSE"] == str(config["http_server"]["port"])
    # The health check is an exec-form curl (installed) to that port, on a path Herald answers 200.
    healthcheck = json.loads(runtime["HEALTHCHECK"].split("CMD", 1)[1])
    assert healthcheck[0] in runtime_packages(), healthcheck
    url = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/\S*)", healthcheck[-1])
    assert url and url[1] == runtime["EXPOSE"] and url[2] in SERVED_PATHS, healthcheck
    server = start_herald(config_file, env={"HERALD_DATA_DIR": str(tmp_path / "data")})
    assert http_get(server.port, url[2])[0] == 200


# --- Kubernetes --------------------------------------------------------------------------------------------

def manifests():
    """kind -> the one object of that kind under deploy/k8s/ (with its file)."""
    objects = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert document["kind"] not in objects, document["kind"]
            objects[document["kind"]] = {**document, "_file": path.name}
    return objects


def k8s_config_file(objects, workdir):
    path = Path(workdir) / "config.yaml"
    path.write_text(objects["ConfigMap"]["data"]["config.yaml"])
    return path


def container(objects):
    [herald] = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    return herald


def secret_env(objects, herald):
    """The environment the Deployment builds from the Secret, with the example's placeholder values."""
    secret = objects["Secret"]
    env = {}
    for variable in herald["env"]:
        if "valueFrom" in variable:
            reference = variable["valueFrom"]["secretKeyRef"]
            assert reference["name"] == secret["metadata"]["name"]
            env[variable["name"]] = secret["stringData"][reference["key"]]
        else:
            env[variable["name"]] = variable["value"]
    return env


def test_k8s_manifests_are_valid_against_the_kubernetes_api_schemas():
    files = [path for path in sorted(K8S.glob("*.yaml")) if path.name != "kustomization.yaml"]
    checked = run(tool("kubernetes-validate"), "--strict", "--kubernetes-version", KUBERNETES_VERSION, *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # `kubectl apply -k` applies every manifest but the example Secret, whose values are placeholders.
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in files if p.name != "secret.example.yaml")
    assert all("CHANGE-ME" in value for value in manifests()["Secret"]["stringData"].values())


def test_k8s_objects_select_the_same_pods_and_use_herald_s_image_port_and_user():
    objects = manifests()
    deployment, service, pdb = objects["Deployment"], objects["Service"], objects["PodDisruptionBudget"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (deployment["spec"]["selector"]["matchLabels"], service["spec"]["selector"],
                     pdb["spec"]["selector"]["matchLabels"]):
        assert selector and selector.items() <= labels.items(), selector
    # The PDB leaves at least one pod serving.
    assert deployment["spec"]["replicas"] - pdb["spec"].get("maxUnavailable", 0) >= 1
    herald = container(objects)
    assert herald["image"].split(":")[0] == compose()["services"]["herald"]["image"].split(":")[0]
    config = yaml.safe_load(objects["ConfigMap"]["data"]["config.yaml"])
    [port] = herald["ports"]
    assert port["containerPort"] == config["http_server"]["port"]
    assert {p["targetPort"] for p in service["spec"]["ports"]} == {port["name"]}
    # The image's entrypoint is herald; the arguments read the ConfigMap where it is mounted.
    assert herald["args"][:1] == ["serve"] and json.loads(dict(runtime_stage())["ENTRYPOINT"])[0].endswith("/herald")
    config_path = Path(herald["args"][herald["args"].index("--config") + 1])
    mounts = {mount["name"]: mount for mount in herald["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in deployment["spec"]["template"]["spec"]["volumes"]}
    [config_mount] = [m for m in mounts.values() if volumes[m["name"]].get("configMap")]
    assert volumes[config_mount["name"]]["configMap"]["name"] == objects["ConfigMap"]["metadata"]["name"]
    assert config_mount["mountPath"] == str(config_path.parent) and config_path.name in objects["ConfigMap"]["data"]
    # The durable log is on a writable volume, since the root filesystem is read-only.
    data_dir = secret_env(objects, herald)["HERALD_DATA_DIR"]
    assert any(data_dir.startswith(m["mountPath"]) and not m.get("readOnly") for m in mounts.values())
    # Non-root as the image's user, nothing to escalate to.
    pod_security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert pod_security["runAsNonRoot"] and str(pod_security["runAsUser"]) == dict(runtime_stage())["USER"].split(":")[0]
    security = herald["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"]["drop"] == ["ALL"]
    # Prometheus finds /metrics on Herald's port.
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port["containerPort"])
    assert annotations["prometheus.io/path"] == "/metrics"


def test_k8s_termination_outlasts_the_pre_stop_sleep_and_herald_s_drain():
    objects = manifests()
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    pre_stop = container(objects)["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "/bin/sleep", pre_stop
    # The sleep binary is in the image: its package is in the slim base (or installed by the runtime stage).
    assert dpkg_package_of(pre_stop[0]) in slim_base_packages() | installed_closure(runtime_packages())
    config = yaml.safe_load(objects["ConfigMap"]["data"]["config.yaml"])
    assert pod["terminationGracePeriodSeconds"] > float(pre_stop[1]) + shutdown_timeout(config)


def test_k8s_configuration_serves_every_probe_and_drains_within_the_grace_period(start_herald, tmp_path):
    """The ConfigMap's configuration with the Secret's environment, as the pod runs it: checkconfig passes,
    every probe (and the scrape path, when this binary serves /metrics) answers 200, a token signed with the
    Secret's key connects, and SIGTERM with that client still connected ends Herald, with status 0, within the
    grace period minus preStop (that the drain never outlasts herald.shutdown_timeout, which the grace period
    covers, is test_lifecycle's test_shutdown_is_bounded_with_a_stalled_client)."""
    objects = manifests()
    herald = container(objects)
    env = {**os.environ, **secret_env(objects, herald), "HERALD_DATA_DIR": str(tmp_path / "data")}
    config_file = k8s_config_file(objects, tmp_path)
    checkconfig(config_file, env=env)
    server = start_herald(config_file, env=env)
    for probe in ("readinessProbe", "livenessProbe"):
        path = herald[probe]["httpGet"]["path"]
        assert herald[probe]["httpGet"]["port"] == herald["ports"][0]["name"]
        status, body = http_get(server.port, path)
        assert status == 200, (probe, path, body)
    # The durable namespace opened its log in the data directory: readiness reports it.
    assert json.loads(http_get(server.port, "/ready")[1])["durable_log"] == "ok"
    status, body = http_get(server.port, "/metrics")
    if status != 404:  # the binary under test may predate /metrics
        assert status == 200
        checked = subprocess.run([tool("promtool"), "check", "metrics"], input=body, capture_output=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr

    # A client with a token signed by the Secret's key, on a raw socket that never answers the close.
    token = run(E2E_HERALD_BIN, "token", "--config", config_file, "-u", "probe", env=env).stdout.strip()
    stalled = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    stalled.sendall(b"GET /connection/websocket HTTP/1.1\r\nHost: herald\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    b"Sec-WebSocket-Version: 13\r\n\r\n")
    assert stalled.recv(4096).startswith(b"HTTP/1.1 101")
    command = json.dumps({"id": 1, "connect": {"token": token}}).encode()
    assert 125 < len(command) < 1 << 16
    stalled.sendall(bytes([0x81, 0x80 | 126]) + len(command).to_bytes(2, "big") + bytes(4) + command)
    assert b'"client"' in stalled.recv(4096), "the token was not accepted"

    pod = objects["Deployment"]["spec"]["template"]["spec"]
    budget = pod["terminationGracePeriodSeconds"] - float(herald["lifecycle"]["preStop"]["exec"]["command"][1])
    started = time.monotonic()
    try:
        assert server.stop(signal.SIGTERM, timeout=budget) == 0
    finally:
        stalled.close()
    assert time.monotonic() - started < budget


# --- systemd ---------------------------------------------------------------------------------------------

def unit_settings():
    """herald.service as (key, value) pairs in order; systemd allows a key more than once."""
    pairs = []
    for line in (DEPLOY / "herald.service").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return pairs


def test_systemd_unit_verifies_without_a_warning(tmp_path):
    """systemd-analyze verify: every key known and well formed, the commands executable. The unit names the
    installed binary, so the check runs on a copy naming the binary under test instead."""
    unit = tmp_path / "herald.service"
    unit.write_text((DEPLOY / "herald.service").read_text().replace("/usr/local/bin/herald", E2E_HERALD_BIN))
    checked = run("systemd-analyze", "verify", unit)
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), checked.stdout + checked.stderr


def test_systemd_unit_is_hardened_and_stops_after_herald_s_drain():
    # systemd's own exposure score (0 safest, 10 unprotected; --threshold counts tenths): the unit scores 1.2.
    checked = run("systemd-analyze", "security", "--offline=yes", "--threshold=20", DEPLOY / "herald.service")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    settings = dict(unit_settings())
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("PrivateDevices", "yes"), ("CapabilityBoundingSet", ""),
                       ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"), ("DynamicUser", "yes")]:
        assert settings.get(key) == value, key
    # The durable log goes to the state directory, the one place ProtectSystem=strict leaves writable.
    data_dir = dict(v.split("=", 1) for k, v in unit_settings() if k == "Environment")["HERALD_DATA_DIR"]
    assert data_dir.startswith(f'/var/lib/{settings["StateDirectory"]}/')
    assert int(settings["LimitNOFILE"]) >= 65536, "one descriptor per connection"
    # SIGTERM starts Herald's drain, and systemd waits longer than the drain may take before SIGKILL.
    config = json.loads((DEPLOY / "config.example.json").read_text())
    assert settings["ExecStart"].endswith("--config /etc/herald/config.json")
    assert settings["KillSignal"] == "SIGTERM" and seconds(settings["TimeoutStopSec"] + "s") > shutdown_timeout(config)
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"


# --- the compose configuration against a real broker --------------------------------------------------------

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
