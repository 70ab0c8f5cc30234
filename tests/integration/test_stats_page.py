"""test_stats_page.py: the live page at / in headless Chromium, against a
broker carrying real traffic: it renders every service, draws p50/p99 and
rate charts from live data, raises no JavaScript error, and keeps working
with 300 services. The screenshot is kept as a CI artifact
($AGENTBUS_BUILD/artifacts/stats-page.png)."""
import json
import threading

import pytest

from browser import Browser
from harness import free_ports, req_socket, roundtrip, service, wait_until


class Traffic:
    """One REQ client per service port, looping until stopped."""

    def __init__(self, zctx, ports):
        self.stop = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(zctx, p)) for p in ports]
        for t in self.threads:
            t.start()

    def run(self, zctx, port):
        s = req_socket(zctx, port)
        try:
            while not self.stop.is_set():
                if roundtrip(s, [b"page"]) != [b"page"]:
                    self.errors.append(port)
        finally:
            s.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        assert not self.errors


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path)
    yield b
    b.close()


def test_page_renders_live_charts(make_broker, make_agent, zctx, browser, artifacts):
    delays = {"embeddings": 0, "translation": 5, "planner": 30}
    ports = free_ports(len(delays))
    svcs = {name: service(ports[i], [make_agent(delay_ms=d).endpoint])
            for i, (name, d) in enumerate(delays.items())}
    broker = make_broker(svcs, args=["--stats-interval", "200"])
    broker.wait_backends_up(len(svcs))
    traffic = Traffic(zctx, [s["port"] for s in svcs.values()])
    try:
        browser.goto(f"http://127.0.0.1:{broker.http_port()}/")
        # The detail charts follow the busiest service; several points each.
        wait_until(lambda: browser.eval(
            "+(document.querySelector('#c-lat canvas')?.dataset.p99 || 0) >= 4 && "
            "+(document.querySelector('#c-rate canvas')?.dataset.rps || 0) >= 4"),
            "the latency and rate charts drawn with live points")
        browser.eval("document.querySelector('#svc-rows tr[data-service=planner]').click()")
        wait_until(lambda: browser.eval(
            "document.getElementById('sel-name').textContent === 'planner' && "
            "+document.querySelector('#c-lat canvas').dataset.p99 >= 2"), "planner's charts")
        page = browser.eval("""JSON.stringify({
            rows: [...document.querySelectorAll('#svc-rows tr')].map(tr =>
                [tr.dataset.service, tr.children[3].textContent]),
            ready: document.getElementById('ready').textContent,
            host: document.getElementById('host').textContent,
            backends: document.querySelectorAll('#be-rows tr').length,
            links: document.getElementById('link-empty').hidden})""")
        browser.screenshot(artifacts / "stats-page.png")
    finally:
        traffic.finish()
    page = json.loads(page)
    rows = dict(page["rows"])
    assert set(rows) == set(delays), page
    assert rows["planner"].endswith(" ms") and float(rows["planner"].split()[0]) >= 30, rows
    assert page["ready"] == "ready" and "mainpc" in page["host"]
    assert page["backends"] == 1 and page["links"] is False  # no links: the empty note shows
    assert not browser.exceptions, browser.exceptions
    png = (artifacts / "stats-page.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20000


def test_page_with_300_services(make_broker, browser):
    ports = free_ports(300)
    svcs = {f"agent-{i:03d}": service(p, ["tcp://127.0.0.1:9"], host="otherpc")
            for i, p in enumerate(ports)}
    broker = make_broker(svcs, args=["--stats-interval", "200"])
    browser.goto(f"http://127.0.0.1:{broker.http_port()}/")
    wait_until(lambda: browser.eval("document.querySelectorAll('#svc-rows tr').length") == 300,
               "300 service rows")
    wait_until(lambda: browser.eval("+(document.body?.dataset.polls || 0)") >= 3, "3 polls")
    browser.eval("""(() => { const f = document.getElementById('filter');
        f.value = 'agent-29'; f.dispatchEvent(new Event('input')); })()""")
    shown = browser.eval("[...document.querySelectorAll('#svc-rows tr')].map(t => t.dataset.service)")
    assert sorted(shown) == [f"agent-29{i}" for i in range(10)], shown
    assert not browser.exceptions, browser.exceptions
