"""probing.py: what the agentbus.h tests drive: the programs CMake built
(the probe, the examples) found in $AGENTBUS_BUILD, and the probe's
protocol (JSON lines, see probe.c)."""
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

import harness


def build_dir():
    build = os.environ.get("AGENTBUS_BUILD")
    if not build:
        pytest.fail("set AGENTBUS_BUILD to the CMake build directory", pytrace=False)
    return Path(build).resolve()


def built(rel):
    """Path of a program CMake built, failing clearly when it is missing."""
    exe = build_dir() / rel
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not found: build it first (cmake --build {build_dir()})",
                    pytrace=False)
    return exe


def service_port(broker, name):
    """The port the broker's registry gives service `name`."""
    return yaml.safe_load(broker.registry.read_text())["services"][name]["port"]


class Probe:
    """ab_probe (C) or ab_probe_cxx (C++): see probe.c for its commands."""

    def __init__(self, exe):
        self.exe = exe

    def argv(self, *args, registry=None, broker=None, shared_ctx=False):
        argv = [str(self.exe)]
        argv += ["--registry", str(registry)] if registry else []
        argv += ["--broker", broker] if broker else []
        argv += ["--shared-ctx"] if shared_ctx else []
        return argv + [str(a) for a in args]

    def run(self, *args, stdin=b"", env=None, **opts):
        """Run to completion; returns the JSON lines it printed."""
        proc = subprocess.run(self.argv(*args, **opts), input=stdin, capture_output=True,
                              env=dict(os.environ, **(env or {})),
                              timeout=harness.HANG_GUARD_S * 4)
        assert proc.returncode == 0, \
            f"{self.exe.name} {args} exited {proc.returncode}:\n{proc.stderr.decode()}"
        return [json.loads(ln) for ln in proc.stdout.decode().splitlines()]

    def calls(self, target, calls, **kw):
        """One client, one call per (timeout_ms, retries, frames); returns a
        result per call: {"rc", "dropped", "frames" | "from_broker", ...}."""
        return self.finish_calls(self.start_calls(target, calls, **kw))

    def start_calls(self, target, calls, **kw):
        """calls(), running in the background: finish_calls() waits for it."""
        with tempfile.TemporaryFile() as script:
            script.write("".join(f"{t} {r} {'.'.join(f.hex() for f in frames)}\n"
                                 for t, r, frames in calls).encode())
            script.seek(0)
            return self.spawn("calls", target, stdin=script, **kw)

    def finish_calls(self, proc):
        out, err = proc.communicate(timeout=harness.HANG_GUARD_S * 4)
        assert proc.returncode == 0, f"{self.exe.name} exited {proc.returncode}:\n{err.decode()}"
        results = [json.loads(ln) for ln in out.decode().splitlines()]
        for res in results:
            if res["rc"] == "ok":
                res["frames"] = [bytes.fromhex(h) for h in res["frames"]]
        return results

    def spawn(self, *args, env=None, stdin=None, **opts):
        return subprocess.Popen(self.argv(*args, **opts), stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=dict(os.environ, **(env or {})))
