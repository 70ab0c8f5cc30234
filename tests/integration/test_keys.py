"""test_keys.py: link keys through the command line, as an operator uses
them: `agentbus keygen` writes a private key file and prints the registry
lines, `agentbus check` shows the key's fingerprint, and agentbusd
--secret-key refuses every bad key file with one clear line (and starts
with a good one, by option or $AGENTBUS_SECRET_KEY_FILE)."""
import os
import re
import signal
import stat
import subprocess

import pytest
import yaml
import zmq

from harness import HANG_GUARD_S, free_port, service, tcp_endpoint, wait_until


def run(argv, **kw):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AGENTBUS_")}
    env.update(kw.pop("env", {}))
    return subprocess.run([str(a) for a in argv], capture_output=True,
                          text=True, env=env, timeout=HANG_GUARD_S, **kw)


def keygen(agentbus, name, out, *extra):
    r = run([agentbus, "keygen", name, "--out", out, *extra])
    assert r.returncode == 0, r.stderr
    return re.search(r"^public key:  (\S{40})$", r.stdout, re.M).group(1), r


def test_keygen_writes_private_file_and_prints_registry_lines(agentbus, tmp_path):
    key = tmp_path / "mainpc.key"
    pub, r = keygen(agentbus, "mainpc", key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    text = key.read_text()
    assert "host: mainpc\n" in text and f"public_key: {pub}\n" in text
    assert re.search(r"^secret_key: \S{40}$", text, re.M)
    # The printed lines are valid registry YAML carrying the same key.
    lines = r.stdout[r.stdout.index("  mainpc:"):]
    entry = yaml.safe_load(lines)["mainpc"]
    assert entry["public_key"] == pub and entry["link"].startswith("tcp://")
    # The public key belongs to the secret key (libzmq derives it again).
    secret = re.search(r"^secret_key: (\S{40})$", text, re.M).group(1)
    assert zmq.curve_public(secret.encode()).decode() == pub


def test_keygen_never_overwrites_unless_forced(agentbus, tmp_path):
    key = tmp_path / "h.key"
    first, _ = keygen(agentbus, "h", key)
    r = run([agentbus, "keygen", "h", "--out", key])
    assert r.returncode == 1
    assert "exists; refusing to overwrite a key (use --force" in r.stderr
    assert f"public_key: {first}" in key.read_text()
    key.chmod(0o644)
    second, _ = keygen(agentbus, "h", key, "--force")
    assert second != first and f"public_key: {second}" in key.read_text()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_keygen_usage(agentbus, tmp_path):
    assert run([agentbus, "keygen"]).returncode == 2
    r = run([agentbus, "keygen", "bad name", "--out", tmp_path / "x"])
    assert r.returncode == 1 and "must be 1..64 characters" in r.stderr
    r = run([agentbus, "keygen", "--help"])
    assert r.returncode == 0 and r.stdout.startswith("usage: agentbus keygen")
    r = run([agentbus, "keygen", "gpubox"], cwd=tmp_path)  # default NAME.key
    assert r.returncode == 0 and (tmp_path / "gpubox.key").exists()


def two_host_registry(path, pub, other_pub, port):
    doc = {"hosts": {
        "mainpc": {"link": tcp_endpoint(free_port()), "public_key": pub},
        "gpubox": {"link": "tcp://198.18.0.2:7700", "public_key": other_pub}},
        "services": {"echo": service(port, ["tcp://127.0.0.1:1"])}}
    path.write_text(yaml.safe_dump(doc))
    return path


def test_check_prints_hosts_with_fingerprints(agentbus, tmp_path):
    pub, r = keygen(agentbus, "mainpc", tmp_path / "a.key")
    fp = re.search(r"^fingerprint: (sha256:[0-9a-f]{16})$", r.stdout, re.M)[1]
    other, _ = keygen(agentbus, "gpubox", tmp_path / "b.key")
    reg = two_host_registry(tmp_path / "r.yaml", pub, other, free_port())
    r = run([agentbus, "check", reg])
    assert r.returncode == 0, r.stderr
    row = re.search(r"^mainpc\s+(tcp://\S+)\s+1\s+(sha256:\S+)\s+-$",
                    r.stdout, re.M)
    assert row and row[2] == fp
    assert re.search(r"^gpubox\s+tcp://198\.18\.0\.2:7700\s+0\s+sha256:",
                     r.stdout, re.M)
    assert "links: per_peer=1 heartbeat_ms=1000 down_ms=3000" in r.stdout


class Setup:
    """A registry whose mainpc key is `good`, plus a gpubox key."""

    def __init__(self, agentbus, agentbusd, tmp_path):
        self.exe, self.dir = agentbusd, tmp_path
        self.good = tmp_path / "mainpc.key"
        self.pub, _ = keygen(agentbus, "mainpc", self.good)
        self.other = tmp_path / "gpubox.key"
        other_pub, _ = keygen(agentbus, "gpubox", self.other)
        self.reg = two_host_registry(tmp_path / "r.yaml", self.pub, other_pub,
                                     free_port())

    def start(self, key=None, env=None, host="mainpc"):
        argv = [self.exe, "--registry", self.reg, "--host", host,
                "--bind", "127.0.0.1", "--link-bind", "127.0.0.1"]
        argv += ["--secret-key", key] if key else []
        return run(argv, env=env or {})


@pytest.fixture
def setup(agentbus, agentbusd, tmp_path):
    return Setup(agentbus, agentbusd, tmp_path)


def refused(r, want):
    assert r.returncode == 1, (r.returncode, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if "startup failed" in ln]
    assert len(lines) == 1 and want in lines[0], r.stderr


def test_missing_key_file_is_refused(setup):
    refused(setup.start(setup.dir / "nope.key"),
            "nope.key: no such file (make one with: agentbus keygen")


def test_key_readable_by_others_is_refused(setup):
    setup.good.chmod(0o644)
    refused(setup.start(setup.good), "mode 0644 lets group or others access "
                                     "the secret key; run: chmod 600")
    setup.good.chmod(0o620)
    refused(setup.start(setup.good), "mode 0620 lets group or others")


def test_key_that_is_not_a_file_is_refused(setup):
    refused(setup.start(setup.dir), ": not a regular file")


def test_malformed_key_file_is_refused(setup):
    bad = setup.dir / "bad.key"
    bad.write_text(setup.good.read_text().replace("secret_key:", "secret:"))
    bad.chmod(0o600)
    refused(setup.start(bad), "bad.key:6: malformed: unknown key 'secret'")


def test_public_key_not_matching_secret_is_refused(setup):
    mixed = setup.dir / "mixed.key"
    secret = re.search(r"^secret_key: .*$", setup.other.read_text(), re.M)[0]
    mixed.write_text(re.sub(r"^secret_key: .*$", secret,
                            setup.good.read_text(), flags=re.M))
    mixed.chmod(0o600)
    refused(setup.start(mixed), "public_key does not belong to secret_key")


def test_key_not_in_registry_is_refused(agentbus, setup):
    stranger = setup.dir / "stranger.key"
    keygen(agentbus, "mainpc", stranger)
    refused(setup.start(stranger), "does not match hosts.mainpc.public_key in")


def test_key_of_another_host_is_refused(setup):
    refused(setup.start(setup.other),
            "gpubox.key is the key of host gpubox, but this broker runs as "
            "host mainpc")


@pytest.mark.parametrize("how", ["option", "environment"])
def test_good_key_starts_the_broker(setup, how):
    argv = [setup.exe, "--registry", setup.reg, "--host", "mainpc",
            "--bind", "127.0.0.1", "--link-bind", "127.0.0.1"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTBUS_")}
    if how == "option":
        argv += ["--secret-key", setup.good]
    else:
        env["AGENTBUS_SECRET_KEY_FILE"] = str(setup.good)
    log = setup.dir / "log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(a) for a in argv], stdout=out,
                                stderr=out, env=env)
    try:
        wait_until(lambda: "ready host=" in log.read_text()
                   or proc.poll() is not None, "ready or exit")
        text = log.read_text()
        assert "ready host=mainpc" in text, text
        assert f"secret_key file={setup.good} host=mainpc public_key=" \
               f"{setup.pub} fingerprint=sha256:" in text
        assert "secret_key:" not in text  # the secret never reaches a log
    finally:
        proc.terminate()
        assert proc.wait(HANG_GUARD_S) == 0


def test_a_host_in_links_needs_its_key(setup):
    # mainpc has a link: in a two-host registry: no --secret-key, no start
    # (--link-plaintext is the explicit way round, for labs).
    refused(setup.start(), "host mainpc takes part in links (it has a link: tcp://"
                           "127.0.0.1:")
    assert "start agentbusd with --secret-key FILE (make one with: agentbus keygen " \
           "mainpc), or with --link-plaintext in a lab" in setup.start().stderr


def test_reload_rechecks_the_key(setup, agentbus):
    # A registry that no longer lists this broker's key is refused on
    # SIGHUP: the previous registry and key keep serving.
    log = setup.dir / "reload.log"
    argv = [setup.exe, "--registry", setup.reg, "--host", "mainpc", "--bind", "127.0.0.1",
            "--link-bind", "127.0.0.1", "--secret-key", setup.good]
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=out,
                                env={k: v for k, v in os.environ.items()
                                     if not k.startswith("AGENTBUS_")})
    try:
        wait_until(lambda: "ready host=" in log.read_text(), "ready")
        stranger, _ = keygen(agentbus, "mainpc", setup.dir / "stranger.key")
        doc = yaml.safe_load(setup.reg.read_text())
        doc["hosts"]["mainpc"]["public_key"] = stranger
        setup.reg.write_text(yaml.safe_dump(doc))
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "does not match hosts.mainpc.public_key" in log.read_text(),
                   "the reload refused")
        text = log.read_text()
        assert "reload failed: registry rejected, still serving the previous one" in text
        assert "reload ok" not in text
    finally:
        proc.terminate()
        assert proc.wait(HANG_GUARD_S) == 0
