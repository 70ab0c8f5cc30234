"""test_migrate.py: `agentbus migrate` on the sample fleets under fleets/:
the registry it proposes (valid for `agentbus check`, ports kept where
unique, every collision reported with every agent involved and resolved by
free ports), the per-agent change list, refusals of bad input with file and
line, and never overwriting an output without --force."""
import os
import re
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).parent

FLEETS = HERE / "fleets"
BAD = HERE / "bad"


def migrate(run, tmp_path, *inputs, extra=()):
    """Run migrate into tmp_path (keys in tmp_path/keys); (registry dict,
    registry text, change list)."""
    out = tmp_path / "registry.yaml"
    p = run("migrate", *inputs, "-o", out, "--keys", tmp_path / "keys", *extra)
    assert p.returncode == 0, p.stderr
    assert re.search(rf"^{re.escape(str(out))}: \d+ services on", p.stdout, re.M), p.stdout
    text = out.read_text()
    return yaml.safe_load(text), text, (tmp_path / "registry.changes.txt").read_text()


def check_ok(run, path, nservices):
    p = run("check", path)
    assert p.returncode == 0, p.stderr
    assert re.search(rf": ok \(\d+ hosts, {nservices} services\)$", p.stdout.strip())


def collision_table(text):
    """port -> [(service, 'keeps' | new port)] from the registry's header."""
    table, port = {}, None
    for line in text.splitlines():
        m = re.match(r"^#   port (\d+) \((\d+) agents\):$", line)
        if m:
            port = int(m.group(1))
            table[port] = []
            continue
        m = re.match(r"^#     (\S+)\s+\S+ \S+\s+(keeps \d+|-> \d+)$", line)
        if m and port:
            table[port].append((m.group(1), m.group(2)))
    return table


def agent_sections(changes):
    """agent name -> its block of the change list."""
    return dict(re.findall(r"^(\S+) \(.*?\)\n((?:  .*\n?)*)", changes, re.M))


def test_fifty_agents_on_two_ports_across_two_hosts(run, tmp_path):
    reg, text, changes = migrate(run, tmp_path,
                                 f"mainpc={FLEETS / 'fleet50/mainpc.compose.yaml'}",
                                 f"gpubox={FLEETS / 'fleet50/gpubox.compose.yaml'}")
    check_ok(run, tmp_path / "registry.yaml", 50)
    svcs = reg["services"]
    names = [f"agent-{i:02d}" for i in range(1, 51)]
    assert list(svcs) == names and list(reg["hosts"]) == ["mainpc", "gpubox"]
    # Two hosts: each gets a link on its name and the public key of the key
    # file migrate made for it.
    for host in ("mainpc", "gpubox"):
        assert reg["hosts"][host]["link"] == f"tcp://{host}:7700"
        key = tmp_path / "keys" / f"{host}.key"
        assert key.stat().st_mode & 0o777 == 0o600
        assert f'public_key: {reg["hosts"][host]["public_key"]}' in key.read_text()
    old = {n: 5555 if i % 2 else 5556 for i, n in enumerate(names, 1)}
    # Backends: each agent unchanged in its container, dialled by name.
    assert all(svcs[n]["backends"] == [f"tcp://{n}:{old[n]}"] for n in names)
    assert all(svcs[n]["host"] == ("mainpc" if i <= 25 else "gpubox")
               for i, n in enumerate(names, 1))
    # The first agent on each port keeps it; the 48 others get distinct free
    # ports, none of them a port bound or published today.
    assert svcs["agent-01"]["port"] == 5555 and svcs["agent-02"]["port"] == 5556
    moved = [svcs[n]["port"] for n in names[2:]]
    published = set(range(5001, 5026)) | set(range(6026, 6051))
    assert len(set(moved)) == 48 and not set(moved) & (published | {5555, 5556})
    # Every agent involved is listed under its port, once, in input order.
    table = collision_table(text)
    assert set(table) == {5555, 5556}
    assert [s for s, _ in table[5555]] == names[0::2]
    assert [s for s, _ in table[5556]] == names[1::2]
    assert table[5555][0][1] == "keeps 5555"
    assert all(v == f"-> {svcs[s]['port']}" for s, v in table[5555][1:] + table[5556][1:])
    # Each agent calls the next one: its variable now names the broker and
    # the next agent's service port, across hosts too (agent-25 -> agent-26).
    blocks = agent_sections(changes)
    for i, n in enumerate(names):
        nxt = names[(i + 1) % 50]
        assert re.search(rf'env NEXT_AGENT: "[^"]+" -> "tcp://agentbus:{svcs[nxt]["port"]}"'
                         rf"   \({nxt}\)", blocks[n]), blocks[n]
    assert "port collision; its clients move to" in blocks["agent-03"]
    assert "redis" in changes.split("Not agents")[1]


def test_mixed_inputs(run, tmp_path):
    reg, text, changes = migrate(
        run, tmp_path, f"mainpc={FLEETS / 'mixed/mainpc.compose.yaml'}",
        FLEETS / "mixed/startup_config.yaml", extra=["--address", "mainpc=10.0.0.5"])
    check_ok(run, tmp_path / "registry.yaml", 9)
    svcs = reg["services"]
    assert list(reg["hosts"]) == ["mainpc", "gpubox", "edge"]
    assert reg["hosts"]["mainpc"]["link"] == "tcp://10.0.0.5:7700"  # from --address
    assert set(svcs) == {"planner", "worker_one", "search", "multi", "multi-5560",
                         "hostnet", "embedder", "ranker", "gateway"}
    # Names the registry cannot dial get a DNS-safe alias, said in the list.
    assert svcs["worker_one"]["backends"] == ["tcp://worker-one:5555"]
    assert "add the alias worker-one" in changes
    # Long port syntax, ${VAR:-default}, host networking, host processes.
    assert svcs["search"] == {"host": "mainpc", "port": 5556,
                              "backends": ["tcp://search:5556"]}
    assert svcs["multi"]["backends"] == ["tcp://multi:5555"]
    assert svcs["hostnet"]["backends"] == ["tcp://127.0.0.1:15570"]
    assert svcs["embedder"] == {"host": "gpubox", "port": 7001,
                                "backends": ["tcp://127.0.0.1:17001"]}
    table = collision_table(text)
    assert [s for s, _ in table[5555]] == ["planner", "worker_one", "multi", "ranker"]
    assert [s for s, _ in table[7001]] == ["embedder", "gateway"]
    blocks = agent_sections(changes)
    port = {n: s["port"] for n, s in svcs.items()}
    assert f'env WORKER_ADDR: "tcp://worker_one:5555" -> "tcp://agentbus:{port["worker_one"]}"' \
        in blocks["planner"]
    assert 'env SEARCH_HOST: "search" -> "agentbus"' in blocks["planner"]
    assert 'env GPU_EMBED: "tcp://gpubox:7001" -> "tcp://agentbus:7001"' in blocks["worker_one"]
    assert "DOCS_URL" not in blocks["worker_one"]  # http://, not a ZeroMQ endpoint
    assert 'env PLANNER: "tcp://mainpc:5555" -> "tcp://127.0.0.1:5555"' in blocks["embedder"]
    assert 'env EMBED_PORT: "7001" -> "17001"' in blocks["embedder"]
    assert f'env ZMQ_BIND: "tcp://*:5555" -> "tcp://127.0.0.1:{port["ranker"] + 10000}"' \
        in blocks["ranker"]
    # Found through --address: a HOST/PORT pair naming search's published port.
    assert 'env SEARCH_HOST: "10.0.0.5" -> "127.0.0.1"' in blocks["ranker"]
    assert 'env SEARCH_PORT: "8556" -> "5556"' in blocks["ranker"]
    assert "no variable holds its port" in blocks["gateway"]
    assert "env_file is not read" in blocks["search"]
    remarks = changes.split("Not agents")[1]
    for said in ("postgres", "the agentbus broker itself", "cron",
                 "host mainpc runs both compose agents and host processes",
                 "'9000-9010:9000-9010' is a port range", "'53:53/udp' is not TCP",
                 "'${UNSET}' is an unset variable"):
        assert said in remarks, said


def test_port_base(run, tmp_path):
    reg, _, _ = migrate(run, tmp_path, f"mainpc={FLEETS / 'fleet50/mainpc.compose.yaml'}",
                        extra=["--port-base", "20000", "--broker-name", "bus"])
    ports = sorted(s["port"] for s in reg["services"].values())
    assert ports == [5555, 5556] + list(range(20000, 20023))
    assert "tcp://bus:" in (tmp_path / "registry.changes.txt").read_text()


def test_link_keys(run, tmp_path):
    src = [f"mainpc={FLEETS / 'fleet50/mainpc.compose.yaml'}",
           f"gpubox={FLEETS / 'fleet50/gpubox.compose.yaml'}"]
    out = tmp_path / "registry.yaml"
    # Several hosts need keys for their links: no --keys, no registry.
    p = run("migrate", *src, "-o", out)
    assert p.returncode == 1 and "give --keys DIR" in p.stderr
    assert not out.exists()
    # Made once, then reused: the public keys stay those of the key files.
    first, _, _ = migrate(run, tmp_path, *src)
    again, _, _ = migrate(run, tmp_path, *src, extra=["--force"])
    assert first["hosts"] == again["hosts"]
    # A key file of another host is refused.
    keys = tmp_path / "keys"
    (keys / "gpubox.key").write_bytes((keys / "mainpc.key").read_bytes())
    p = run("migrate", *src, "-o", out, "--keys", keys, "--force")
    assert p.returncode == 1 and "gpubox.key is the key of host mainpc, not gpubox" \
        in p.stderr
    # The link port must be free on every host; --link-port moves it.
    p = run("migrate", *src, "-o", out, "--keys", keys, "--link-port", "5555", "--force")
    assert p.returncode == 1 and "the link port 5555 is bound or published" in p.stderr
    other = tmp_path / "other"
    other.mkdir()
    reg, _, _ = migrate(run, other, *src, extra=["--link-port", "7800"])
    assert {h["link"] for h in reg["hosts"].values()} == {"tcp://mainpc:7800",
                                                           "tcp://gpubox:7800"}


def test_single_host_needs_no_keys(run, tmp_path):
    out = tmp_path / "registry.yaml"
    p = run("migrate", f"mainpc={FLEETS / 'fleet50/mainpc.compose.yaml'}", "-o", out)
    assert p.returncode == 0, p.stderr
    assert yaml.safe_load(out.read_text())["hosts"] == {"mainpc": {}}
    assert not (tmp_path / "keys").exists()


def test_never_overwrites_without_force(run, tmp_path):
    src = f"mainpc={FLEETS / 'fleet50/mainpc.compose.yaml'}"
    out, changes = tmp_path / "registry.yaml", tmp_path / "registry.changes.txt"
    for existing in (out, changes):
        existing.write_text("mine\n")
        p = run("migrate", src, "-o", out)
        assert p.returncode == 1
        assert f"{existing} exists; not overwritten (use --force)" in p.stderr
        assert existing.read_text() == "mine\n"
        existing.unlink()
    out.write_text("mine\n")
    assert run("migrate", src, "-o", out, "--force").returncode == 0
    assert out.read_text().startswith("# Proposed agentbus registry")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["registry.changes.txt",
                                                          "registry.yaml"]


@pytest.mark.parametrize("name, host, expected", [
    ("syntax.yaml", "h", ["syntax.yaml:3: yaml: did not find expected ',' or ']'"]),
    ("root_list.yaml", "h", ["root_list.yaml:1: expected a docker-compose file"]),
    ("empty.yaml", "h", ["empty.yaml:1: expected a docker-compose file"]),
    ("neither.yaml", "h", ["neither.yaml:1: neither a docker-compose file"]),
    ("services_list.yaml", "h", ["services_list.yaml:1: services: expected a mapping"]),
    ("compose_bad_service.yaml", "h",
     ["compose_bad_service.yaml:5: services.b: expected a mapping"]),
    ("alias_loop.yaml", "h", ["alias_loop.yaml:1: agents[0]: expected a mapping"]),
    ("merge_bomb.yaml", "h", ["merge_bomb.yaml:1: aliases and merge keys expand to too much"]),
    ("merge_deep.yaml", "h", ["merge_deep.yaml:5: merge keys (<<) nest more than 8 deep"]),
    ("agents_bad.yaml", None, [
        "agents_bad.yaml:4: agents[1]: no valid port (port: 1..65535, or bind: tcp://*:PORT)",
        "agents_bad.yaml:6: agents[2]: no name (name: NAME)",
        "agents_bad.yaml:7: agents[3]: no valid port",
        "agents_bad.yaml:9: agents[4]: host 'bad host' is not a valid host name",
        "agents_bad.yaml:12: agents[5]: expected a mapping"]),
    ("../fleets/fleet50/mainpc.compose.yaml", None,
     ["a compose file does not say which host runs it: give it as HOST="]),
])
def test_bad_input_is_refused_with_file_and_line(run, tmp_path, name, host, expected):
    arg = f"{host}={name}" if host else name
    p = run("migrate", arg, "-o", tmp_path / "r.yaml", cwd=BAD)
    assert p.returncode == 1
    for e in expected:
        assert e in p.stderr, p.stderr
    assert not list(tmp_path.iterdir())


def test_only_regular_files_are_read(run, tmp_path):
    # A FIFO or a directory is refused at once (a FIFO would block forever).
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    p = run("migrate", f"h={fifo}", f"h={tmp_path}", "-o", tmp_path / "r.yaml")
    assert p.returncode == 1
    assert f"{fifo}: not a regular file (a FIFO)" in p.stderr
    assert f"{tmp_path}: not a regular file (a directory)" in p.stderr


def test_every_input_is_reported(run, tmp_path):
    # Problems of several inputs are all printed, not only the first.
    p = run("migrate", "h=syntax.yaml", "h=neither.yaml", "missing.yaml", "-o",
            tmp_path / "r.yaml", cwd=BAD)
    assert p.returncode == 1
    for e in ("syntax.yaml:3:", "neither.yaml:1:", "missing.yaml: cannot open:"):
        assert e in p.stderr


@pytest.mark.parametrize("args, message", [
    ([], "-o REGISTRY is required"),
    (["-o", "r.yaml"], "no INPUT given"),
    (["h=x.yaml", "-o", "r.yaml", "--port-base", "0"], "--port-base: '0' is not a port"),
    (["h=x.yaml", "-o", "r.yaml", "--link-port", "x"], "--link-port: 'x' is not a port"),
    (["h=x.yaml", "-o", "r.yaml", "--broker-name", "a_b"], "is not a DNS name"),
    (["h=x.yaml", "-o", "r.yaml", "--address", "nohost"], "expected HOST=ADDR"),
    (["h=x.yaml", "-o", "r.yaml", "--changes", "r.yaml"], "--changes must differ"),
    (["h=x.yaml", "-o", "r.yaml", "--bogus"], "unrecognized option"),
])
def test_usage_errors(run, tmp_path, args, message):
    p = run("migrate", *args, cwd=tmp_path)
    assert p.returncode == 2 and message in p.stderr, p.stderr
    assert not list(tmp_path.iterdir())


def test_help(run):
    p = run("migrate", "--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: agentbus migrate")
    assert "docs/deploy.md" in p.stdout
    assert "migrate" in run("--help").stdout
