"""Headless Chromium for the end-to-end tests: Debian's `chromium` driven with Selenium through Debian's
`chromedriver` (`make test-deps` installs both). The harness starts chromedriver itself, so it knows its PID
and the kernel kills it if pytest dies, and on the way out stops chromedriver, Chromium and every process
Chromium started, by PID, whether the test passed or not."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from selenium import webdriver

from conftest import die_with_parent, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def start_time(pid):
    """The process's start time (in clock ticks since boot), which tells it from a later one given its PID;
    None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def descendants(pid):
    """Every process below `pid` as (pid, start time), read from /proc."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop(0)
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
            found += [(child, start_time(child)) for child in children]
            queue += children
    return found


class Browser:
    """`with Browser(workdir) as driver:` a Selenium driver of a fresh headless Chromium (its own profile in
    `workdir`, the browser's console log kept), gone with every process it started at the end."""

    def __init__(self, workdir, width=1280, height=1100):
        for binary in (CHROMIUM, CHROMEDRIVER):
            assert os.path.exists(binary), f"{binary} is missing: `make test-deps` installs chromium and chromium-driver"
        self.workdir = Path(workdir)
        self.size = (width, height)
        self.driver = None
        self.chromedriver = None

    def __enter__(self):
        port = free_port()
        self.log = open(self.workdir / "chromedriver.log", "ab")
        self.chromedriver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=self.log,
                                             stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        try:
            self._wait_listening(port)
            options = webdriver.ChromeOptions()
            options.binary_location = CHROMIUM
            # As root Chromium runs only without its sandbox; /dev/shm may be small in containers.
            for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                             f"--window-size={self.size[0]},{self.size[1]}",
                             f"--user-data-dir={self.workdir / 'chromium-profile'}"]:
                options.add_argument(argument)
            options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
            # Remote to the chromedriver started above: Selenium starts nothing itself (no Selenium Manager).
            self.driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
        except BaseException:
            self.__exit__()
            raise
        return self.driver

    def _wait_listening(self, port, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.chromedriver.poll() is None, f"chromedriver exited with {self.chromedriver.returncode}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"chromedriver did not listen on {port} in {timeout}s")

    def __exit__(self, *exc):
        started = descendants(self.chromedriver.pid)  # Chromium and its helpers, before they are reparented
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:
                pass  # the kill below still ends it
        for pid, started_at in started:
            if started_at is not None and start_time(pid) == started_at:  # still that process, not a PID reused
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass  # it ended meanwhile
        self.chromedriver.kill()
        self.chromedriver.wait()
        self.log.close()
