"""test_registry_reader.py: agentbus.h's registry reader (ab_registry_lookup,
through the probe) on registries written by a real YAML emitter (PyYAML) in
its different styles: each lookup must give the emitted port and backends,
except for the all-flow style the reader refuses, clearly. The reader is
also compared with the broker's own loader (test_registry_diff, ctest)."""
import random

import pytest
import yaml

STYLES = [
    dict(default_flow_style=False),
    dict(default_flow_style=False, indent=4),
    dict(default_flow_style=False, explicit_start=True, sort_keys=True),
    dict(default_flow_style=None),
    dict(default_flow_style=None, width=20),   # flow sequences over many lines
    dict(default_flow_style=True, width=4096),  # all on one line: refused, see below
]


def random_registry(rng):
    endpoints = ["tcp://127.0.0.1:%d", "tcp://gpu-%d.lan:1", "tcp://[::1]:%d",
                 "ipc:///run/agentbus/s%d.sock", "ipc:///tmp/with space %d"]
    services = {}
    for i in range(8):
        name = rng.choice(["svc", "a.b", "x_y", "s-t", "9z"]) + str(i)
        backends = [rng.choice(endpoints) % rng.randint(1, 65535)
                    for _ in range(rng.randint(1, 5))]
        entry = {"host": "mainpc", "port": 5000 + i, "backends": backends}
        if rng.random() < 0.5:
            entry["timeout_ms"] = rng.randint(1, 100000)
        services[name] = entry
    return {"defaults": {"queue_max": 4}, "hosts": {"mainpc": {}, "gpubox": None},
            "services": services}


@pytest.mark.parametrize("seed", range(3))
def test_emitted_registries_read_right(probe, tmp_path, seed):
    rng = random.Random(seed)
    doc = random_registry(rng)
    for n, style in enumerate(STYLES):
        path = tmp_path / f"registry-{n}.yaml"
        path.write_text(yaml.safe_dump(doc, **style))
        for name, entry in doc["services"].items():
            res, = probe.run("lookup", name, registry=path)
            if style.get("default_flow_style") is True:
                # {services: {...}} on one line: the reader refuses it whole.
                assert res["rc"] == "registry", res
                assert "may not start with a flow collection" in res["message"], res
            else:
                assert res["rc"] == "ok", (style, res, path.read_text())
                assert (res["port"], res["backends"]) == (entry["port"], entry["backends"])


def test_the_example_registry_reads_like_the_docs_say(probe):
    from pathlib import Path
    example = Path(__file__).resolve().parents[2] / "deploy" / "registry.example.yaml"
    res, = probe.run("lookup", "summarizer", registry=example)
    assert res == {"rc": "ok", "name": "summarizer", "port": 5582,
                   "backends": ["tcp://127.0.0.1:15582", "tcp://127.0.0.1:15583"]}
