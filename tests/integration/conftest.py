"""conftest.py: fixtures of the broker integration tests: the agentbusd
binary (from $AGENTBUS_BUILD), brokers and REP agents that are always torn
down, and a ZMQ context for the test's clients.

Run:  AGENTBUS_BUILD=build /usr/bin/python3 -m pytest -q tests/integration
"""
import os
from pathlib import Path

import pytest
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
    """Path of the agentbus tool (agentbus check)."""
    return built("agentbus")


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
