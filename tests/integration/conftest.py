"""conftest.py: fixtures of the broker integration tests: the agentbusd
binary (from $AGENTBUS_BUILD), brokers, REP agents and redis-servers that
are always torn down, and a ZMQ context for the test's clients.

Run:  AGENTBUS_BUILD=build /usr/bin/python3 -m pytest -q tests/integration
"""
import os
import subprocess
from pathlib import Path

import pytest
import redis
import zmq

import harness

# Per-test bound, applied when pytest-timeout is installed, so one hung test
# fails instead of stalling the run. Never reached by a passing test.
TEST_TIMEOUT_S = 120
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


def built(name):
    """Path of the broker/ program `name` in $AGENTBUS_BUILD (fails the
    run, never skips, when it is missing)."""
    build = os.environ.get("AGENTBUS_BUILD")
    if not build:
        pytest.fail("set AGENTBUS_BUILD to the CMake build directory "
                    "(e.g. AGENTBUS_BUILD=build)", pytrace=False)
    exe = Path(build).resolve() / "broker" / name
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not found: build it first "
                    f"(cmake --build {build} --target {name})", pytrace=False)
    return exe


@pytest.fixture(scope="session")
def agentbusd():
    """Path of the agentbusd binary under test."""
    return built("agentbusd")


@pytest.fixture(scope="session")
def agentbus():
    """Path of the agentbus tool (check, keygen, stats, top, health...)."""
    return built("agentbus")


@pytest.fixture(scope="session")
def artifacts():
    """Where tests leave files for CI to keep (under the build dir)."""
    path = Path(os.environ["AGENTBUS_BUILD"]).resolve() / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def zctx():
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def make_broker(agentbusd, tmp_path):
    """make_broker(services, defaults=None, args=(), start=True) -> Broker.
    At teardown a broker still running must stop cleanly on SIGTERM (so the
    leak checker runs too), its log is printed (pytest shows it only when
    the test failed) and any sanitizer report fails the test."""
    brokers = []

    def make(services, defaults=None, args=(), start=True):
        workdir = tmp_path / f"broker{len(brokers)}"
        workdir.mkdir()
        b = harness.Broker(agentbusd, workdir, services, defaults, args)
        brokers.append(b)
        return b.start() if start else b

    yield make
    failures = []
    for b in brokers:
        try:
            if b.running():
                b.stop()
        except AssertionError as e:
            failures.append(str(e))
        finally:
            b.kill()
        print(f"---- {b.logfile} ----\n{b.log()}")
        failures += b.sanitizer_reports()
    assert not failures, "broker teardown:\n" + "\n".join(failures)


@pytest.fixture
def make_agent(tmp_path):
    """make_agent(port=None, tag=None, delay_ms=0, slow_prefix=None,
    monitor=False) -> a started Agent (on a free port unless given); all
    are stopped at teardown."""
    agents = []

    def make(port=None, **kw):
        a = harness.Agent(tmp_path, port or harness.free_port(), **kw)
        agents.append(a)
        return a.start()

    yield make
    for a in agents:
        a.stop()


class RedisServer:
    """A real redis-server on a free loopback port, in the test's tmp dir.
    Streams use small nodes (stream-node-max-entries) so that the broker's
    approximate MAXLEN trimming shows within a short test."""

    NODE_ENTRIES = 10

    def __init__(self, workdir, password=None):
        self.port = harness.free_port()
        self.workdir = workdir
        self.password = password
        self.proc = None

    def start(self):
        log = open(self.workdir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
             "--stream-node-max-entries", str(self.NODE_ENTRIES)] +
            (["--requirepass", self.password] if self.password else []),
            stdout=log, stderr=log)
        log.close()
        client = self.client()

        def up():
            assert self.proc.poll() is None, (self.workdir / "redis.log").read_text()
            try:
                return client.ping()
            except redis.ConnectionError:
                return False
        harness.wait_until(up, f"redis-server on port {self.port}", harness.READY_WAIT_S)
        return self

    def restart(self):
        """Start again on the same port (after kill)."""
        self.kill()
        return self.start()

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db=0):
        return redis.Redis(port=self.port, db=db, password=self.password,
                           socket_timeout=harness.HANG_GUARD_S, decode_responses=True)

    def kill(self):
        """SIGKILL: Redis vanishes without closing anything."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def make_redis(tmp_path):
    """make_redis(password=None) -> a started RedisServer, killed at teardown."""
    servers = []

    def make(password=None):
        workdir = tmp_path / f"redis{len(servers)}"
        workdir.mkdir()
        servers.append(RedisServer(workdir, password).start())
        return servers[-1]
    yield make
    for server in servers:
        server.kill()


@pytest.fixture
def redis_server(make_redis):
    """A started RedisServer without a password."""
    return make_redis()
