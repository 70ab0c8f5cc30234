"""test_image.py: the agentbus image (deploy/Dockerfile) run with podman:
its metadata, a request from a client container through the broker to an
agent container, drain on `podman stop`, the unprivileged user, startup
errors, health, and the link secret key."""
import json
import os
import re
import time

import pytest

import podman as pm

HOST = "mainpc"
SERVICE = "translation"
PORT = 5581
AGENT_PORT = 15581
REGISTRY_IN = "/etc/agentbus/registry.yaml"
KEY_IN = "/run/secrets/agentbus_key"
IMAGE_UID = 10001



def registry_text(agent, hosts=None):
    hosts = hosts or {HOST: {}}
    return json.dumps({  # JSON is YAML: no quoting to get wrong
        "hosts": hosts,
        "services": {SERVICE: {"host": HOST, "port": PORT,
                               "backends": [f"tcp://{agent}:{AGENT_PORT}"],
                               "timeout_ms": 30000}}}, indent=1)


def write_registry(tmp_path, text):
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    path.chmod(0o644)
    return path


def start_broker(run, images, net, registry, env=None, volumes=(), args=()):
    env = {"AGENTBUS_HOST": HOST, **(env or {})}
    return run.start("broker", images["agentbus"], *args, network=net, env=env,
                     volumes=[f"{registry}:{REGISTRY_IN}:ro", *volumes])


def start_agent(run, images, net, delay_ms=0):
    name = run.start("agent", images["agent"], "agent", "--service", SERVICE,
                     "--bind", f"tcp://*:{AGENT_PORT}", "--delay-ms", delay_ms,
                     network=net)
    pm.wait_log(name, r"agent ready")
    return name


def served_by_agent(line):
    """The parsed reply if line is the demo agent's answer, else None."""
    doc = json.loads(line)
    return doc if doc.get("served_by", "").startswith(f"{SERVICE} agent at") else None


def test_image_metadata(images):
    # Docker format keeps HEALTHCHECK; exec form (no shell, no curl).
    info = json.loads(pm.podman("image", "inspect", images["agentbus"]).stdout)[0]
    cfg = info["Config"]
    assert info["Healthcheck"]["Test"] == ["CMD", "agentbus", "health"]
    assert cfg["StopSignal"] == "SIGTERM"
    assert cfg["User"] == "agentbus:agentbus"
    assert cfg["Entrypoint"] == ["agentbusd"]
    assert f"AGENTBUS_REGISTRY={REGISTRY_IN}" in cfg["Env"]
    # Runtime libraries only: no compiler, no headers; both tools run.
    p = pm.podman("run", "--rm", "--network", "none", "--entrypoint", "sh",
                  images["agentbus"], "-c",
                  "for t in gcc cc cmake make; do command -v $t; done; "
                  "ls /usr/include/zmq.h /usr/include/uv.h 2>/dev/null; true")
    assert p.stdout == "", p.stdout
    for tool in ("agentbusd", "agentbus"):
        p = pm.podman("run", "--rm", "--network", "none", "--entrypoint", tool,
                      images["agentbus"], "--version")
        assert re.fullmatch(rf"{tool} \d+\.\d+\.\d+\n", p.stdout), p.stdout


def test_request_through_the_broker(run, images, tmp_path):
    # client container -> broker container -> agent container, by name.
    net = run.network()
    agent = start_agent(run, images, net)
    broker = start_broker(run, images, net, write_registry(tmp_path, registry_text(agent)))
    pm.wait_log(broker, rf"backend up service={SERVICE} endpoint=tcp://{agent}:")
    p = run.start("client", images["agent"], "client", "--registry", REGISTRY_IN,
                  "--host", HOST, "--broker", broker, network=net, detach=False,
                  volumes=[f"{tmp_path / 'registry.yaml'}:{REGISTRY_IN}:ro"])
    assert p.returncode == 0, p.stderr
    replies = [served_by_agent(ln.split("<- ", 1)[1])
               for ln in p.stdout.splitlines() if "<- " in ln]
    assert len(replies) == 2 and all(replies), p.stdout
    assert replies[0]["result"]["shout"] == "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG"


def test_runs_unprivileged_with_read_only_config(run, images, tmp_path):
    net = run.network()
    broker = start_broker(run, images, net, write_registry(tmp_path, registry_text("agent")))
    pm.wait_log(broker, r"\bready host=")
    status = pm.podman("exec", broker, "cat", "/proc/1/status").stdout
    assert re.search(rf"^Uid:\s+{IMAGE_UID}\s+{IMAGE_UID}\s+{IMAGE_UID}\s", status, re.M), status
    assert re.search(r"^CapEff:\s+0+$", status, re.M), status
    # Read-only even for root in the container: it is mounted so.
    p = pm.podman("exec", "--user", "0", broker, "sh", "-c", f"echo x >> {REGISTRY_IN}",
                  check=False)
    assert p.returncode != 0 and "Read-only file system" in p.stderr, p.stderr


def test_stop_drains_in_flight_request(run, images, tmp_path):
    # An agent that takes 3 s: the request is in flight when the stop comes;
    # it is answered by the agent, and the broker exits 0.
    net = run.network()
    agent = start_agent(run, images, net, delay_ms=3000)
    broker = start_broker(run, images, net, write_registry(tmp_path, registry_text(agent)))
    pm.wait_log(broker, rf"backend up service={SERVICE}")
    client = run.start("client", images["agent"], "-c", pm.REQ_CLIENT,
                       f"tcp://{broker}:{PORT}", '{"text": "drain me"}',
                       network=net, entrypoint="python3")

    def in_flight():
        since = len(pm.logs(broker))
        pm.podman("kill", "--signal", "USR1", broker)
        m = pm.wait_log(broker, rf"stats service={SERVICE} .*\binflight=(\d+)", since)
        return m.group(1) == "1"
    pm.wait_until(in_flight, "the request to be in flight")
    pm.podman("stop", "-t", "30", broker, timeout=pm.HANG_GUARD_S)
    assert pm.wait_exit(broker) == 0
    assert pm.wait_exit(client) == 0
    reply = pm.logs(client).split("reply ", 1)[1]
    assert served_by_agent(reply)["result"]["shout"] == "DRAIN ME"
    log = pm.logs(broker)
    assert re.search(r"shutdown signal=SIGTERM pending=1\b", log), log
    assert re.search(r"exit drained=1 abandoned=0\b", log), log


def test_startup_errors_exit_non_zero(run, images, tmp_path):
    # A broken registry: exit 1 with the diagnostics. No host: exit 2.
    net = run.network()
    bad = write_registry(tmp_path, "hosts:\n  mainpc: {}\nservices:\n  a:\n    port: 0\n")
    broker = start_broker(run, images, net, bad)
    assert pm.wait_exit(broker) == 1
    log = pm.logs(broker)
    assert f"{REGISTRY_IN}:5: services.a.port: 0 is out of range" in log, log
    nohost = run.start("nohost", images["agentbus"], network=net,
                       volumes=[f"{bad}:{REGISTRY_IN}:ro"])
    assert pm.wait_exit(nohost) == 2
    assert "--host NAME is required" in pm.logs(nohost)


@pm.PENDING_HEALTH
def test_turns_healthy(run, images, tmp_path):
    net = run.network()
    t0 = time.monotonic()
    broker = start_broker(run, images, net, write_registry(tmp_path, registry_text("agent")))
    p = pm.podman("exec", broker, "agentbus", "health", "--help", check=False)
    assert p.returncode == 0, f"no `agentbus health` in the image: {p.stdout}{p.stderr}"
    pm.wait_until(lambda: pm.health(broker)[0] == 0, "the health check to pass")
    assert pm.inspect(broker, "{{.State.Health.Status}}") == "healthy"
    pm.record("start_to_healthy_s", f"{time.monotonic() - t0:.2f}")
    pm.podman("stop", "-t", "30", broker)
    assert pm.wait_exit(broker) == 0


# ---- the link secret key ------------------------------------------------

@pytest.mark.parametrize("case", ["right", "world_readable", "wrong", "missing"])
def test_secret_key(run, images, tmp_path, agentbus_tool, case):
    # The right key starts the broker; a key others can read, one that is
    # not this host's, or none at all stops it with a clear error and exit 1.
    key, public = pm.keygen(agentbus_tool, HOST, tmp_path / "k1", IMAGE_UID)
    if case == "wrong":
        key, _ = pm.keygen(agentbus_tool, HOST, tmp_path / "k2", IMAGE_UID)
    if case == "world_readable":
        key.chmod(0o644)
    mounts = [] if case == "missing" else [f"{key}:{KEY_IN}:ro"]
    net = run.network()
    broker = start_broker(run, images, net,
                          write_registry(tmp_path, registry_text("agent", {
                              HOST: {"public_key": public}})),
                          env={"AGENTBUS_SECRET_KEY_FILE": KEY_IN}, volumes=mounts)
    if case == "right":
        pm.wait_log(broker, rf"secret_key file={KEY_IN} host={HOST} public_key=")
        pm.wait_log(broker, r"\bready host=")
        return
    assert pm.wait_exit(broker) == 1
    log = pm.logs(broker)
    reason = {"world_readable": rf"{KEY_IN}: mode 0644 lets group or others access",
              "wrong": rf"{KEY_IN}: its public key .* does not match hosts\.{HOST}\.public_key",
              "missing": rf"{KEY_IN}: no such file"}[case]
    assert re.search(rf"startup failed: {reason}", log), log
