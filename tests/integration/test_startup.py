"""test_startup.py: how agentbusd refuses to start: usage errors exit 2,
a bad registry, an unknown host or a port in use exit 1 and say why."""
import os
import re
import socket
import subprocess

import pytest

from harness import HANG_GUARD_S, free_port, service, tcp_endpoint


def run(argv):
    # The broker falls back on these for missing options: keep them out.
    env = {k: v for k, v in os.environ.items()
           if k not in ("AGENTBUS_REGISTRY", "AGENTBUS_HOST")}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=HANG_GUARD_S)


REG = ["--registry", "r.yaml"]
HOST = ["--host", "mainpc"]


@pytest.mark.parametrize("args, named", [
    ([], "--registry"),
    (REG, "--host"),
    (HOST, "--registry"),
    (REG + HOST + ["--bogus"], "--bogus"),
    (REG + HOST + ["--drain-ms", "soon"], "--drain-ms"),
], ids=["none", "no_host", "no_registry", "unknown_option", "bad_number"])
def test_usage_error_exits_2(agentbusd, args, named):
    r = run([str(agentbusd)] + args)
    assert r.returncode == 2, r
    assert named in r.stderr and "--help" in r.stderr, r


def test_help_prints_usage(agentbusd):
    r = run([str(agentbusd), "--help"])
    assert r.returncode == 0, r
    assert r.stdout.startswith("usage: agentbusd --registry FILE --host NAME"), r


def test_invalid_registry_exits_1_with_its_diagnostic(make_broker):
    broker = make_broker({"echo": service(70000, [tcp_endpoint(free_port())])}, start=False)
    assert broker.run_to_exit() == 1
    assert re.search(rf"{re.escape(str(broker.registry))}:\d+: services\.echo\.port",
                     broker.log()), broker.log()


def test_unparsable_registry_exits_1(make_broker):
    broker = make_broker({}, start=False)
    broker.registry.write_text("services: [unclosed\n")
    assert broker.run_to_exit() == 1
    assert f"{broker.registry}:" in broker.log()


def test_unknown_host_exits_1(make_broker):
    broker = make_broker({"echo": service(free_port(), [tcp_endpoint(free_port())])},
                         start=False)
    assert broker.run_to_exit(host="nosuchhost") == 1
    assert "nosuchhost" in broker.log()


def test_port_in_use_exits_1_naming_the_port(make_broker):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = make_broker({"echo": service(port, [tcp_endpoint(free_port())])}, start=False)
        assert broker.run_to_exit() == 1
    lines = [ln for ln in broker.log().splitlines()
             if " error " in ln and "bind" in ln and f"port={port}" in ln and "errno=" in ln]
    assert lines, broker.log()
