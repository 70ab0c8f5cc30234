"""conftest.py: fixtures of the container tests: the engine (engine.sh
installs and configures podman and makes the local base images), the
images under test built once per run, per-test containers and networks,
and docker-compose against `podman system service`.

Run:  AGENTBUS_BUILD=build-test /usr/bin/python3 -m pytest -q tests/container
(as root; without a usable engine every test is skipped, saying why)
"""
import os
import subprocess
import time
from pathlib import Path

import pytest

import podman as pm

HERE = Path(__file__).parent
ENGINE_SCRIPT = HERE / "engine.sh"
# Per-test bound (pytest-timeout). The first test also waits for the engine
# and the image builds: bootstrapping the base images from a cold cache
# takes minutes on a small machine.
TEST_TIMEOUT_S = 900
ENGINE_TIMEOUT_S = 1800
# The images under test: name -> (Dockerfile, base build-arg, engine base).
IMAGES = {
    "agentbus": ("deploy/Dockerfile", None, None),
    "agent": ("deploy/compose/demo-agent.Dockerfile", "AGENT_BASE", "AGENTBUS_BASE_AGENT"),
    "redis": ("tests/container/redis.Dockerfile", "REDIS_BASE", "AGENTBUS_BASE_REDIS"),
}


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@pytest.fixture(scope="session")
def engine():
    """The base images (AGENTBUS_BASE_* -> image); skips every container
    test, with engine.sh's reason, when no engine can run here."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([str(ENGINE_SCRIPT)], capture_output=True, text=True,
                           timeout=ENGINE_TIMEOUT_S, check=False)
    except FileNotFoundError as e:
        pytest.skip(f"container engine unavailable: {e}")
    if p.returncode == 3:
        pytest.skip(p.stderr.strip().splitlines()[-1])
    if p.returncode != 0:
        pytest.fail(f"tests/container/engine.sh exited {p.returncode}:\n{p.stderr}",
                    pytrace=False)
    pm.record("engine_ready_s", f"{time.monotonic() - t0:.1f}")
    pm.remove_stale()
    return dict(line.split("=", 1) for line in p.stdout.split())


def build_image(name, dockerfile, build_args):
    """podman build --format docker, offline, from the repo root."""
    tag = f"localhost/{pm.PREFIX}-{name}:test"
    argv = ["build", "--format", "docker", "--network", "none", "--pull=never",
            "-f", dockerfile, "-t", tag]
    for k, v in build_args.items():
        argv += ["--build-arg", f"{k}={v}"]
    t0 = time.monotonic()
    pm.podman(*argv, str(pm.ROOT), timeout=ENGINE_TIMEOUT_S)
    pm.record(f"image_build_s {name}", f"{time.monotonic() - t0:.1f}")
    return tag


@pytest.fixture(scope="session")
def images(engine):
    """name -> tag of the images under test, removed after the run."""
    tags = {}
    try:
        for name, (dockerfile, arg, base) in IMAGES.items():
            args = {arg: engine[base]} if arg else {
                "BUILD_BASE": engine["AGENTBUS_BASE_BUILD"],
                "RUN_BASE": engine["AGENTBUS_BASE_RUN"]}
            tags[name] = build_image(name, dockerfile, args)
        pm.record("image_size_bytes agentbus", pm.image_size(tags["agentbus"]))
        yield tags
    finally:
        for tag in tags.values():
            pm.podman("rmi", "-f", tag, check=False)


@pytest.fixture
def run(request):
    """Containers and networks of one test, removed at teardown (their
    logs are printed first: pytest shows them when the test failed)."""
    r = pm.Run(request.node.name)
    yield r
    for c in r.containers:
        print(f"---- logs of {c} ----\n{pm.logs(c)}")
    r.cleanup()


@pytest.fixture(scope="session")
def api(engine, tmp_path_factory):
    """`podman system service` for docker-compose (DOCKER_HOST)."""
    service = pm.ApiService(tmp_path_factory.mktemp("podman-api"))
    yield service
    service.stop()


@pytest.fixture(scope="session")
def agentbus_tool():
    """The agentbus tool of the host build (keygen for the link tests)."""
    exe = pm.build_dir() / "broker" / "agentbus" if pm.build_dir() else None
    if not exe or not os.access(exe, os.X_OK):
        pytest.fail("set AGENTBUS_BUILD to a build directory with broker/agentbus",
                    pytrace=False)
    return exe
