"""test_stats_cli.py: `agentbus top`, `agentbus stats` and `agentbus
health` against a real broker. top runs in a real terminal (a tmux pane
80x24 on a private tmux server): it shows the services, refreshes in place,
and exits cleanly on q and on Ctrl-C, leaving the terminal as it was."""
import json
import os
import subprocess

import pytest

from harness import (HANG_GUARD_S, free_port, free_ports, req_socket, roundtrip, service,
                     wait_until)


def run(argv, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("AGENTBUS_HTTP",)}
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=HANG_GUARD_S, env=env, **kw)


def loaded_broker(make_broker, make_agent, zctx):
    svcs = {"summarizer": service(free_port(), [make_agent(delay_ms=20).endpoint]),
            "retriever": service(free_port(), [make_agent().endpoint])}
    broker = make_broker(svcs, args=["--stats-interval", "200"])
    broker.wait_backends_up(2)
    for name, n in (("summarizer", 5), ("retriever", 30)):
        s = req_socket(zctx, svcs[name]["port"])
        for _ in range(n):
            assert roundtrip(s, [b"q"]) == [b"q"]
        s.close()
    broker.wait_stats_json(lambda d: all(s["latency_p50_us"] > 0 for s in d["service"]),
                           "latencies in the window")
    return broker


def test_stats_table_and_json(make_broker, make_agent, zctx, agentbus):
    broker = loaded_broker(make_broker, make_agent, zctx)
    addr = f"127.0.0.1:{broker.http_port()}"
    r = run([agentbus, "stats", "--http", addr])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert all(len(ln) <= 80 for ln in lines), lines
    assert lines[0].startswith("agentbus mainpc ") and "ready" in lines[0]
    rows = {ln.split()[0]: ln.split() for ln in lines[3:]}
    assert set(rows) == {"summarizer", "retriever"}
    assert lines[3].startswith("summarizer")  # sorted by p99, slowest first
    assert rows["summarizer"][3].endswith("ms")  # p50 of a 20 ms agent
    r = run([agentbus, "stats", "--http", addr, "--json"])
    doc = json.loads(r.stdout)
    svc = {s["service"]: s for s in doc["hosts"][0]["service"]}
    assert svc["retriever"]["requests"] == 30 and svc["summarizer"]["requests"] == 5
    r = run([agentbus, "stats", "--http", f"127.0.0.1:{free_port()}"])
    assert r.returncode == 1 and "cannot connect" in r.stderr


def test_health_exit_codes(make_broker, agentbus):
    broker = make_broker({})
    addr = f"127.0.0.1:{broker.http_port()}"
    r = run([agentbus, "health", "--http", addr])
    assert r.returncode == 0 and r.stdout.startswith("healthy"), r
    r = run([agentbus, "health", "--http", addr, "--ready"])
    assert r.returncode == 0 and "ready" in r.stdout, r
    # The environment names the endpoint when --http is not given.
    r = subprocess.run([str(agentbus), "health"], capture_output=True, text=True,
                       timeout=HANG_GUARD_S, env={**os.environ, "AGENTBUS_HTTP": addr})
    assert r.returncode == 0, r
    broker.stop()
    r = run([agentbus, "health", "--http", addr, "--timeout-ms", "2000"])
    assert r.returncode == 1 and r.stdout.startswith("unhealthy"), r
    assert run([agentbus, "health", "--bogus"]).returncode == 2


class Tmux:
    """A private tmux server (its own socket) with one 80x24 pane."""

    def __init__(self, tmp_path):
        self.sock = str(tmp_path / "tmux.sock")
        self.status_file = tmp_path / "exit-status"

    def cmd(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True,
                              text=True, timeout=HANG_GUARD_S, check=True).stdout

    def start(self, argv):
        """Run argv in the pane; its exit status lands in status_file (tmux's
        own pane_dead_status is filled in late, or not at all). The shell
        leaves Ctrl-C to the program: it ignores SIGINT, which the program
        overrides with its own handler."""
        script = 'trap "" INT; "$@"; echo $? > "$0"'
        self.cmd("new-session", "-d", "-s", "t", "-x", "80", "-y", "24", "sh", "-c", script,
                 str(self.status_file), *(str(a) for a in argv))
        self.cmd("set-option", "-t", "t", "remain-on-exit", "on")

    def screen(self):
        return self.cmd("capture-pane", "-p", "-t", "t")

    def exit_status(self):
        """None while the program runs, else its exit status."""
        text = self.status_file.read_text() if self.status_file.exists() else ""
        return int(text) if text.endswith("\n") else None

    def kill(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True,
                       timeout=HANG_GUARD_S)


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    yield t
    t.kill()


@pytest.mark.parametrize("key", ["q", "C-c"])
def test_top_in_a_terminal(make_broker, make_agent, zctx, agentbus, tmux, key):
    broker = loaded_broker(make_broker, make_agent, zctx)
    tmux.start([agentbus, "top", "--http", f"127.0.0.1:{broker.http_port()}",
                "--interval", "300"])
    screen = wait_until(lambda: (lambda s: s if "summarizer" in s and "retriever" in s
                                 else None)(tmux.screen()), "top showing both services")
    assert "SERVICE" in screen and "REQ/S" in screen and "P99" in screen
    assert "q quit" in screen
    # It refreshes in place: the clock in the title moves, the table stays put.
    first = screen.splitlines()[0]
    wait_until(lambda: tmux.screen().splitlines()[0] != first, "a refresh")
    assert tmux.screen().count("SERVICE") == 1
    tmux.cmd("send-keys", "-t", "t", key)
    assert wait_until(lambda: tmux.exit_status() is not None, "top to exit")
    assert tmux.exit_status() == 0
    # The alternate screen is gone: the table is no longer on the terminal.
    assert "summarizer" not in tmux.screen()


def test_top_needs_a_terminal(agentbus):
    r = run([agentbus, "top"], stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "needs a terminal" in r.stderr


def test_stats_of_a_fleet_from_redis(make_broker, make_agent, zctx, agentbus, redis_server):
    """Two brokers (hosts mainpc and otherpc) push to one Redis; `agentbus
    stats --redis` shows both, with a HOST column."""
    ports = free_ports(2)
    args = ["--stats-interval", "200", "--redis", redis_server.url()]
    a = make_broker({"ingest": service(ports[0], [make_agent().endpoint])}, args=args)
    b = make_broker({"render": service(ports[1], [make_agent().endpoint], host="otherpc")},
                    args=args, start=False)
    b.start(host="otherpc")
    for broker, name, port in ((a, "ingest", ports[0]), (b, "render", ports[1])):
        broker.wait_backends_up(1)
        s = req_socket(zctx, port)
        assert roundtrip(s, [b"x"]) == [b"x"]
        s.close()

    def both():
        r = run([agentbus, "stats", "--redis", redis_server.url(), "--json"])
        doc = json.loads(r.stdout) if r.returncode == 0 else {"hosts": []}
        hosts = {h["host"]: h for h in doc["hosts"]}
        done = {h: sum(s["replies"] for s in hosts[h]["service"]) for h in hosts}
        return hosts if done == {"mainpc": 1, "otherpc": 1} else None
    hosts = wait_until(both, "both hosts' snapshots in Redis")
    assert [s["service"] for s in hosts["otherpc"]["service"]] == ["render"]
    r = run([agentbus, "stats", "--redis", redis_server.url()])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("agentbus fleet | 2 hosts")
    assert lines[2].split()[:2] == ["HOST", "SERVICE"]
    rows = {tuple(ln.split()[:2]) for ln in lines[3:]}
    assert rows == {("mainpc", "ingest"), ("otherpc", "render")}
    assert all(len(ln) <= 80 for ln in lines)
