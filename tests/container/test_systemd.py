"""test_systemd.py: deploy/agentbusd.service run by a real systemd, as the
init of a container: start with Type=notify under every hardening directive
of the unit, a request through the broker, reload (a registry that fails
the check is refused by ExecReload and the broker keeps serving), and stop
with a drain and a clean exit."""
import shutil
import subprocess

import pytest

import podman as pm

REGISTRY = """hosts:
  mainpc: {}
services:
  translation:
    host: mainpc
    port: 5581
    backends: ["tcp://127.0.0.1:15581"]
"""


def sh(name, command):
    return pm.podman("exec", name, "sh", "-c", command, check=False)


def journal(name):
    return sh(name, "journalctl -u agentbusd -o cat --no-pager").stdout


def unit(name):
    """The unit's properties systemctl show reports."""
    out = sh(name, "systemctl show agentbusd -p ActiveState -p StatusText -p Type "
                   "-p Result -p ExecMainStatus").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.fixture
def host(run, images, engine, tmp_path):
    """A container booted with systemd, agentbusd.service enabled in it as
    the unit's header says to install it."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    shutil.copy(pm.ROOT / "deploy" / "agentbusd.service", ctx)
    shutil.copy(pm.ROOT / "deploy" / "demo_agents.py", ctx)
    (ctx / "registry.yaml").write_text(REGISTRY)
    (ctx / "agentbusd.env").write_text("AGENTBUS_HOST=mainpc\n")
    tag = run.build("systemd", pm.ROOT / "tests" / "container" / "systemd.Dockerfile", ctx,
                    {"SYSTEMD_BASE": engine["AGENTBUS_BASE_SYSTEMD"],
                     "AGENTBUS_IMAGE": images["agentbus"]})
    name = run.start("host", tag, options=["--systemd=always"])
    # Polled: until systemd listens, systemctl cannot even ask.
    pm.wait_until(lambda: sh(name, "systemctl is-system-running").stdout.strip()
                  in ("running", "degraded"), "systemd to finish booting")
    return name


def test_unit_under_systemd(host):
    # Started as Type=notify: active only once agentbusd said READY=1.
    state = unit(host)
    assert (state["Type"], state["ActiveState"], state["StatusText"]) == \
        ("notify", "active", "serving"), (state, journal(host))
    pm.podman("exec", "-d", host, "python3", "/usr/local/bin/demo_agents.py", "agent",
              "--service", "translation", "--bind", "tcp://127.0.0.1:15581")
    pm.wait_until(lambda: "backend up service=translation" in journal(host), "backend up")
    p = pm.podman("exec", host, "python3", "-c", pm.REQ_CLIENT, "tcp://127.0.0.1:5581",
                  '{"text": "under systemd"}')
    assert '"shout": "UNDER SYSTEMD"' in p.stdout, p.stdout

    # Reload: a broken registry fails ExecReload's check and is not sent.
    sh(host, "cp /etc/agentbus/registry.yaml /tmp/good.yaml && "
             "printf 'bogus: [\\n' >> /etc/agentbus/registry.yaml")
    bad = sh(host, "systemctl reload agentbusd")
    assert bad.returncode != 0
    assert "/etc/agentbus/registry.yaml:" in journal(host) + bad.stderr
    assert unit(host)["ActiveState"] == "active"
    sh(host, "cp /tmp/good.yaml /etc/agentbus/registry.yaml")
    assert sh(host, "systemctl reload agentbusd").returncode == 0
    pm.wait_until(lambda: "reload ok services=1" in journal(host), "reload ok")

    # Stop: SIGTERM, drain, exit 0.
    assert sh(host, "systemctl stop agentbusd").returncode == 0
    state = unit(host)
    assert (state["Result"], state["ExecMainStatus"]) == ("success", "0"), state
    assert "exit drained=0 abandoned=0" in journal(host)


def test_unit_file_verifies(agentbus_tool, tmp_path):
    # systemd's own checks of the file (no engine needed): directives,
    # executables (the built ones stand in for /usr/local/bin).
    unit_file = tmp_path / "agentbusd.service"
    unit_file.write_text((pm.ROOT / "deploy" / "agentbusd.service").read_text()
                         .replace("/usr/local/bin/", f"{agentbus_tool.parent}/"))
    p = subprocess.run(["systemd-analyze", "verify", str(unit_file)], capture_output=True,
                       text=True, timeout=pm.HANG_GUARD_S, check=False)
    assert p.returncode == 0 and p.stderr == "", p.stderr
