"""netns.py: "other hosts" for multi-host tests, made of Linux network
namespaces on this machine.

A Network is N namespaces (the hosts) joined by veth pairs to a bridge that
lives in one more namespace (the hub), so nothing touches the machine's own
network. Hosts get 198.18.0.1, 198.18.0.2, ... (198.18.0.0/15 is reserved
for benchmarking; every address stays inside the namespaces). Names carry
this process's pid and a counter, so parallel runs never collide, and
namespaces left by a run that was killed are swept by the next one.

    with Network(2) as net:
        a, b = net.hosts
        proc = a.popen(["agentbusd", ...], log=path)
        b.cut(); b.restore()               # pull and plug b's cable
        net.tcp_connections(a, b)          # established TCP a <-> b
        with net.capture(b) as cap: ...    # tcpdump on b's cable
        cap.data()                         # the pcap bytes

Everything needs root and iproute2's `ip netns`; conftest.py skips with a
clear reason when either is missing. Every process started in a namespace
is killed and every namespace deleted on close, whatever happened.
"""
import itertools
import os
import re
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

PREFIX = "ab"          # namespace names: ab<pid>n<k>h<i> and ab<pid>n<k>hub
SUBNET = "198.18.0"    # host i is SUBNET.(i + 1)/24
HANG_GUARD_S = 30.0    # bound on any wait here (a test failure, not a hang)
POLL_S = 0.02
_counter = itertools.count()


def available():
    """None when network namespaces can be used here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root: multi-host tests not run"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed: multi-host tests not run"
    r = subprocess.run(["ip", "netns", "list"], capture_output=True,
                       text=True, check=False)
    if r.returncode != 0:
        return f"`ip netns` does not work here ({r.stderr.strip()}): " \
               "multi-host tests not run"
    return None


def ip(*args, check=True):
    """Run `ip ARGS`; raises with ip's own message when it fails."""
    r = subprocess.run(["ip", *args], capture_output=True, text=True,
                       check=False, timeout=HANG_GUARD_S)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def sweep_stale():
    """Delete namespaces this module made in runs whose process is gone
    (a run killed with SIGKILL cannot clean up after itself)."""
    listed = ip("netns", "list", check=False).stdout
    for name in re.findall(rf"^({PREFIX}(\d+)n\d+\w*)", listed, re.M):
        ns, pid = name
        if not Path(f"/proc/{pid}").exists():
            ip("netns", "del", ns, check=False)


def wait_until(cond, what, timeout=HANG_GUARD_S):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL_S)


class Proc:
    """A process running inside a namespace, its output in a log file."""

    def __init__(self, argv, ns, log, env=None):
        self.argv, self.log_path = argv, Path(log)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv],
                                         stdin=subprocess.PIPE, stdout=out,
                                         stderr=out, env=env)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern, since=0):
        """The first match of pattern in the log past `since`; fails early
        when the process exits while we wait."""
        rx = re.compile(pattern)

        def look():
            m = rx.search(self.log(), since)
            if not m and self.proc.poll() is not None:
                raise AssertionError(f"{self.argv[0]} exited "
                                     f"({self.proc.returncode}) before "
                                     f"logging /{pattern}/:\n{self.log()}")
            return m
        return wait_until(look, f"/{pattern}/ in {self.log_path}")

    def running(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Signal the process and wait for it; returns its exit status."""
        if self.running():
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class Host:
    """One namespace on the bridge: its name, address and cable."""

    def __init__(self, net, index):
        self.net, self.index = net, index
        self.ns = f"{net.tag}h{index}"
        self.addr = f"{SUBNET}.{index + 1}"
        self.cable = f"vh{index}"  # the hub's end of this host's veth

    def attach(self):
        hub = self.net.hub
        ip("netns", "add", self.ns)
        ip("-n", hub, "link", "add", self.cable, "type", "veth", "peer",
           "name", "eth0", "netns", self.ns)
        ip("-n", hub, "link", "set", self.cable, "master", "br0", "up")
        ip("-n", self.ns, "addr", "add", f"{self.addr}/24", "dev", "eth0")
        ip("-n", self.ns, "link", "set", "eth0", "up")
        ip("-n", self.ns, "link", "set", "lo", "up")

    def popen(self, argv, log, env=None):
        """Start argv inside this host; it is killed when the network
        closes. Output goes to the file log."""
        p = Proc([str(a) for a in argv], self.ns, log, env)
        self.net.procs.append(p)
        return p

    def run(self, argv, **kw):
        """Run argv inside this host to completion (subprocess.run)."""
        kw.setdefault("timeout", HANG_GUARD_S)
        return subprocess.run(["ip", "netns", "exec", self.ns,
                               *[str(a) for a in argv]], **kw)

    def cut(self):
        """Pull this host's cable: its side stays up and keeps its
        connections, but nothing crosses until restore()."""
        ip("-n", self.net.hub, "link", "set", self.cable, "down")

    def restore(self):
        ip("-n", self.net.hub, "link", "set", self.cable, "up")


class Capture:
    """tcpdump on one host's cable, written to a pcap file; running once
    made, stopped by stop() or at the end of a with block."""

    def __init__(self, net, host, path):
        self.path = Path(path)
        self.proc = Proc(["tcpdump", "-i", host.cable, "-n", "-U", "-s", "0",
                          "--immediate-mode",
                          "-w", str(self.path), "tcp"],
                         net.hub, self.path.with_suffix(".log"))
        net.procs.append(self.proc)
        self.proc.wait_log(r"listening on")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.proc.stop(signal.SIGINT)  # tcpdump flushes and exits on SIGINT

    def data(self):
        return self.path.read_bytes() if self.path.exists() else b""

    def tcp_payloads(self, port):
        """The TCP payloads (bytes) of the captured packets from or to
        port, in order: IPv4 over Ethernet, as tcpdump writes them on a
        veth (pcap, link type 1)."""
        data, out = self.data(), []
        if len(data) < 24:
            return out
        endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
        at = 24
        while at + 16 <= len(data):
            incl = struct.unpack(endian + "I", data[at + 8:at + 12])[0]
            frame = data[at + 16:at + 16 + incl]
            at += 16 + incl
            if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
                continue
            ip = frame[14:]
            tcp = ip[(ip[0] & 0x0F) * 4:]
            sport, dport = struct.unpack(">HH", tcp[:4])
            if port in (sport, dport):
                out.append(tcp[(tcp[12] >> 4) * 4:])
        return out


class Network:
    """n hosts on one bridge; a context manager that always cleans up."""

    def __init__(self, n, workdir):
        self.tag = f"{PREFIX}{os.getpid()}n{next(_counter)}"
        self.hub = f"{self.tag}hub"
        self.workdir = Path(workdir)
        self.hosts = [Host(self, i) for i in range(n)]
        self.procs = []
        self.namespaces = []

    def __enter__(self):
        try:
            sweep_stale()
            ip("netns", "add", self.hub)
            self.namespaces.append(self.hub)
            ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
            ip("-n", self.hub, "link", "set", "br0", "up")
            for h in self.hosts:
                self.namespaces.append(h.ns)
                h.attach()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Kill what runs in the namespaces, then delete them (which
        destroys the veths and the bridge)."""
        for p in self.procs:
            p.stop(signal.SIGKILL)
        for ns in reversed(self.namespaces):
            ip("netns", "del", ns, check=False)
        self.namespaces = []

    def tcp_connections(self, a, b, port=None):
        """Established TCP connections in a whose peer is b (and whose
        either end is port, when given)."""
        flt = ["state", "established", "dst", b.addr]
        if port:
            flt += ["(", "sport", "=", f":{port}", "or", "dport", "=",
                    f":{port}", ")"]
        r = a.run(["ss", "-Htn", *flt], capture_output=True, text=True,
                  check=True)
        return len([ln for ln in r.stdout.splitlines() if ln.strip()])

    def capture(self, host, name="capture.pcap"):
        """Start capturing host's traffic (see Capture)."""
        return Capture(self, host, self.workdir / name)
