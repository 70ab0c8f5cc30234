"""test_demo.py: deploy/demo.sh --once, the guided tour, as a check: two
hosts (network namespaces, and the loopback addresses a user without root
gets), each with its agents and broker, requests from
each host to the services of both (the other host's over the link), link
statistics, and both brokers exiting 0. It uses the binaries under test
(AGENTBUS_BIN) instead of building its own."""
import os
import re
import subprocess
from pathlib import Path

import pytest

import netns

ROOT = Path(__file__).resolve().parents[2]


TITLES = {"namespaces": "== Two hosts: namespaces (mainpc 198.18.0.1, gpubox 198.18.0.2)",
          "loopback": "== Two hosts: loopback (mainpc 127.0.0.1, gpubox 127.0.0.2)"}


@pytest.mark.parametrize("mode", ["namespaces", "loopback"])
def test_demo_shows_two_hosts_calling_each_other(build_dir, mode):
    # loopback is what a user without root gets; forced here, as CI is root.
    env = dict(os.environ, AGENTBUS_BIN=str(build_dir / "broker"))
    if mode == "loopback":
        env["AGENTBUS_DEMO_MODE"] = "loopback"
    r = subprocess.run([str(ROOT / "deploy" / "demo.sh"), "--once"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=netns.HANG_GUARD_S * 4)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    assert TITLES[mode] in out, out
    # mainpc's client reaches gpubox's agent, and gpubox's reaches mainpc's.
    for here, svc, there, port in (("mainpc", "embeddings", "gpubox", 15584),
                                   ("gpubox", "translation", "mainpc", 15581)):
        section = out[out.index(f"== Requests from {here}"):]
        section = section[section.index(f"\n{svc} (port"):]
        assert section.startswith(f"\n{svc} (port ") and \
            f"served on host {there}, over the link" in section.splitlines()[1], section
        assert f'"served_by": "{svc} agent at tcp://127.0.0.1:{port}"' in section, section
    assert len(re.findall(r"stats link=\w+ side=out requests=[1-9]", out)) == 2, out
    assert out.rstrip().endswith("demo complete"), out
