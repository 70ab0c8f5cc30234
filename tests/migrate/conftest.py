"""conftest.py: fixtures of the `agentbus migrate` tests: the agentbus tool
from $AGENTBUS_BUILD (a missing one fails the run, it is never skipped) and
a runner that checks every run for sanitizer reports.

Run:  AGENTBUS_BUILD=build /usr/bin/python3 -m pytest -q tests/migrate
"""
import os
import subprocess
from pathlib import Path

import pytest

# What sanitizers print when they find something: any of these fails a test.
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
RUN_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def agentbus():
    build = os.environ.get("AGENTBUS_BUILD")
    if not build:
        pytest.fail("set AGENTBUS_BUILD to the CMake build directory", pytrace=False)
    exe = Path(build).resolve() / "broker" / "agentbus"
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not found: build it first "
                    f"(cmake --build {build} --target agentbus)", pytrace=False)
    return exe


@pytest.fixture
def run(agentbus):
    """run(*args, cwd=None) -> CompletedProcess (text) of `agentbus ARGS`;
    a sanitizer report or a death by signal fails the test."""
    def run_(*args, cwd=None):
        p = subprocess.run([str(agentbus), *map(str, args)], capture_output=True,
                           text=True, errors="replace", cwd=cwd,
                           timeout=RUN_TIMEOUT_S, check=False)
        assert p.returncode >= 0, f"agentbus {args} died of signal {-p.returncode}"
        assert not any(m in p.stderr for m in SANITIZER_MARKS), p.stderr
        return p
    return run_
