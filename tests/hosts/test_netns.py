"""test_netns.py: the multi-host harness (netns.py) proven on today's
broker. Two hosts in network namespaces each run agentbusd with its own REP
agent; a pyzmq client on one host calls the other host's broker directly
(what agents do today without links). The tests also show that the
harness can count the TCP connections between hosts, cut and restore a
host's cable with traffic recovering, capture a host's traffic, and leaves
nothing behind."""
import re
import subprocess
from pathlib import Path

import yaml
import zmq

import netns

PY = "/usr/bin/python3"
HERE = Path(__file__).resolve().parent
AGENTS = HERE.parent / "integration" / "agents.py"
CLIENT = HERE / "nsclient.py"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
# Each namespace has its own ports, so fixed numbers cannot collide.
PORTS = {"alpha": 5581, "beta": 5582}
AGENT_PORT = 15580
LINK_PORT = 7700


def write_registry(path, hosts):
    """Both hosts with links and keys (a key file per host beside the
    registry); each hosts one service."""
    doc = {"hosts": {}, "services": {}}
    for name, host in hosts.items():
        public, secret = (k.decode() for k in zmq.curve_keypair())
        key = Path(path).with_name(f"{name}.key")
        key.write_text(f"host: {name}\npublic_key: {public}\nsecret_key: {secret}\n")
        key.chmod(0o600)
        doc["hosts"][name] = {"link": f"tcp://{host.addr}:{LINK_PORT}",
                              "public_key": public}
        doc["services"][f"svc_{name}"] = {
            "host": name, "port": PORTS[name],
            "backends": [f"tcp://127.0.0.1:{AGENT_PORT}"]}
    Path(path).write_text(yaml.safe_dump(doc))


class Site:
    """One host running a REP agent (tagged with the host name) and the
    broker serving it."""

    def __init__(self, host, name, build_dir, registry, workdir):
        self.host, self.name = host, name
        self.agent = host.popen([PY, AGENTS, "--bind",
                                 f"tcp://127.0.0.1:{AGENT_PORT}",
                                 "--tag", name], workdir / f"{name}-agent.log")
        self.agent.wait_log(r"(?m)^ready$")
        self.broker = host.popen([build_dir / "broker" / "agentbusd",
                                  "--registry", registry, "--host", name,
                                  "--secret-key", registry.with_name(f"{name}.key")],
                                 workdir / f"{name}-agentbusd.log")
        self.broker.wait_log(r"\bready host=")
        self.broker.wait_log(r"\bbackend up ")

    def stop(self):
        """The broker exits cleanly on SIGTERM, without sanitizer reports."""
        rc = self.broker.stop()
        log = self.broker.log()
        assert rc == 0, f"agentbusd on {self.name} exited {rc}:\n{log}"
        assert not any(m in log for m in SANITIZER_MARKS), log


def two_sites(network, build_dir, tmp_path):
    net = network(2)
    a, b = net.hosts
    registry = tmp_path / "registry.yaml"
    write_registry(registry, {"alpha": a, "beta": b})
    return net, Site(a, "alpha", build_dir, registry, tmp_path), \
        Site(b, "beta", build_dir, registry, tmp_path)


def call(host, endpoint, body):
    """Run the REQ client in host; its reply frames."""
    r = host.run([PY, CLIENT, endpoint, body], capture_output=True,
                 text=True, check=False)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return re.findall(r"(?m)^reply (.*)$", r.stdout)


def test_client_calls_the_other_hosts_broker(network, build_dir, tmp_path):
    net, alpha, beta = two_sites(network, build_dir, tmp_path)
    a, b = net.hosts
    # Across hosts, straight to the other broker's service port.
    assert call(a, f"tcp://{b.addr}:{PORTS['beta']}", "from-alpha") == \
        ["beta", "from-alpha"]
    assert call(b, f"tcp://{a.addr}:{PORTS['alpha']}", "from-beta") == \
        ["alpha", "from-beta"]
    # And each host's own service through its own broker.
    assert call(a, f"tcp://127.0.0.1:{PORTS['alpha']}", "local") == \
        ["alpha", "local"]
    alpha.stop()
    beta.stop()


def test_connections_between_hosts_are_counted(network, build_dir, tmp_path):
    net, alpha, beta = two_sites(network, build_dir, tmp_path)
    a, b = net.hosts
    port = PORTS["beta"]
    assert net.tcp_connections(a, b, port) == 0
    held = a.popen([PY, CLIENT, f"tcp://{b.addr}:{port}", "held", "--hold"],
                   tmp_path / "held.log")
    held.wait_log(r"reply held")
    assert net.tcp_connections(a, b, port) == 1
    assert net.tcp_connections(b, a, port) == 1  # seen from both sides
    held.proc.stdin.close()  # the client closes its socket and exits
    assert held.proc.wait(netns.HANG_GUARD_S) == 0
    netns.wait_until(lambda: net.tcp_connections(a, b, port) == 0,
                     "the client's connection to close")
    alpha.stop()
    beta.stop()


def test_cut_cable_stops_traffic_and_restore_resumes_it(network, build_dir,
                                                       tmp_path):
    net, alpha, beta = two_sites(network, build_dir, tmp_path)
    a, b = net.hosts
    endpoint = f"tcp://{b.addr}:{PORTS['beta']}"
    b.cut()
    probe = a.run([PY, "-c", "import socket; socket.create_connection("
                   f"('{b.addr}', {PORTS['beta']}), timeout=2)"],
                  capture_output=True, text=True, check=False)
    assert probe.returncode != 0 and "timed out" in probe.stderr, probe
    # A request sent while the cable is out is delivered once it is back:
    # the client's connect is retried and its request then goes through.
    pending = a.popen([PY, CLIENT, endpoint, "across-the-cut"],
                      tmp_path / "pending.log")
    b.restore()
    pending.wait_log(r"reply across-the-cut")
    assert pending.proc.wait(netns.HANG_GUARD_S) == 0
    assert "reply beta" in pending.log()
    alpha.stop()
    beta.stop()


def test_capture_sees_the_traffic_of_a_host(network, build_dir, tmp_path):
    """Today's direct cross-host traffic is plaintext, so the capture shows
    the body; the link tests will show that it does not over CURVE."""
    net, alpha, beta = two_sites(network, build_dir, tmp_path)
    a, b = net.hosts
    marker = "distinctive-body-9f3c2e"
    with net.capture(b) as cap:
        assert call(a, f"tcp://{b.addr}:{PORTS['beta']}", marker) == \
            ["beta", marker]
    assert marker.encode() in cap.data()
    alpha.stop()
    beta.stop()


def test_network_leaves_nothing_behind(network):
    net = network(3)
    assert [h.addr for h in net.hosts] == \
        ["198.18.0.1", "198.18.0.2", "198.18.0.3"]
    sleeper = net.hosts[2].popen([PY, "-c", "import time; time.sleep(600)"],
                                 net.workdir / "sleeper.log")
    assert sleeper.running()
    net.close()
    assert not sleeper.running()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True,
                            text=True, check=True).stdout
    assert net.tag not in listed
