"""conftest.py: fixtures of the multi-host tests: `network(n)` gives n
hosts in network namespaces (netns.py), always torn down, and the whole
directory is skipped with the reason when namespaces cannot be used here
(not root, no `ip netns`).

Run:  AGENTBUS_BUILD=build /usr/bin/python3 -m pytest -q tests/hosts
"""
import os
from pathlib import Path

import pytest

import netns

TEST_TIMEOUT_S = 180
HERE = Path(__file__).parent
UNAVAILABLE = netns.available()


def pytest_collection_modifyitems(config, items):
    timeout = config.pluginmanager.hasplugin("timeout")
    for item in items:
        if HERE not in item.path.parents:
            continue
        if UNAVAILABLE:
            item.add_marker(pytest.mark.skip(reason=UNAVAILABLE))
        elif timeout:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@pytest.fixture
def network(tmp_path):
    """network(n) -> a started netns.Network of n hosts; closed (processes
    killed, namespaces deleted) at teardown even when the test failed."""
    nets = []

    def make(n):
        net = netns.Network(n, tmp_path)
        nets.append(net)
        return net.__enter__()

    yield make
    for net in nets:
        net.close()


@pytest.fixture(scope="session")
def build_dir():
    build = os.environ.get("AGENTBUS_BUILD")
    if not build:
        pytest.fail("set AGENTBUS_BUILD to the CMake build directory",
                    pytrace=False)
    return Path(build).resolve()
