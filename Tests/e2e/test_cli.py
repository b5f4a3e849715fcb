"""The `herald` command's subcommands, as a shell user runs them."""
import json
import selectors
import signal
import subprocess
import time

from conftest import API_KEY, E2E_HERALD_BIN, Herald, base_config, free_port


def herald_cli(*args, timeout=10):
    return subprocess.run([E2E_HERALD_BIN, *args], capture_output=True, text=True, timeout=timeout)


def read_line(process, timeout=5):
    """The next line `process` writes to stdout, waiting at most `timeout` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout), f"no output from {process.args[1]} within {timeout}s"
    return process.stdout.readline().rstrip("\n")


def test_publish_and_subscribe_commands(start_herald):
    server = start_herald(base_config())
    subscriber = subprocess.Popen(
        [E2E_HERALD_BIN, "subscribe", "news", "--url", server.ws_url],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    try:
        deadline = time.monotonic() + 10
        while server.api("channels", {})[1]["result"]["channels"] == {}:  # wait for the subscription
            assert time.monotonic() < deadline, "herald subscribe did not subscribe"
            time.sleep(0.05)
        published = herald_cli("publish", "news", '{"text": "from the cli"}', "--api", server.http_base,
                               "--api-key", API_KEY)
        assert published.returncode == 0, published.stderr
        assert json.loads(published.stdout) == {"result": {}}
        assert read_line(subscriber) == '{"text": "from the cli"}'
        bare = herald_cli("publish", "news", "plain words", "--api", server.http_base, "--api-key", API_KEY)
        assert bare.returncode == 0
        assert read_line(subscriber) == '"plain words"'
        server.api("publish", {"channel": "news", "data": [1, {"a": None}]})
        assert json.loads(read_line(subscriber)) == [1, {"a": None}]
        refused = herald_cli("publish", "news", "1", "--api", server.http_base, "--api-key", "wrong")
        assert refused.returncode != 0
    finally:
        subscriber.send_signal(signal.SIGTERM)
        try:
            subscriber.wait(5)
        except subprocess.TimeoutExpired:
            subscriber.kill()
            subscriber.wait()
            raise AssertionError("herald subscribe ignored SIGTERM")


def test_publish_needs_no_key_in_development_mode(start_herald):
    server = start_herald(None)
    published = herald_cli("publish", "news", "[1, 2]", "--api", server.http_base)
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout) == {"result": {}}
    unreachable = herald_cli("publish", "news", "1", "--api", f"http://127.0.0.1:{free_port()}")
    assert unreachable.returncode != 0 and unreachable.stderr.strip(), "no error for an unreachable server"


def test_genconfig_checkconfig_and_serve(tmp_path):
    path = tmp_path / "config.json"
    generated = herald_cli("genconfig", "-o", str(path))
    assert generated.returncode == 0, generated.stderr
    config = json.loads(path.read_text())
    assert len(config["http_api"]["key"]) >= 32 and len(config["client"]["token"]["hmac_secret_key"]) >= 32
    assert herald_cli("genconfig", "-o", str(path)).returncode != 0, "genconfig must not overwrite silently"
    checked = herald_cli("checkconfig", "--config", str(path))
    assert checked.returncode == 0 and "configuration OK" in checked.stderr
    server = Herald(path)  # the generated file itself
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
    wrong_type = tmp_path / "wrong_type.json"
    wrong_type.write_text(json.dumps({"client": {"channel_limit": "many"}}))
    result = herald_cli("checkconfig", "--config", str(wrong_type))
    assert result.returncode != 0 and "client.channel_limit" in result.stderr
    not_json = tmp_path / "not_json.json"
    not_json.write_text('{"client": ')
    assert herald_cli("checkconfig", "--config", str(not_json)).returncode != 0


def test_serve_refuses_a_broken_config(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"client": {"ping_interval": "1s", "pong_timeout": "2s"}}))
    result = herald_cli("serve", "--config", str(broken), "--port", str(free_port()), "--address", "127.0.0.1")
    assert result.returncode != 0
    assert "client.pong_timeout" in result.stderr


def test_serve_on_a_busy_port_fails_loudly(herald):
    result = herald_cli("serve", "--port", str(herald.port), "--address", "127.0.0.1")
    assert result.returncode != 0
    assert "Address already in use" in result.stderr


def test_version():
    result = herald_cli("version")
    assert result.returncode == 0 and result.stdout.startswith("herald ")
