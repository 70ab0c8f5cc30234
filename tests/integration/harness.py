"""harness.py: what the broker integration tests drive: the agentbusd
process and its log, the REP agent processes, registry files, free ports and
the client-side helpers (plain zmq.REQ / DEALER, as users write them).

No test asserts on time. Every wait below is bounded by HANG_GUARD_S only so
that a broken broker fails a test instead of hanging CI.
"""
import http.client
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
import zmq

# Bound on any single wait (a reply, a log line, a process exit).
HANG_GUARD_S = 30.0
# Startup under ASan is slow; still bounded.
READY_WAIT_S = 20.0
# How often waits look again at a log file or a condition.
POLL_S = 0.02
# What sanitizers print when they find something: any of these fails a test.
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

HOST = "mainpc"
AGENT_SCRIPT = Path(__file__).with_name("agents.py")


def wait_until(cond, what, timeout=HANG_GUARD_S):
    """Poll cond() until it returns a true value, which is returned; fail
    with `what` when the hang guard runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL_S)


def free_port():
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct TCP ports nothing listens on right now (held together
    while the kernel picks them, so none is picked twice)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tcp_endpoint(port):
    return f"tcp://127.0.0.1:{port}"


def service(port, backends, host=HOST, **knobs):
    """One registry service entry; knobs are timeout_ms, max_inflight, ..."""
    return {"host": host, "port": port, "backends": list(backends), **knobs}


def link_port(taken):
    """A free port that is none of `taken` (the registry refuses a link
    port that is also a service port)."""
    while True:
        port = free_port()
        if port not in taken:
            return port


def host_entries(hosts, services=None, secrets=None):
    """Registry entries for these host names. With more than one host each
    gets a link on loopback and a fresh key pair, as the registry requires
    for hosts that serve the others; the secret keys go into `secrets`
    (host -> Z85 text) when given."""
    if len(hosts) < 2:
        return {h: {} for h in hosts}
    taken = {s.get("port") for s in (services or {}).values()}
    entries = {}
    for h in hosts:
        public, secret = zmq.curve_keypair()
        entries[h] = {"link": tcp_endpoint(link_port(taken)),
                      "public_key": public.decode()}
        if secrets is not None:
            secrets[h] = secret.decode()
    return entries


def write_key_file(path, host, public, secret):
    """A key file as `agentbus keygen` writes it (docs/links.md), mode 0600."""
    Path(path).write_text(f"host: {host}\npublic_key: {public}\n"
                          f"secret_key: {secret}\n")
    os.chmod(path, 0o600)


def write_registry(path, services, defaults=None, hosts=(HOST, "otherpc"),
                   host_doc=None):
    """Write a registry YAML file with these services (name -> entry);
    host_doc (from host_entries) keeps the hosts of an earlier write."""
    doc = {"hosts": host_doc or host_entries(hosts, services), "services": services}
    if defaults:
        doc["defaults"] = defaults
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False))


class Broker:
    """One agentbusd process, its registry file and its stderr log."""

    def __init__(self, exe, workdir, services, defaults=None, args=()):
        self.exe = exe
        self.registry = Path(workdir) / "registry.yaml"
        self.logfile = Path(workdir) / "agentbusd.log"
        self.args = list(args)
        self.workdir = Path(workdir)
        self.proc = None
        self.nofile = None  # (soft, hard) RLIMIT_NOFILE to start it with
        self.hosts = None   # host entries, kept across rewrites
        self.secrets = {}   # their secret keys
        self.rewrite(services, defaults)

    def rewrite(self, services, defaults=None):
        """Replace the registry file (takes effect on start or SIGHUP). The
        hosts stay as first written unless a service port now collides
        with a link port."""
        ports = {s.get("port") for s in services.values()}
        if self.hosts is None or any(
                int(h["link"].rsplit(":", 1)[1]) in ports
                for h in self.hosts.values() if "link" in h):
            self.hosts = host_entries((HOST, "otherpc"), services, self.secrets)
            for host, entry in self.hosts.items():
                write_key_file(self.keyfile(host), host, entry["public_key"],
                               self.secrets[host])
        write_registry(self.registry, services, defaults, host_doc=self.hosts)

    def keyfile(self, host):
        """The key file of host, written with the registry's hosts."""
        return self.workdir / f"{host}.key"

    def spawn(self, host=HOST):
        # Ports on loopback only: tests never listen on other interfaces.
        # The HTTP endpoint takes any free port unless the test chose one.
        http = [] if "--http" in self.args else ["--http", "127.0.0.1:0"]
        argv = [str(self.exe), "--registry", str(self.registry), "--host", host,
                "--bind", "127.0.0.1", "--link-bind", "127.0.0.1"] + http + self.args
        # Never push to a Redis the developer's shell names.
        env = {k: v for k, v in os.environ.items()
               if k not in ("AGENTBUS_REDIS", "AGENTBUS_HTTP", "AGENTBUS_REDIS_PASSWORD")}
        if self.keyfile(host).exists():
            argv += ["--secret-key", str(self.keyfile(host))]
        limits = None
        if self.nofile:
            nofile = self.nofile

            def limits():
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, env=env,
                                         preexec_fn=limits)

    def start(self, host=HOST):
        """Spawn and wait for the `ready` line."""
        self.spawn(host)
        self.wait_log(r"\bready host=", timeout=READY_WAIT_S)
        return self

    def run_to_exit(self, host=HOST):
        """Spawn and wait for the process to exit by itself (startup
        errors); returns the exit code."""
        self.spawn(host)
        return self.wait_exit()

    def log(self):
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def mark(self):
        """A position in the log: later waits can look only past it."""
        return len(self.log())

    def wait_log(self, pattern, since=0, timeout=HANG_GUARD_S):
        """The first match of pattern in the log past `since`. Fails early
        when the broker exits while we wait."""
        rx = re.compile(pattern)

        def look():
            m = rx.search(self.log(), since)
            if not m and self.proc.poll() is not None:
                raise AssertionError(
                    f"agentbusd exited ({self.proc.returncode}) before logging /{pattern}/")
            return m
        return wait_until(look, f"log line /{pattern}/", timeout)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stats(self, name):
        """Ask for stats (SIGUSR1) and return this service's counters."""
        since = self.mark()
        self.signal(signal.SIGUSR1)
        m = self.wait_log(rf"\bstats service={re.escape(name)} (.*)", since)
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}

    def wait_stats(self, name, cond, what):
        """Poll stats until cond(counters) holds; returns the counters."""
        def look():
            st = self.stats(name)
            return st if cond(st) else None
        return wait_until(look, f"stats of {name}: {what}")

    def http_port(self):
        """The port of the HTTP endpoint (from its `http listen=` line)."""
        return int(self.wait_log(r"\bhttp listen=\S+ port=(\d+)").group(1))

    def http(self, path, method="GET", timeout=HANG_GUARD_S):
        """(status, headers, body bytes) of one request to the endpoint."""
        return http_request(self.http_port(), path, method, timeout)

    def stats_json(self):
        status, _, body = self.http("/stats.json")
        assert status == 200, (status, body)
        return json.loads(body)

    def wait_stats_json(self, cond, what):
        """Poll /stats.json until cond(doc) holds; returns the document."""
        def look():
            doc = self.stats_json()
            return doc if cond(doc) else None
        return wait_until(look, f"/stats.json: {what}")

    def rss_kb(self):
        """Resident memory of the process (VmRSS, kB)."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))

    def wait_backends_up(self, n, since=0):
        """Wait until n `backend up` lines were logged past `since`."""
        wait_until(lambda: len(re.findall(r"\bbackend up ", self.log()[since:])) >= n,
                   f"{n} backends up")

    def wait_exit(self, timeout=HANG_GUARD_S):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"agentbusd did not exit within {timeout:.0f}s") from None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM and expect a clean exit (0); that is also when the leak
        checker of a sanitizer build runs."""
        self.signal(signal.SIGTERM)
        rc = self.wait_exit()
        assert rc == 0, f"agentbusd exited {rc} on SIGTERM"

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def sanitizer_reports(self):
        return [ln for ln in self.log().splitlines() if any(m in ln for m in SANITIZER_MARKS)]


class Agent:
    """One agents.py REP process; can be killed and started again with the
    same arguments (same endpoint)."""

    def __init__(self, workdir, port, tag=None, delay_ms=0, slow_prefix=None, monitor=False):
        self.port = port
        self.endpoint = tcp_endpoint(port)
        self.argv = [sys.executable, str(AGENT_SCRIPT), "--bind", self.endpoint]
        self.argv += ["--tag", tag] if tag else []
        self.argv += ["--delay-ms", str(delay_ms)] if delay_ms else []
        self.argv += ["--slow-prefix", slow_prefix] if slow_prefix else []
        self.argv += ["--monitor"] if monitor else []
        self.out = Path(workdir) / f"agent-{port}.out"
        self.proc = None

    def start(self):
        """Start the process and wait until its REP is bound."""
        self.out.write_text("")
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: "ready" in self.lines() or self.proc.poll() is not None,
                   f"agent on port {self.port}", READY_WAIT_S)
        assert self.proc.poll() is None, f"agent died: {self.out.read_text()}"
        return self

    def lines(self):
        return self.out.read_text().splitlines()

    def events(self):
        """Connection events seen by this run of the agent (--monitor)."""
        return [ln.split()[1] for ln in self.lines() if ln.startswith("event ")]

    def kill(self):
        """SIGKILL: the process dies without closing anything cleanly."""
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


class RouterBackend:
    """A backend written as a ROUTER (as some agents are), on a thread:
    it answers every request with reply(frames), where frames is what a
    REP would see: [id][""][body...]. For replies no REP can produce."""

    def __init__(self, zctx, reply):
        self.sock = zctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.reply = reply
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            if self.sock.poll(50):
                routing, *frames = self.sock.recv_multipart()
                self.sock.send_multipart([routing] + self.reply(frames))

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


# ---- HTTP ------------------------------------------------------------------

def http_request(port, path, method="GET", timeout=HANG_GUARD_S):
    """(status, headers dict, body bytes) of one request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def series(doc, kind, name):
    """The series of `kind` whose first label is `name` in a snapshot."""
    for s in doc.get(kind, []):
        if s.get(kind) == name:
            return s
    raise AssertionError(f"no {kind} {name!r} in {[s.get(kind) for s in doc.get(kind, [])]}")


# ---- clients -------------------------------------------------------------

def client_socket(ctx, kind, port, rcvtimeo_s=HANG_GUARD_S):
    """A REQ or DEALER connected to a service port. RCVTIMEO is a hang
    guard: zmq.Again from recv means the broker never answered."""
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, int(rcvtimeo_s * 1000))
    s.connect(tcp_endpoint(port))
    return s


def req_socket(ctx, port, **kw):
    return client_socket(ctx, zmq.REQ, port, **kw)


def dealer_socket(ctx, port, **kw):
    return client_socket(ctx, zmq.DEALER, port, **kw)


def recv_reply(sock):
    try:
        return sock.recv_multipart()
    except zmq.Again:
        raise AssertionError("no reply from the broker (hang guard)") from None


def roundtrip(sock, frames):
    """Send one request on a REQ socket and return the reply frames."""
    sock.send_multipart(frames)
    return recv_reply(sock)


def dealer_roundtrip(sock, frames):
    """Send [b"", *frames] on a DEALER and return the reply body frames,
    checking the empty delimiter a REP would have put back."""
    sock.send_multipart([b""] + list(frames))
    reply = recv_reply(sock)
    assert reply[:1] == [b""], f"reply lacks the empty delimiter: {reply!r}"
    return reply[1:]


def error_of(reply):
    """The parsed JSON error if reply is a broker error reply, else None."""
    if len(reply) != 1 or not reply[0].startswith(b"{"):
        return None
    try:
        doc = json.loads(reply[0])
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and doc.get("status") == "error" else None


def assert_error(reply, code, service_name):
    """reply is exactly one JSON error frame with this code and service."""
    err = error_of(reply)
    assert err is not None, f"expected a {code} error reply, got {reply!r}"
    assert set(err) == {"status", "error", "service", "message"}, err
    assert err["error"] == code, err
    assert err["service"] == service_name, err
    assert isinstance(err["message"], str) and err["message"], err
    return err


def tagged_echo_ok(reply, frames, tags):
    """reply is [tag, *frames] from one of the tagged echo agents; returns
    the tag, or None when it is anything else."""
    if len(reply) == len(frames) + 1 and reply[1:] == frames and reply[0] in tags:
        return reply[0]
    return None


def run_concurrently(fn, n):
    """fn(0) .. fn(n-1), each on its own thread; returns their results in
    order and re-raises the first failure."""
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, range(n)))


def unique_body(client, i):
    """A multi-frame body no other request of the test carries."""
    return [b"client-%d" % client, b"request-%d" % i, os.urandom(8)]
