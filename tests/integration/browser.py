"""browser.py: headless Chromium (Debian's chromium) driven over the
DevTools protocol, for the live page test: load a URL, evaluate
JavaScript, take a screenshot, and collect every uncaught page exception.

Waits are bounded by the harness hang guard; nothing here asserts on time.
"""
import base64
import json
import subprocess
import urllib.request

import websocket

from harness import HANG_GUARD_S, READY_WAIT_S, wait_until

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-allow-origins=*"]


class Browser:
    def __init__(self, workdir, width=1400, height=1000):
        self.profile = workdir / "chromium-profile"
        self.logfile = workdir / "chromium.log"
        self.exceptions = []
        self.next_id = 0
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a stale one names a dead browser
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(
                [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}",
                 f"--window-size={width},{height}", "about:blank"],
                stdout=log, stderr=log)
        wait_until(lambda: self._alive() and port_file.exists() and
                   port_file.read_text().count("\n") >= 1, "chromium's DevTools port",
                   READY_WAIT_S)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                                   timeout=HANG_GUARD_S))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"],
                                              timeout=HANG_GUARD_S)
        self.call("Runtime.enable")
        self.call("Page.enable")

    def _alive(self):
        assert self.proc.poll() is None, f"chromium exited: {self.logfile.read_text()[-2000:]}"
        return True

    def call(self, method, **params):
        """One DevTools command; its result (events meanwhile are noted)."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("method") == "Runtime.exceptionThrown":
                self.exceptions.append(msg["params"]["exceptionDetails"])
            if msg.get("id") == self.next_id:
                assert "error" not in msg, msg
                return msg["result"]

    def goto(self, url):
        self.call("Page.navigate", url=url)

    def eval(self, expr):
        """The value of a JavaScript expression (JSON-serialisable)."""
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        assert "exceptionDetails" not in r, r["exceptionDetails"]
        return r["result"].get("value")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(HANG_GUARD_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
