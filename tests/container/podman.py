"""podman.py: what the container tests drive: the podman command line,
containers and networks that are always removed, test networks with
explicit subnets inside 198.18.0.0/15, docker-compose against
`podman system service`, and the markers of tests that wait for features
of other issues.

Every name a test run creates starts with PREFIX (abtest-<pid>), so runs
from other checkouts on the same machine never collide, and what a killed
run left behind is recognised and removed by the next one.

No test asserts on time. Every wait is bounded by HANG_GUARD_S only so that
a broken image fails a test instead of hanging CI.
"""
import fcntl
import ipaddress
import json
import os
import re
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 60.0
POLL_S = 0.1
PREFIX = f"abtest-{os.getpid()}"
# Networks tests create get one of these /24s, given explicitly with
# --subnet. engine.sh reserves them in containers.conf: the default network
# is 198.19.200.0/24 and compose allocates from 198.19.208.0/20.
TEST_SUBNETS = [ipaddress.ip_network(f"198.19.{i}.0/24") for i in range(201, 208)]
TEST_SPACE = ipaddress.ip_network("198.18.0.0/15")
NET_LOCK = "/run/lock/agentbus-container-net.lock"
# One plain REQ round trip, as agents write it; prints the reply. The
# receive timeout is a hang guard only.
REQ_CLIENT = ("import sys, zmq; s = zmq.Context().socket(zmq.REQ); "
              "s.setsockopt(zmq.RCVTIMEO, 60000); s.connect(sys.argv[1]); "
              "s.send(sys.argv[2].encode()); print('reply', s.recv().decode(), flush=True)")


def build_dir():
    build = os.environ.get("AGENTBUS_BUILD")
    return Path(build).resolve() if build else None


def record(what, value):
    """Keep a measurement (build times, image size, start to healthy) in
    BUILD/container-timings.log, where CI keeps it; the log shows it too."""
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {what} {value}"
    print(line)
    if build_dir():
        with open(build_dir() / "container-timings.log", "a") as f:
            f.write(line + "\n")


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


def podman(*args, check=True, timeout=HANG_GUARD_S):
    """Run `podman ARGS`; the CompletedProcess (text). check=True fails the
    test with podman's own message."""
    try:
        p = subprocess.run(["podman", *map(str, args)], capture_output=True,
                           text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"podman {' '.join(map(str, args))}: no answer "
                             f"after {timeout:.0f}s") from None
    if check and p.returncode != 0:
        raise AssertionError(f"podman {' '.join(map(str, args))} exited "
                             f"{p.returncode}:\n{p.stderr.strip()}")
    return p


def inspect(name, fmt):
    return podman("inspect", name, "--format", fmt).stdout.strip()


def logs(name):
    """Everything the container wrote (stdout and stderr)."""
    p = podman("logs", name, check=False)
    return p.stdout + p.stderr


def wait_log(name, pattern, since=0):
    """The first match of pattern in the container's logs past `since`;
    fails early if the container stops first."""
    rx = re.compile(pattern)

    def look():
        text = logs(name)
        m = rx.search(text, since)
        if not m and inspect(name, "{{.State.Running}}") != "true":
            raise AssertionError(f"{name} stopped before logging /{pattern}/:\n{text}")
        return m
    return wait_until(look, f"/{pattern}/ in the logs of {name}")


def wait_exit(name, timeout=HANG_GUARD_S):
    """Wait for the container to stop; its exit code."""
    wait_until(lambda: inspect(name, "{{.State.Running}}") == "false",
               f"{name} to exit", timeout)
    return int(inspect(name, "{{.State.ExitCode}}"))


def health(name):
    """Run the container's HEALTHCHECK once (there is no systemd timer to
    run it); (exit code, podman's verdict line)."""
    p = podman("healthcheck", "run", name, check=False)
    return p.returncode, (p.stdout + p.stderr).strip()


def image_size(image):
    return int(podman("image", "inspect", image, "--format", "{{.Size}}").stdout)


# ---- what a run creates, and cleaning it up ------------------------------

def _owner_alive(name):
    """False for abtest-<pid>-... names whose test run is gone."""
    m = re.match(r"abtest-(\d+)-", name)
    if not m:
        return True
    try:
        os.kill(int(m.group(1)), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def remove_stale():
    """Remove containers, networks and images of test runs that died."""
    for c in podman("ps", "-a", "--format", "{{.Names}}").stdout.split():
        if not _owner_alive(c):
            podman("rm", "-f", "-t", "0", c, check=False)
    for n in podman("network", "ls", "--format", "{{.Name}}").stdout.split():
        if not _owner_alive(n):
            podman("network", "rm", "-f", n, check=False)
    for i in podman("images", "--format", "{{.Repository}}").stdout.split():
        if not _owner_alive(i.rpartition("/")[2]):
            podman("rmi", "-f", i, check=False)


class Network:
    """A podman bridge network with an explicit subnet from TEST_SUBNETS."""

    def __init__(self, name):
        self.name = name
        with _lock(NET_LOCK):
            self.subnet = _free_subnet()
            podman("network", "create", "--subnet", self.subnet, name)
        self.gateway = str(next(self.subnet.hosts()))
        self.addresses = {}
        # Check what the engine did, not what was asked.
        got = json.loads(podman("network", "inspect", name).stdout)[0]["subnets"]
        assert all(ipaddress.ip_network(s["subnet"]).subnet_of(TEST_SPACE) for s in got), got

    # Containers find each other by name through /etc/hosts entries the
    # tests add, with fixed addresses: Debian's aardvark-dns (1.4), the
    # engine's DNS server, at times leaves a container's queries for
    # another's name unanswered for half a minute after several containers
    # start (seen under load, with tcpdump). The names and the broker's
    # behaviour are the same either way; only the engine's lookup differs.
    # DNS still goes only to the network's own server, so no lookup leaves
    # the machine.
    FIRST_HOST = 10  # addresses below are the gateway's and the engine's

    def address(self, name):
        """The fixed address of container NAME on this network."""
        if name not in self.addresses:
            self.addresses[name] = str(self.subnet[self.FIRST_HOST + len(self.addresses)])
        return self.addresses[name]

    def run_options(self, name):
        """podman run options: NAME's address, the names of the containers
        started before it, DNS to the network's server only."""
        ip = self.address(name)
        hosts = [f"--add-host={n}:{a}" for n, a in self.addresses.items() if n != name]
        return ["--ip", ip, "--dns", self.gateway, *hosts]

    def compose_options(self, services):
        """The same for compose services (an override file's services:)."""
        for svc in services:
            self.address(svc)
        hosts = [f"{n}:{a}" for n, a in self.addresses.items()]
        return {svc: {"networks": {"default": {"ipv4_address": self.addresses[svc]}},
                      "extra_hosts": hosts, "dns": [self.gateway]} for svc in services}

    def remove(self):
        podman("network", "rm", "-f", self.name, check=False)


@contextmanager
def _lock(path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def network_subnets():
    """Every subnet of every podman network on this machine."""
    names = podman("network", "ls", "--format", "{{.Name}}").stdout.split()
    nets = json.loads(podman("network", "inspect", *names).stdout) if names else []
    return [ipaddress.ip_network(s["subnet"]) for n in nets for s in n.get("subnets") or []]


def _free_subnet():
    used = network_subnets()
    for s in TEST_SUBNETS:
        if not any(s.overlaps(u) for u in used):
            return s
    raise AssertionError(f"all test subnets {TEST_SUBNETS[0]}..{TEST_SUBNETS[-1]} "
                         "are in use (podman network ls)")


class Run:
    """Containers and networks one test creates; all removed at teardown."""

    def __init__(self, test_name):
        self.base = f"{PREFIX}-{re.sub(r'[^a-z0-9]+', '-', test_name.lower())[:30]}"
        self.containers = []
        self.networks = []
        self.images = []

    def name(self, what):
        return f"{self.base}-{what}"

    def network(self, what="net"):
        net = Network(self.name(what))
        self.networks.append(net)
        return net

    def start(self, what, image, *args, network=None, env=None, volumes=(),
              entrypoint=None, detach=True, options=()):
        """podman run a container named after `what`; its name (detached)
        or the CompletedProcess (detach=False, the container removed)."""
        name = self.name(what)
        opts = ["--name", name, "--network", network.name if network else "none",
                *(network.run_options(name) if network else ()), *options]
        for k, v in (env or {}).items():
            opts += ["-e", f"{k}={v}"]
        for v in volumes:
            opts += ["-v", v]
        if entrypoint:
            opts += ["--entrypoint", entrypoint]
        if detach:
            self.containers.append(name)
            podman("run", "-d", *opts, image, *args)
            return name
        return podman("run", "--rm", *opts, image, *args, check=False)

    def build(self, what, dockerfile, context, build_args):
        """An image built for this test only (removed at teardown)."""
        tag = f"localhost/{self.name(what)}:test"
        argv = ["build", "--format", "docker", "--network", "none", "--pull=never",
                "-f", dockerfile, "-t", tag]
        for k, v in build_args.items():
            argv += ["--build-arg", f"{k}={v}"]
        podman(*argv, context, timeout=600)
        self.images.append(tag)
        return tag

    def cleanup(self):
        for c in self.containers:
            podman("rm", "-f", "-t", "0", c, check=False)
        for n in self.networks:
            n.remove()
        for i in self.images:
            podman("rmi", i, check=False)


# ---- docker-compose against podman's Docker API --------------------------

class ApiService:
    """`podman system service` on a private socket, for docker-compose."""

    def __init__(self, workdir):
        self.socket = Path(workdir) / "podman.sock"
        self.log = Path(workdir) / "podman-service.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["podman", "system", "service", "--time=0", f"unix://{self.socket}"],
                stdout=log, stderr=log, start_new_session=True)
        wait_until(lambda: self.socket.exists() or self.proc.poll() is not None,
                   "podman system service to listen")
        assert self.proc.poll() is None, self.log.read_text()

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Compose:
    """One docker-compose project (one host of the example), run against
    the API service. Health checks only run when asked, so while `up` waits
    on `condition: service_healthy` a thread runs them (a small loop, as
    systemd timers would)."""

    def __init__(self, api, project, files, env):
        self.project = project
        self.files = [str(f) for f in files]
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{api.socket}",
                    **env}

    def run(self, *args, timeout=HANG_GUARD_S * 3, check=True):
        argv = ["docker-compose", "--ansi", "never", "-p", self.project]
        for f in self.files:
            argv += ["-f", f]
        p = subprocess.run(argv + list(args), capture_output=True, text=True,
                           env=self.env, timeout=timeout, check=False)
        if check:
            assert p.returncode == 0, \
                f"docker-compose {' '.join(args)} exited {p.returncode}:\n{p.stdout}{p.stderr}"
        return p

    def containers(self):
        """name -> compose service of this project's containers."""
        out = podman("ps", "-a", "--filter", f"label=com.docker.compose.project={self.project}",
                     "--format", '{{.Names}} {{index .Labels "com.docker.compose.service"}}').stdout
        return dict(line.split() for line in out.splitlines() if line.strip())

    def container(self, service):
        names = [n for n, s in self.containers().items() if s == service]
        assert len(names) == 1, f"{service}: {self.containers()}"
        return names[0]

    def run_health_checks(self):
        """Run every health check of the project once."""
        for name in self.containers():
            if inspect(name, "{{.State.Running}}") == "true" and \
                    inspect(name, "{{if .Config.Healthcheck}}y{{end}}") == "y":
                health(name)

    def with_health_loop(self, *args, **kw):
        """self.run(*args) while the project's health checks run."""
        done = threading.Event()

        def loop():
            while not done.wait(0.5):
                self.run_health_checks()
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        try:
            return self.run(*args, **kw)
        finally:
            done.set()
            t.join()

    def down(self):
        self.run("down", "-v", "-t", "20", check=False)


# ---- features that other issues bring -----------------------------------

def _source_has(path, pattern):
    return re.search(pattern, (ROOT / path).read_text()) is not None


# Read from the sources the image is built from, so the marks are known
# when tests are collected.
HAS_HEALTH = _source_has("broker/cli_main.c", r'\{"health",')


def pending(missing, what):
    """Mark a test written against an interface another issue is building:
    while it is missing the test runs and is expected to fail (reported as
    xfailed with this reason); when it lands the test must pass (strict)."""
    return pytest.mark.xfail(missing, reason=f"pending {what}", strict=True)


PENDING_HEALTH = pending(not HAS_HEALTH, "issue 8: `agentbus health` (GET /healthz)")


def keygen(tool, host, directory, uid):
    """(secret key file, public key) of HOST from `agentbus keygen`, the
    file owned by UID (the broker's user in the image)."""
    key = Path(directory) / f"{host}.key"
    key.parent.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([str(tool), "keygen", host, "--out", str(key)], capture_output=True,
                       text=True, timeout=HANG_GUARD_S, check=False)
    assert p.returncode == 0, p.stderr
    m = re.search(r'public_key: "([^"]{40})"', p.stdout)
    assert m, p.stdout
    os.chown(key, uid, uid)
    return key, m.group(1)
