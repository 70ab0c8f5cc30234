"""conftest.py: fixtures of the agentbus.h tests. The broker and agent
fixtures are those of tests/integration (loaded from there, not copied);
`probe` is the C test program built by CMake, once as C and once as C++
(tests run against both).

Run:  AGENTBUS_BUILD=build /usr/bin/python3 -m pytest -q tests/client
"""
import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
INTEGRATION = HERE.parent / "integration"
sys.path.insert(0, str(INTEGRATION))

from probing import Probe, built  # noqa: E402  (needs the path above)

TEST_TIMEOUT_S = 180


def _integration_fixtures():
    spec = importlib.util.spec_from_file_location("integration_fixtures",
                                                  INTEGRATION / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_fx = _integration_fixtures()
agentbusd = _fx.agentbusd
zctx = _fx.zctx
make_broker = _fx.make_broker
make_agent = _fx.make_agent


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@pytest.fixture(params=["c", "cxx"])
def probe(request):
    name = "ab_probe" if request.param == "c" else "ab_probe_cxx"
    return Probe(built(f"tests/client/{name}"))
