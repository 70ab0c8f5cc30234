"""test_check.py: `agentbus check` on files that used to stall it or the
daemon: absurdly deep nesting (libyaml's parse time grows with the square
of the depth: a 1 MiB file took minutes), FIFOs (opening one blocks until a
writer comes). Each must be refused at once with one clear line; the
subprocess timeout is only the hang guard."""
import os
import subprocess

from harness import HANG_GUARD_S

MAX_FILE = 1 << 20


def check(agentbus, path):
    return subprocess.run([str(agentbus), "check", str(path)], capture_output=True,
                          text=True, timeout=HANG_GUARD_S)


def test_deep_nesting_is_refused(agentbus, tmp_path):
    # 100k levels inside an otherwise plausible registry, and a whole
    # 1 MiB file of '[': both are refused during the first event scan.
    deep = tmp_path / "deep.yaml"
    deep.write_text("hosts: {h: {}}\nservices:\n  a: " + "[" * 100000 + "]" * 100000 + "\n")
    full = tmp_path / "full.yaml"
    full.write_text("[" * MAX_FILE)
    for path, line in ((deep, 3), (full, 1)):
        r = check(agentbus, path)
        assert r.returncode == 1, r
        assert r.stderr == (f"{path}:{line}: yaml: nesting is deeper than 16 levels "
                            "(REG_MAX_DEPTH); a registry needs 4\n"), r


def test_fifo_is_refused(agentbus, tmp_path):
    fifo = tmp_path / "registry.yaml"
    os.mkfifo(fifo)
    r = check(agentbus, fifo)
    assert r.returncode == 1, r
    assert r.stderr == f"{fifo}: not a regular file (a FIFO)\n", r
