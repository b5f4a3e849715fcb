"""GET /metrics: Prometheus text, read with the official Python client's parser, after real traffic: SDK
subscribers, API and client publications, a recovery, a durable write, an error, a limit and a violation."""
import asyncio
import tempfile
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from history_config import history_config, namespace
from test_history import recording_subscriber
from wsclient import RawClient, connected

CHANNELS = {"news:1", "orders:1", "plain-room"}


def scrape(server):
    status, body = server.request("GET", "/metrics")
    assert status == 200, body
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_metrics_count_what_happened(start_herald):
    workdir = Path(tempfile.mkdtemp(prefix="herald-metrics-"))
    config = history_config(workdir, namespace("news", allow_publish_for_client=True, allow_publish_for_anonymous=True),
                            namespace("orders", durable="os"), client={"channel_limit": 2})
    server = start_herald(config)

    async def scenario():
        subscribers = [await recording_subscriber(server, "news:1") for _ in range(3)]
        for n in range(5):
            assert server.api("publish", {"channel": "news:1", "data": {"n": n}})[0] == 200
        assert "result" in server.api("publish", {"channel": "orders:1", "data": {"durable": True}})[1]
        publisher = await connected(server.ws_url)
        assert "publish" in await publisher.call("publish", {"channel": "news:1", "data": {"n": 5}})
        assert (await publisher.call("history", {"channel": "nowhere:1"}))["error"]["code"] == 102
        await publisher.subscribe("plain-room")
        assert "subscribe" in await publisher.call("subscribe", {"channel": "news:2"})
        assert (await publisher.call("subscribe", {"channel": "news:3"}))["error"]["code"] == 106
        for _, _, recorder in subscribers:
            while len(recorder.publications) < 6:
                await asyncio.wait_for(recorder.arrived.wait(), 5)
                recorder.arrived.clear()
        # A subscriber that drops and comes back recovers what it missed.
        client, _, recorder = subscribers[0]
        await client.disconnect()
        server.api("publish", {"channel": "news:1", "data": {"n": 6}})
        await client.connect()
        while len(recorder.subscribes) < 2:
            await asyncio.sleep(0.05)
        violator = await RawClient.open(server.ws_url)
        await violator.send("not json")
        assert (await violator.closed())[0] == 3501
        return subscribers, publisher

    subscribers, publisher = asyncio.run(scenario())
    # Loops add what they delivered once a tick (every 200 ms).
    deadline = time.monotonic() + 3
    while (value(scrape(server), "herald_deliveries_total") or 0) < 3 * 7 and time.monotonic() < deadline:
        time.sleep(0.1)
    samples = scrape(server)

    assert value(samples, "herald_publications_total", source="api") == 7
    assert value(samples, "herald_publications_total", source="client") == 1
    assert value(samples, "herald_publications_total", source="kafka") == 0
    assert value(samples, "herald_deliveries_total") >= 3 * 7 - 1  # the reconnecting one got #7 by recovery
    assert value(samples, "herald_delivered_bytes_total") > 100
    assert value(samples, "herald_command_errors_total", code="102") == 1
    assert value(samples, "herald_command_errors_total", code="106") == 1
    assert value(samples, "herald_refused_total", kind="channel_limit") == 1
    assert value(samples, "herald_recoveries_total", outcome="recovered") >= 1
    assert value(samples, "herald_disconnects_total", code="3501") == 1
    assert value(samples, "herald_durable_appended_publications_total") == 1
    assert value(samples, "herald_durable_append_seconds_count") >= 1
    assert value(samples, "herald_durable_log_bytes") > 0
    assert value(samples, "herald_build_info", version=server.api("info", {})[1]["result"]["nodes"][0]["version"]) == 1
    assert value(samples, "herald_connections") == 4  # three SDK subscribers and the publisher
    assert value(samples, "herald_subscriptions") >= 5 and value(samples, "herald_channels") >= 3
    assert value(samples, "herald_queued_bytes") == 0, "nobody is behind"
    # Bounded cardinality: no label carries a channel name.
    assert not {label for (_, labels) in samples for (_, label) in labels} & CHANNELS


def test_metrics_content_type_help_and_no_key_needed(herald):
    conn_status, body = herald.request("GET", "/metrics")
    assert conn_status == 200 and b"# TYPE herald_connections gauge" in body
    families = list(text_string_to_metric_families(body.decode()))
    assert families and all(family.documentation for family in families), \
        [family.name for family in families if not family.documentation]
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", herald.port, timeout=5)
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    assert response.getheader("content-type").startswith("text/plain; version=0.0.4")
    connection.close()
