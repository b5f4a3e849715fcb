"""The admin console in a real browser (headless Chromium): log in through the form, watch the figures follow
what the test does (connections, subscribers per channel, the publication rate and its chart), subscribe in
the console to a channel nobody may subscribe to, publish from the page and through the API, and see both
arrive. A screenshot is kept as test-artifacts/admin-console.png."""
import json
import threading
from contextlib import ExitStack

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.command import Command
from selenium.webdriver.support.ui import WebDriverWait
from websockets.sync.client import connect as ws_connect

from browser import Browser
from conftest import ARTIFACTS
from test_admin import PASSWORD, admin_config

SCREENSHOT = ARTIFACTS / "admin-console.png"


@pytest.fixture
def driver(tmp_path):
    with Browser(tmp_path) as driver:
        yield driver


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def wait_for(driver, condition, what, timeout=10):
    """Waits until `condition(driver)` is truthy; fails naming `what` and showing the page's figures."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)
    except Exception:
        pytest.fail(f"timed out waiting for {what}; page shows: {driver.find_element(By.TAG_NAME, 'body').text}")


def submit(driver, form_id, **fields):
    for field_id, value in fields.items():
        field = driver.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]").click()


def subscribe(server, channel, clients):
    """Opens a raw protocol client (closed with `clients`) subscribed to `channel`: anonymous, as base_config
    allows channels without a namespace. It reads nothing after the subscribe, so its queue has no bound: a
    full one would stop it reading the server's close frame, and closing would wait for its timeout."""
    ws = clients.enter_context(ws_connect(server.ws_url, max_queue=None))
    ws.send('{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"%s"}}' % channel)
    replies = []
    while len(replies) < 2:
        replies += [json.loads(line) for line in ws.recv(timeout=5).split("\n") if line]
    assert "subscribe" in replies[1], replies


def test_console_shows_live_figures_and_receives_a_publication(start_herald, driver):
    server = start_herald(admin_config())
    clients = ExitStack()
    publishing = threading.Event()
    publisher = None
    try:
        driver.get(f"{server.http_base}/admin")
        wait_for(driver, lambda d: d.find_element(By.ID, "login").is_displayed(), "the login form")
        submit(driver, "login", password="not the password")
        wait_for(driver, lambda d: text(d, "login-error") == "Wrong password.", "the wrong password to be refused")
        submit(driver, "login", password=PASSWORD)
        wait_for(driver, lambda d: d.find_element(By.ID, "console").is_displayed(), "the console after logging in")
        assert not driver.find_element(By.ID, "login").is_displayed()
        wait_for(driver, lambda d: text(d, "connections") == "0", "the connection count (0)")
        assert text(driver, "nodes").split()[0] == server.api("info", {})[1]["result"]["nodes"][0]["name"]

        # Live figures follow what happens: three subscribers of `news` ...
        for _ in range(3):
            subscribe(server, "news", clients)
        wait_for(driver, lambda d: text(d, "connections") == "3", "3 connections")
        wait_for(driver, lambda d: text(d, "channels") == "news 3", "news with 3 subscribers among the top channels")

        # ... and publications: a steady 20 a second for the rate and the chart.
        def publish():
            while not publishing.wait(0.05):
                server.api("publish", {"channel": "news", "data": {"tick": True}})
        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        wait_for(driver, lambda d: float(text(d, "rate-publications") or 0) >= 5, "a publication rate")
        wait_for(driver, lambda d: float(text(d, "rate-deliveries") or 0) >= 15, "a delivery rate (3 per publication)")
        chart = driver.find_element(By.ID, "line-publications").get_attribute("points")
        assert min(float(point.split(",")[1]) for point in chart.split()) < 100, f"a flat chart: {chart}"
        publishing.set()
        publisher.join()
        assert int(text(driver, "publications-total")) > 0

        # The console: subscribe where nobody may (`locked` allows nothing) and see publications arrive.
        submit(driver, "subscribe-form", **{"subscribe-channel": "locked:room"})
        wait_for(driver, lambda d: text(d, "socket-status") == "subscribed to locked:room", "the console's subscribe")
        assert driver.find_element(By.ID, "publish-channel").get_attribute("value") == "locked:room"
        submit(driver, "publish-form", **{"publish-data": '{"text":"from the page"}'})
        wait_for(driver, lambda d: text(d, "publish-status") == "published", "the page's publish to be answered")
        wait_for(driver, lambda d: '{"text":"from the page"}' in text(d, "console-log"), "the page's publication")
        status, _ = server.api("publish", {"channel": "locked:room", "data": {"text": "from the API"}})
        assert status == 200
        wait_for(driver, lambda d: '{"text":"from the API"}' in text(d, "console-log"), "the API's publication")
        log = text(driver, "console-log").split("\n")
        assert "locked:room" in log[0] and log[0].endswith('{"text":"from the API"}'), log

        # Nothing went wrong in the page: no script error, nothing the content security policy blocked. (HTTP
        # statuses are logged too, as "network": the login's 401s, the favicon's 404; the checks above see those.)
        log = driver.execute(Command.GET_LOG, {"type": "browser"})["value"]
        errors = [entry for entry in log if entry["level"] == "SEVERE" and entry["source"] != "network"]
        assert errors == [], errors
    finally:
        publishing.set()
        if publisher:
            publisher.join()
        clients.close()
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(SCREENSHOT))
