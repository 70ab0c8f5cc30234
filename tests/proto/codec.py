"""codec.py: drives the codec's batch helper (proto/tc_batch) and turns
decoded values into canonical, type-exact trees the tests compare.

The helper is found in $AGENTBUS_BUILD/proto/tc_batch (the CMake build
directory); conftest.py makes a missing one a test failure, not a skip.
"""
import math
import os
import struct
import subprocess
from pathlib import Path

# Same order as AB_TC_REASONS in proto/transcode.h.
REASONS = ["ok", "invalid_json", "invalid_utf8", "integer_out_of_range",
           "too_deep", "trailing_garbage", "invalid_msgpack", "msgpack_ext",
           "non_string_key", "msgpack_bin", "non_finite_float",
           "output_too_large", "out_of_memory", "not_exact"]

# Same ids as AB_JSON_STYLES in proto/transcode.h.
STYLES = {"compact": 0, "python": 1, "python_compact": 2, "python_utf8": 3,
          "js": 4}

RESULT_HEAD = struct.Struct("<BQI")


def build_dir():
    build = os.environ.get("AGENTBUS_BUILD")
    return Path(build).resolve() if build else None


def helper_path():
    build = build_dir()
    return build / "proto" / "tc_batch" if build else None


def run(direction, docs, max_depth=None, max_out=None, style=None):
    """Transcode every document of docs (bytes) in one helper process.
    direction: json2mp, mp2json (in style, a name of STYLES) or exact
    (output: the style id byte, then the msgpack).
    Returns a list of (reason name, error offset, output bytes)."""
    cmd = [str(helper_path()), direction]
    if style is not None:
        cmd += ["--style", str(STYLES[style])]
    if max_depth is not None:
        cmd += ["--max-depth", str(max_depth)]
    if max_out is not None:
        cmd += ["--max-out", str(max_out)]
    stdin = b"".join(struct.pack("<I", len(d)) + d for d in docs)
    proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False,
                          timeout=300)
    assert proc.returncode == 0, (proc.returncode, proc.stderr.decode())
    out, pos, results = proc.stdout, 0, []
    while pos < len(out):
        reason, offset, n = RESULT_HEAD.unpack_from(out, pos)
        pos += RESULT_HEAD.size
        results.append((REASONS[reason], offset, out[pos:pos + n]))
        pos += n
    assert len(results) == len(docs)
    return results


class Pairs(list):
    """A decoded object: its (key, value) pairs in order, duplicates kept.
    Pass Pairs as object_pairs_hook to json.loads and msgpack.unpackb."""


def canon(v):
    """A tree equal for two decoded values exactly when they are the same
    value: types kept apart (True is not 1, 1.0 is not 1), floats compared
    by bit pattern (-0.0 is not 0.0), objects as their ordered pairs."""
    if v is None or isinstance(v, (bool, str)):
        return (type(v).__name__, v)
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, float):
        return ("float", struct.pack("<d", v))
    if isinstance(v, Pairs):
        return ("object", [(canon(k), canon(x)) for k, x in v])
    if isinstance(v, list):
        return ("array", [canon(x) for x in v])
    raise TypeError(f"unexpected {type(v)}")


def finite(v):
    """Whether every float in the decoded value is finite."""
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, Pairs):
        return all(finite(x) for _, x in v)
    if isinstance(v, list):
        return all(finite(x) for x in v)
    return True
