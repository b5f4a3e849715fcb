"""The `herald` command's subcommands, as a shell user runs them."""
import json
import signal
import subprocess
import time

from conftest import API_KEY, E2E_HERALD_BIN, Herald, base_config


def herald_cli(*args, timeout=10):
    return subprocess.run([E2E_HERALD_BIN, *args], capture_output=True, text=True, timeout=timeout)


def test_publish_and_subscribe_commands(start_herald):
    server = start_herald(base_config())
    subscriber = subprocess.Popen(
        [E2E_HERALD_BIN, "subscribe", "news", "--url", server.ws_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while server.api("channels", {})[1]["result"]["channels"] == {}:  # wait for the subscription
            assert time.monotonic() < deadline, "herald subscribe did not subscribe"
            time.sleep(0.05)
        published = herald_cli("publish", "news", '{"text": "from the cli"}', "--api", server.http_base,
                               "--api-key", API_KEY)
        assert published.returncode == 0, published.stderr
        assert json.loads(published.stdout) == {"result": {}}
        assert subscriber.stdout.readline().strip() == '{"text": "from the cli"}'
        bare = herald_cli("publish", "news", "plain words", "--api", server.http_base, "--api-key", API_KEY)
        assert bare.returncode == 0
        assert subscriber.stdout.readline().strip() == '"plain words"'
        refused = herald_cli("publish", "news", "1", "--api", server.http_base, "--api-key", "wrong")
        assert refused.returncode != 0
    finally:
        subscriber.send_signal(signal.SIGTERM)
        subscriber.wait(5)


def test_genconfig_checkconfig_and_serve(tmp_path):
    path = tmp_path / "config.json"
    generated = herald_cli("genconfig", "-o", str(path))
    assert generated.returncode == 0, generated.stderr
    config = json.loads(path.read_text())
    assert len(config["http_api"]["key"]) >= 32 and len(config["client"]["token"]["hmac_secret_key"]) >= 32
    assert herald_cli("genconfig", "-o", str(path)).returncode != 0, "genconfig must not overwrite silently"
    checked = herald_cli("checkconfig", "--config", str(path))
    assert checked.returncode == 0 and "configuration OK" in checked.stderr
    server = Herald(json.loads(path.read_text()))
    try:
        assert server.api("info", {}, key=config["http_api"]["key"])[0] == 200
        assert server.api("info", {}, key="guess")[0] == 401
    finally:
        assert server.stop() == 0


def test_checkconfig_names_the_broken_key(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("client:\n  ping_interval: soon\n")
    result = herald_cli("checkconfig", "--config", str(broken))
    assert result.returncode != 0
    assert "client.ping_interval" in result.stderr
    namespaces = tmp_path / "namespaces.json"
    namespaces.write_text(json.dumps({"channel": {"namespaces": [{"name": "a b"}]}}))
    result = herald_cli("checkconfig", "--config", str(namespaces))
    assert result.returncode != 0 and "channel.namespaces[0].name" in result.stderr


def test_version():
    result = herald_cli("version")
    assert result.returncode == 0 and result.stdout.startswith("herald ")
