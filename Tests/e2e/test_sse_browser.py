"""Server-Sent Events in a real browser (headless Chromium): a page of Herald's own origin opens
`new EventSource('/connection/sse?channel=…')`, as a web page with no SDK would.

What the page's user sees: every publication arrives as a plain `message` event whose `data` is the JSON as
published and whose `lastEventId` is the stream position (`OFFSET:EPOCH`, the offset and epoch the publish
API answered); a page that comes back with `?since=` its last id gets exactly what it missed, in order, then
live publications, nothing twice; when the server restarts (durable history), the browser reconnects by
itself, sends its last id as Last-Event-ID and again misses nothing; a stream of several channels carries
one position per channel, comma separated in URL order (empty for a channel without history)."""
import json
import time
from urllib.parse import quote

import pytest
from prometheus_client.parser import text_string_to_metric_families
from selenium.webdriver.remote.command import Command
from selenium.webdriver.support.ui import WebDriverWait

from browser import Browser
from history_config import history_config, namespace

# Opens an EventSource named arguments[0] on URL arguments[1]; what it receives lands in
# window.streams[name].record, which the test reads back.
OPEN_STREAM = """
const [name, url] = arguments;
window.streams = window.streams || {};
const record = {open: false, errors: 0, messages: [], unrecovered: []};
const source = new EventSource(url);
source.onopen = () => { record.open = true; };
source.onerror = () => { record.errors += 1; record.open = false; };
source.onmessage = event => record.messages.push({data: event.data, id: event.lastEventId, type: event.type});
source.addEventListener("unrecovered", event => record.unrecovered.push(event.data));
window.streams[name] = {source, record};
"""


@pytest.fixture
def driver(tmp_path):
    with Browser(tmp_path) as driver:
        yield driver


def open_stream(driver, name, url):
    driver.execute_script(OPEN_STREAM, name, url)
    wait_for(driver, lambda d: record(d, name)["open"], f"{name} to open")


def record(driver, name):
    return driver.execute_script("return window.streams[arguments[0]].record", name)


def received(driver, name, count):
    """Waits until stream `name` has `count` messages and returns them."""
    wait_for(driver, lambda d: len(record(d, name)["messages"]) >= count, f"{count} messages on {name}")
    return record(driver, name)["messages"]


def wait_for(driver, condition, what, timeout=10):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)
    except Exception:
        streams = driver.execute_script("return Object.fromEntries(Object.entries(window.streams || {})"
                                        ".map(([name, stream]) => [name, stream.record]))")
        pytest.fail(f"timed out waiting for {what}; the page has: {streams}")


def publish(server, channel, data):
    status, body = server.api("publish", {"channel": channel, "data": data})
    assert status == 200 and "error" not in body, body
    return body["result"]


def message(data, event_id):
    """What the page records for one publication: its JSON as published (json.dumps, as conftest sends it)."""
    return {"data": json.dumps(data), "id": event_id, "type": "message"}


def recoveries(server):
    """herald_recoveries_total by outcome, from /metrics."""
    _, body = server.request("GET", "/metrics")
    return {sample.labels["outcome"]: sample.value for family in text_string_to_metric_families(body.decode())
            for sample in family.samples if sample.name == "herald_recoveries_total"}


def assert_page_clean(driver):
    """No script error in the page (HTTP statuses are logged as "network" and are not errors here)."""
    log = driver.execute(Command.GET_LOG, {"type": "browser"})["value"]
    errors = [entry for entry in log if entry["level"] == "SEVERE" and entry["source"] != "network"]
    assert errors == [], errors


def test_browser_event_source_gets_publications_with_positions_and_resumes_with_since(start_herald, tmp_path, driver):
    server = start_herald(history_config(tmp_path, namespace("hist")))
    driver.get(f"{server.http_base}/health")  # any page of Herald's origin: the stream is same-origin
    open_stream(driver, "live", "/connection/sse?channel=hist:news")

    results = [publish(server, "hist:news", {"n": n}) for n in (1, 2, 3)]
    epoch = results[0]["epoch"]
    assert [(r["offset"], r["epoch"]) for r in results] == [(1, epoch), (2, epoch), (3, epoch)]
    assert received(driver, "live", 3) == [message({"n": n}, f"{n}:{epoch}") for n in (1, 2, 3)]

    # The page goes away; two publications happen meanwhile; it comes back with ?since= its last id.
    driver.execute_script("window.streams.live.source.close()")
    last_id = record(driver, "live")["messages"][-1]["id"]
    for n in (4, 5):
        publish(server, "hist:news", {"n": n})
    open_stream(driver, "resumed", f"/connection/sse?channel=hist:news&since={quote(last_id, safe='')}")
    assert received(driver, "resumed", 2) == [message({"n": n}, f"{n}:{epoch}") for n in (4, 5)]
    publish(server, "hist:news", {"n": 6})  # and then live
    assert received(driver, "resumed", 3)[2] == message({"n": 6}, f"6:{epoch}")

    time.sleep(0.5)  # nothing more arrives: no duplicate, and the closed stream got nothing after its close
    resumed, live = record(driver, "resumed"), record(driver, "live")
    assert resumed["messages"] == [message({"n": n}, f"{n}:{epoch}") for n in (4, 5, 6)]
    assert resumed["unrecovered"] == [] and resumed["errors"] == 0
    assert len(live["messages"]) == 3 and live["errors"] == 0
    assert_page_clean(driver)


def test_browser_reconnects_by_itself_after_a_restart_and_misses_nothing(start_herald, tmp_path, driver):
    config = history_config(tmp_path, namespace("hist", durable="fsync"))  # history outlives a restart
    server = start_herald(config)
    driver.get(f"{server.http_base}/health")
    open_stream(driver, "page", "/connection/sse?channel=hist:news")
    epoch = publish(server, "hist:news", {"n": 1})["epoch"]
    publish(server, "hist:news", {"n": 2})
    assert received(driver, "page", 2) == [message({"n": n}, f"{n}:{epoch}") for n in (1, 2)]

    assert server.stop() == 0  # the stream ends; the page's EventSource tries again on its own (after ~3 s)
    wait_for(driver, lambda d: record(d, "page")["errors"] == 1, "the page to see its stream end")
    server = start_herald(config, port=server.port, workdir=server.workdir)
    publish(server, "hist:news", {"n": 3})  # most likely before the page is back: it gets it from history
    wait_for(driver, lambda d: record(d, "page")["open"], "the page's EventSource to reconnect")
    publish(server, "hist:news", {"n": 4})  # live
    assert received(driver, "page", 4) == [message({"n": n}, f"{n}:{epoch}") for n in (1, 2, 3, 4)]
    # The reconnect sent Last-Event-ID (2:EPOCH) and Herald resumed from it, whichever way 3 arrived.
    assert recoveries(server) == {"recovered": 1}  # (an outcome never seen has no sample)

    time.sleep(0.5)
    page = record(driver, "page")
    assert len(page["messages"]) == 4 and page["unrecovered"] == [] and page["errors"] == 1  # one drop
    assert_page_clean(driver)


def test_browser_event_source_of_two_channels_carries_a_position_per_channel(start_herald, tmp_path, driver):
    server = start_herald(history_config(tmp_path, namespace("hist")))
    driver.get(f"{server.http_base}/health")
    # hist:news keeps history; plainchan (no namespace) does not, so its place in the id stays empty.
    open_stream(driver, "both", "/connection/sse?channel=hist:news&channel=plainchan")

    publish(server, "plainchan", {"plain": 1})  # before hist:news has any publication: its offset is 0
    epoch = publish(server, "hist:news", {"news": 1})["epoch"]
    publish(server, "plainchan", {"plain": 2})
    publish(server, "hist:news", {"news": 2})
    assert received(driver, "both", 4) == [
        message({"plain": 1}, f"0:{epoch},"),
        message({"news": 1}, f"1:{epoch},"),
        message({"plain": 2}, f"1:{epoch},"),
        message({"news": 2}, f"2:{epoch},"),
    ]
    time.sleep(0.5)
    both = record(driver, "both")
    assert len(both["messages"]) == 4 and both["unrecovered"] == [] and both["errors"] == 0
    assert_page_clean(driver)
