"""conftest.py: fixtures of the codec tests: the batch helper and the
agentbus binary from $AGENTBUS_BUILD (a missing one fails the run, it is
never skipped).

Run:  AGENTBUS_BUILD=build /usr/bin/python3 -m pytest -q tests/proto
"""
import os

import pytest

import codec


def _built(path, target):
    if path is None:
        pytest.fail("set AGENTBUS_BUILD to the CMake build directory "
                    "(e.g. AGENTBUS_BUILD=build)", pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not found: build it first "
                    f"(cmake --build $AGENTBUS_BUILD --target {target})",
                    pytrace=False)
    return path


@pytest.fixture(scope="session")
def xcode():
    """codec.run, once the batch helper is known to exist."""
    _built(codec.helper_path(), "tc_batch")
    return codec.run


@pytest.fixture(scope="session")
def agentbus():
    """Path of the agentbus command-line tool."""
    build = codec.build_dir()
    return _built(build / "broker" / "agentbus" if build else None,
                  "agentbus")
