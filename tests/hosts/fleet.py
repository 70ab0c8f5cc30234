"""fleet.py: a fleet of agentbus hosts for the link tests: one broker per
network namespace (netns.py), each with its key file and its own copy of
the registry, real REP agents (tests/integration/agents.py) and real REQ
clients (linkclient.py) inside the hosts.

    fleet = Fleet(network(2), build_dir, tmp_path, ["alpha", "beta"])
    fleet.service("echo", "alpha")            # hosted on alpha, agent there
    fleet.start()                             # registries, agents, brokers
    fleet.wait_links("beta", "alpha")         # beta's links to alpha are up
    fleet.call("beta", "echo", [[b"hi"]])     # -> [[b"hi"]]

Every wait is bounded by netns.HANG_GUARD_S; none asserts on time.
"""
import base64
import json
import re
import signal
from pathlib import Path

import yaml
import zmq

import netns

PY = "/usr/bin/python3"
HERE = Path(__file__).resolve().parent
AGENTS = HERE.parent / "integration" / "agents.py"
CLIENT = HERE / "linkclient.py"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
LINK_PORT = 7700
FIRST_PORT = 5581        # service ports: each namespace has its own
AGENT_OFFSET = 10000     # an agent binds its service port + this, locally
# Fast links for tests: a dead link is noticed within a second.
TEST_LINKS = {"heartbeat_ms": 200, "down_ms": 1000, "reconnect_ms": 50,
              "reconnect_max_ms": 500}


def parse_stats(line):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


class Site:
    """One host: its namespace, key pair, registry file, agents, broker."""

    def __init__(self, fleet, name, host):
        self.fleet, self.name, self.host = fleet, name, host
        self.public, secret = (k.decode() for k in zmq.curve_keypair())
        self.keyfile = fleet.workdir / f"{name}.key"
        self.keyfile.write_text(f"host: {name}\npublic_key: {self.public}\n"
                                f"secret_key: {secret}\n")
        self.keyfile.chmod(0o600)
        self.registry = fleet.workdir / f"{name}-registry.yaml"
        self.broker = None
        self.agents = {}
        self.args = []

    # ---- the broker ----

    def start(self, *args):
        """Start the broker and wait until it is ready."""
        self.args = list(args) or self.args
        log = self.fleet.workdir / f"{self.name}-agentbusd.log"
        since = len(log.read_text(errors="replace")) if log.exists() else 0
        self.broker = self.host.popen(
            [self.fleet.build / "broker" / "agentbusd", "--registry", self.registry,
             "--host", self.name, "--secret-key", self.keyfile, *self.args], log)
        self.broker.wait_log(r"\bready host=", since)
        return self

    def mark(self):
        return len(self.broker.log())

    def wait_log(self, pattern, since=0):
        return self.broker.wait_log(pattern, since)

    def stats(self, what):
        """SIGUSR1, and the counters of one of its lines: what is
        "service=NAME", "link=HOST side=out|in" or "linksrv"."""
        since = self.mark()
        self.broker.proc.send_signal(signal.SIGUSR1)
        m = self.wait_log(rf"stats {re.escape(what)}[ =](.*)\n", since)
        return parse_stats(m.group(1))

    def link_stats(self, peer, side="out"):
        return self.stats(f"link={peer} side={side}")

    def reload(self):
        """SIGHUP and wait for the reload's verdict line."""
        since = self.mark()
        self.broker.proc.send_signal(signal.SIGHUP)
        return self.wait_log(r"reload (ok|partial|failed)[^\n]*", since).group(0)

    def stop(self, sig=signal.SIGTERM):
        """Stop the broker; on SIGTERM it must exit 0 without sanitizer
        reports."""
        rc = self.broker.stop(sig)
        log = self.broker.log()
        if sig == signal.SIGTERM:
            assert rc == 0, f"agentbusd on {self.name} exited {rc}:\n{log}"
        assert not any(m in log for m in SANITIZER_MARKS), log

    # ---- agents and clients ----

    def agent(self, service, tag=None, delay_ms=0):
        port = self.fleet.ports[service] + AGENT_OFFSET
        argv = [PY, AGENTS, "--bind", f"tcp://127.0.0.1:{port}"]
        argv += ["--tag", tag] if tag else []
        argv += ["--delay-ms", str(delay_ms)] if delay_ms else []
        a = self.host.popen(argv, self.fleet.workdir / f"{self.name}-{service}-agent.log")
        a.wait_log(r"(?m)^ready$")
        self.agents[service] = a
        return a

    def endpoint(self, service):
        return f"tcp://127.0.0.1:{self.fleet.ports[service]}"

    def client_files(self, service, mode, spec):
        """linkclient.py's arguments for a run: (name, spec file, out file)."""
        spec = {"endpoint": self.endpoint(service), "mode": mode, **spec}
        name = f"{self.name}-{service}-{mode}-{self.fleet.next_id()}"
        spec_path = self.fleet.workdir / f"{name}.spec.json"
        spec_path.write_text(json.dumps(spec))
        return name, spec_path, self.fleet.workdir / f"{name}.out.json"

    def client(self, service, mode, **spec):
        """Run linkclient.py in this host to completion; its result."""
        _, spec_path, out = self.client_files(service, mode, spec)
        r = self.host.run([PY, CLIENT, spec_path, out], capture_output=True,
                          text=True, timeout=netns.HANG_GUARD_S * 4)
        assert r.returncode == 0, (r.stdout, r.stderr)
        return json.loads(out.read_text())

    def call(self, service, requests):
        """Send each request (a list of frames) in turn; the replies."""
        res = self.client(service, "calls",
                          requests=[[base64.b64encode(f).decode() for f in frames]
                                    for frames in requests])
        return [None if r is None else [base64.b64decode(f) for f in r]
                for r in res["replies"]]

    def background(self, service, mode, **spec):
        """linkclient.py in this host in the background: (proc, out path)."""
        name, spec_path, out = self.client_files(service, mode, spec)
        p = self.host.popen([PY, CLIENT, spec_path, out], self.fleet.workdir / f"{name}.log")
        return p, out


class Fleet:
    """Named sites on a netns.Network, and the registry they share (each
    site has its own copy, so a test can change one host's view)."""

    def __init__(self, net, build, workdir, names, links=None):
        self.net, self.build, self.workdir = net, Path(build), Path(workdir)
        self.sites = {n: Site(self, n, h) for n, h in zip(names, net.hosts)}
        self.links = dict(TEST_LINKS, **(links or {}))
        self.svcs = {}
        self.ports = {}
        self.removed = set()
        self._ids = 0

    def __getitem__(self, name):
        return self.sites[name]

    def next_id(self):
        self._ids += 1
        return self._ids

    def service(self, name, host, **knobs):
        """Declare a service hosted on `host` (its agent binds the service
        port + AGENT_OFFSET on that host's loopback)."""
        port = self.ports.setdefault(name, FIRST_PORT + len(self.ports))
        self.svcs[name] = {"host": host, "port": port,
                           "backends": [f"tcp://127.0.0.1:{port + AGENT_OFFSET}"],
                           "timeout_ms": 2000, **knobs}

    def doc(self, hosts=None):
        hosts = [n for n in (hosts or self.sites) if n not in self.removed]
        doc = {"hosts": {}, "links": self.links,
               "services": {n: s for n, s in self.svcs.items() if s["host"] in hosts}}
        for n in hosts:
            site = self.sites[n]
            doc["hosts"][n] = {"link": f"tcp://{site.host.addr}:{LINK_PORT}",
                               "public_key": site.public}
        return doc

    def write(self, only=None, doc=None):
        """Write the registry to every site's copy (or only those named)."""
        doc = doc or self.doc()
        for n in (only or self.sites):
            self.sites[n].registry.write_text(yaml.safe_dump(doc, sort_keys=False))

    def start(self, *args, agents=True):
        """Write the registries, start each service's agent (tagged with
        its host) and every broker."""
        self.write()
        if agents:
            for name, svc in self.svcs.items():
                self.sites[svc["host"]].agent(name, tag=svc["host"])
        for site in self.sites.values():
            site.start(*args)
        return self

    def wait_links(self, near, far, since=0):
        """Wait until near's broker logs a link up to far."""
        return self.sites[near].wait_log(rf"link up peer={far} .*side=out", since)

    def stop(self):
        for site in self.sites.values():
            if site.broker and site.broker.running():
                site.stop()


