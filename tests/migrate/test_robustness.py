"""test_robustness.py: garbage never crashes `agentbus migrate`. Inputs
made from the sample fleets (bytes flipped, cut, lines shuffled and
repeated), random bytes, and random YAML built from the keys migrate reads
(anchors, aliases and merge keys included). Every run must end with exit 0
or 1, no sanitizer report (the test build has ASan and UBSan), and when it
writes a registry, that registry passes `agentbus check`.

Deterministic: the cases come from a fixed seed, so a failure reproduces.
"""
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent

SEED = 20261123
CASES = 400
WORKERS = 2
SAMPLES = sorted((HERE / "fleets").rglob("*.yaml"))
KEYS = ["services", "agents", "hosts", "ports", "expose", "environment", "env",
        "image", "name", "port", "bind", "host", "target", "published", "protocol",
        "container_name", "hostname", "network_mode", "env_file", "<<", "x"]
SCALARS = ["5555", "0", "65536", "-1", "tcp://*:5555", "tcp://a:1", "a:5555", "host",
           "${X:-5556}", "${X}", "$$", "8000:5555", "[::1]:1:2", "1-2:3-4", "53/udp",
           "redis:7", "agentbus", "", "~", "\"q\"", "a_b", "é", "K=tcp://b:5555"]


def mutate(rng, data):
    """A sample with a few byte-level or line-level edits."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        if op == 0 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 1:
            data = data[:rng.randrange(len(data) + 1)]
        elif op == 2:
            lines = data.split(b"\n")
            rng.shuffle(lines)
            data = bytearray(b"\n".join(lines))
        elif op == 3 and data:
            i = rng.randrange(len(data))
            data[i:i] = data[i:i + rng.randint(1, 200)] * rng.randint(1, 20)
        else:
            data[rng.randrange(len(data) + 1):0] = rng.choice(KEYS).encode() + b": "
    return bytes(data)


def random_yaml(rng, depth=0, anchors=None):
    """Random YAML text from the keys migrate reads."""
    anchors = [] if anchors is None else anchors
    pick = rng.randrange(6 if depth < 5 else 2)
    if pick == 0:
        s = rng.choice(SCALARS)
        return repr(s) if rng.random() < 0.3 or not s else s
    if pick == 1 and anchors:
        return "*" + rng.choice(anchors)
    if pick in (2, 3):
        items = []
        for _ in range(rng.randint(0, 5)):
            key = rng.choice(KEYS)
            items.append(f"{key}: {random_yaml(rng, depth + 1, anchors)}")
        text = "{" + ", ".join(items) + "}"
    else:
        text = "[" + ", ".join(random_yaml(rng, depth + 1, anchors)
                               for _ in range(rng.randint(0, 5))) + "]"
    if rng.random() < 0.3:
        name = f"a{len(anchors)}"
        anchors.append(name)
        text = f"&{name} {text}"
    return text


def make_case(rng, i):
    kind = i % 3
    if kind == 0:
        return mutate(rng, rng.choice(SAMPLES).read_bytes())
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 512)))
    return random_yaml(rng).encode("utf-8", "replace")


def test_garbage_never_crashes(run, tmp_path):
    rng = random.Random(SEED)
    cases = [make_case(rng, i) for i in range(CASES)]

    def one(i):
        d = tmp_path / f"case{i}"
        d.mkdir()
        (d / "in.yaml").write_bytes(cases[i])
        host = "" if i % 6 == 5 else "h="  # some agent lists name no host
        p = run("migrate", f"{host}in.yaml", "-o", "r.yaml", "--keys", "keys", cwd=d)
        assert p.returncode in (0, 1), (i, p.returncode, p.stderr)
        if p.returncode == 0:
            c = run("check", "r.yaml", cwd=d)
            assert c.returncode == 0, (i, c.stderr)
        return p.returncode

    with ThreadPoolExecutor(WORKERS) as pool:
        codes = list(pool.map(one, range(CASES)))
    # The cases reach both outcomes: some inputs are still usable fleets.
    print(f"exit 0: {codes.count(0)}, exit 1: {codes.count(1)}")
    assert codes.count(0) >= 10 and codes.count(1) >= 10, codes
