"""test_compose.py: the compose example (deploy/compose/) brought up for
real, with docker-compose against `podman system service`: one host serving
requests through its broker, health-gated, and stopped with a drain; then
the two hosts calling each other across the link.

The example files are used as they are. A small override file only puts
each host on a network the test created (explicit subnet inside
198.18.0.0/15), gives the containers fixed addresses and each other's names
(podman.Network explains why), and, until `agentbus health` exists, gives
the broker an interim health check."""
import json
import re
import subprocess

import pytest
import yaml

import podman as pm

COMPOSE_DIR = pm.ROOT / "deploy" / "compose"
IMAGE_UID = 10001
LINK_PORT = 7700


def example_registry():
    return yaml.safe_load((COMPOSE_DIR / "registry.yaml").read_text())


def services_of(registry, host):
    return {n: s for n, s in registry["services"].items() if s["host"] == host}


class Host:
    """One host of the example: its compose project on its own network."""

    def __init__(self, api, images, run, tmp_path, name):
        self.name = name
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.net = run.network(name)
        # The engine makes a network's bridge, and with it the gateway
        # address the other host dials, only when a first container joins
        # it. Until then a dial to that address would leave the machine
        # through its default route, so a placeholder holds it up.
        run.start(f"{name}-bridge", images["agent"], "infinity", network=self.net,
                  entrypoint="sleep")
        self.link = f"tcp://{self.net.gateway}:{LINK_PORT}"
        self.api, self.images, self.project = api, images, run.name(name)
        self.compose = None

    def up(self, registry, key):
        """Write the registry, bring the project up (waiting for health),
        and return its Compose."""
        reg = self.dir / "registry.yaml"
        reg.write_text(json.dumps(registry, indent=1))
        reg.chmod(0o644)
        local = services_of(registry, self.name)
        compose_file = COMPOSE_DIR / f"{self.name}.yaml"
        services = list(yaml.safe_load(compose_file.read_text())["services"])
        override = {"networks": {"default": {"external": True, "name": self.net.name}},
                    "services": self.net.compose_options(services)}
        if not pm.HAS_HEALTH:
            # Interim, until issue 8: healthy = a service port accepts.
            port = next(iter(local.values()))["port"]
            override["services"]["agentbus"]["healthcheck"] = {"test": [
                "CMD", "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"]}
        (self.dir / "override.yaml").write_text(yaml.safe_dump(override))
        env = {"AGENTBUS_IMAGE": self.images["agentbus"], "AGENT_IMAGE": self.images["agent"],
               "REDIS_IMAGE": self.images["redis"], "AGENTBUS_REGISTRY_FILE": str(reg),
               "AGENTBUS_SECRET_KEY": str(key),
               "AGENTBUS_LINK_PUBLISH": f"{self.net.gateway}:{LINK_PORT}"}
        self.compose = pm.Compose(self.api, self.project,
                                  [compose_file, self.dir / "override.yaml"], env)
        self.compose.with_health_loop("up", "-d", "--no-build")
        # Serving: the broker has connected to each of its agents by name.
        broker = self.compose.container("agentbus")
        for name in local:
            pm.wait_log(broker, rf"backend up service={name} ")
        return self.compose

    def client_replies(self):
        """Run the demo client service; service name -> its reply docs."""
        p = self.compose.run("run", "--rm", "-T", "client")
        print(p.stdout)
        replies, current = {}, None
        for line in p.stdout.splitlines():
            m = re.match(r"^(\S+) \(port \d+", line)
            if m:
                current = m.group(1)
            elif line.strip().startswith("<- "):
                replies.setdefault(current, []).append(json.loads(line.strip()[3:]))
        return replies

    def down(self):
        if self.compose:
            for c in self.compose.containers():
                print(f"---- logs of {c} ----\n{pm.logs(c)}")
            self.compose.down()


@pytest.fixture
def hosts(api, images, run, tmp_path):
    """make(name) -> Host; every project is taken down at teardown."""
    made = []

    def make(name):
        made.append(Host(api, images, run, tmp_path, name))
        return made[-1]
    yield make
    for h in made:
        h.down()


def assert_served_by_agents(replies, services):
    assert set(replies) == set(services), replies
    for name, docs in replies.items():
        assert docs and all(d.get("served_by", "").startswith(f"{name} agent at")
                            for d in docs), (name, docs)


def test_single_host(hosts, agentbus_tool, tmp_path):
    # mainpc alone: its broker, Redis and two agents, started in dependency
    # order; requests from a client container reach the agents by service
    # name through the broker; stopping the broker drains and exits 0.
    host = hosts("mainpc")
    key, public = pm.keygen(agentbus_tool, "mainpc", tmp_path / "keys", IMAGE_UID)
    # One host: no link, only its key (the compose file mounts it).
    registry = {"hosts": {"mainpc": {"public_key": public}},
                "services": services_of(example_registry(), "mainpc")}
    compose = host.up(registry, key)
    running = {s for n, s in compose.containers().items()
               if pm.inspect(n, "{{.State.Running}}") == "true"}
    assert running == {"agentbus", "redis", "translation", "summarizer"}
    broker = compose.container("agentbus")
    assert pm.inspect(broker, "{{.State.Health.Status}}") == "healthy"
    # Statistics go to the project's Redis, named by the compose file.
    pm.wait_log(broker, r"info  redis up addr=redis:6379\b")
    assert_served_by_agents(host.client_replies(), registry["services"])
    compose.run("stop", "-t", "20", "agentbus")
    assert pm.wait_exit(broker) == 0
    assert re.search(r"exit drained=\d+ abandoned=0\b", pm.logs(broker)), pm.logs(broker)


def test_two_hosts_call_each_other(hosts, agentbus_tool, tmp_path):
    # Both hosts, each on its own network; each broker's link port is
    # published on its network's gateway address, which the other dials.
    # A client on either host gets every service answered by its agent,
    # the other host's across the link.
    registry = example_registry()
    made = {name: hosts(name) for name in ("mainpc", "gpubox")}
    keys = {}
    for name, host in made.items():
        keys[name], public = pm.keygen(agentbus_tool, name, tmp_path / "keys", IMAGE_UID)
        registry["hosts"][name] = {"link": host.link, "public_key": public}
    for name, host in made.items():
        host.up(registry, keys[name])
    # Linked: each broker's link to the other is up (the first one dialled
    # before the other existed, and retries with backoff until it does).
    for name, host in made.items():
        other = next(n for n in made if n != name)
        pm.wait_log(host.compose.container("agentbus"), rf"link up peer={other} .*side=out")
    for name, host in made.items():
        assert_served_by_agents(host.client_replies(), registry["services"])


def test_example_files_agree(agentbus_tool):
    # No engine needed: the example registry passes `agentbus check`, and
    # every backend it names is a service of that host's compose file that
    # binds and exposes that port.
    p = subprocess.run([str(agentbus_tool), "check", str(COMPOSE_DIR / "registry.yaml")],
                          capture_output=True, text=True, timeout=pm.HANG_GUARD_S)
    assert p.returncode == 0, p.stderr
    for name, svc in example_registry()["services"].items():
        compose = yaml.safe_load((COMPOSE_DIR / f"{svc['host']}.yaml").read_text())
        (backend,) = svc["backends"]
        agent, port = re.fullmatch(r"tcp://([\w-]+):(\d+)", backend).groups()
        entry = compose["services"][agent]
        assert f"tcp://*:{port}" in entry["command"] and entry["expose"] == [port], name
        assert entry["depends_on"]["agentbus"]["condition"] == "service_healthy"
