"""test_json_styles.py: the byte-exact transcode against the real producers.

Documents written by Python's json.dumps (/usr/bin/python3) in its common
styles and by node's JSON.stringify must be accepted by the exact transcode
(ab_json_to_msgpack_exact) whenever the codec can carry their value, and the
msgpack must print back, in the producer's style and in the style the
transcode chose, as the very same bytes. Values: random documents, number
and string extremes, the fuzz seeds and the JSONTestSuite accepted cases.
"""
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import values
from codec import STYLES
from test_jsontestsuite import CASES, SKIP_REASON

FUZZ_SEEDS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "json2mp"
PYTHON_STYLES = {
    "python": {},
    "python_compact": {"separators": (",", ":")},
    "python_utf8": {"ensure_ascii": False},
    "compact": {"separators": (",", ":"), "ensure_ascii": False},
}
NODE = shutil.which("node") or shutil.which("nodejs")
# Reads records (u32 LE length + JSON text) on stdin and writes each as
# JSON.stringify(JSON.parse(text)) in the same framing.
NODE_SCRIPT = r"""
const data = require('fs').readFileSync(0);
const out = [];
for (let pos = 0; pos < data.length;) {
  const n = data.readUInt32LE(pos); pos += 4;
  const text = JSON.stringify(JSON.parse(data.toString('utf8', pos, pos + n)));
  pos += n;
  const b = Buffer.from(text, 'utf8'), h = Buffer.alloc(4);
  h.writeUInt32LE(b.length); out.push(h, b);
}
process.stdout.write(Buffer.concat(out));
"""


def loads_or_none(raw):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def dumps(v, **kw):
    """json.dumps as bytes; a lone surrogate that UTF-8 cannot hold is
    kept as its surrogate-escaped bytes (which the codec must refuse)."""
    return json.dumps(v, **kw).encode("utf-8", "surrogatepass")


def corpus_values():
    """Plain Python values (dicts, no duplicate keys) to dump."""
    rng = values.rng_for("json_styles")
    vals = [values.plain(values.rand_value(rng, dup_keys=False))
            for _ in range(1500)]
    vals += [values.FLOAT_EXTREMES, values.INT_EXTREMES,
             ["".join(values.SPECIAL_CHARS)], values.SPECIAL_CHARS,
             [values.rand_double(rng) for _ in range(3000)],
             {"nested": [{"a": [1.5, None, True, "x\u2028y"]}], "": {}}]
    for p in sorted(FUZZ_SEEDS.glob("*.json")):
        v = loads_or_none(p.read_bytes())
        if v is not None:
            vals.append(v)
    for p in CASES:
        if p.name.startswith("y_"):
            v = loads_or_none(p.read_bytes())
            if v is not None:
                vals.append(v)
    return vals


def check_exact(xcode, docs, producer):
    """Every doc the codec can carry is accepted and restored exactly;
    the others are refused with the codec's own reason."""
    plain = xcode("json2mp", docs)
    exact = xcode("exact", docs)
    accepted = []
    for doc, (p_reason, _, _), (reason, _, out) in zip(docs, plain, exact):
        if p_reason != "ok":
            assert reason == p_reason, doc[:200]
            continue
        assert reason == "ok", (reason, doc[:200])
        accepted.append((doc, out[0], out[1:]))
    assert accepted, "nothing accepted"
    mps = [mp for _, _, mp in accepted]
    mine = xcode("mp2json", mps, style=producer)
    for (doc, _, _), (reason, _, js) in zip(accepted, mine):
        assert reason == "ok" and js == doc, (producer, doc[:200], js[:200])
    for name, sid in STYLES.items():
        chosen = [(doc, mp) for doc, st, mp in accepted if st == sid]
        back = xcode("mp2json", [mp for _, mp in chosen], style=name)
        for (doc, _), (reason, _, js) in zip(chosen, back):
            assert reason == "ok" and js == doc, (name, doc[:200], js[:200])
    return len(accepted)


@pytest.mark.parametrize("producer", sorted(PYTHON_STYLES))
def test_python_json_dumps(xcode, producer):
    kw = PYTHON_STYLES[producer]
    docs = [dumps(v, **kw) for v in corpus_values()]
    assert check_exact(xcode, docs, producer) > 1500


def test_jsontestsuite_present():
    if not CASES:
        pytest.skip(SKIP_REASON)


def node_stringify(texts):
    proc = subprocess.run([NODE, "-e", NODE_SCRIPT],
                          input=b"".join(struct.pack("<I", len(t)) + t
                                         for t in texts),
                          capture_output=True, check=True, timeout=120)
    out, pos, docs = proc.stdout, 0, []
    while pos < len(out):
        (n,) = struct.unpack_from("<I", out, pos)
        docs.append(out[pos + 4:pos + 4 + n])
        pos += 4 + n
    assert len(docs) == len(texts)
    return docs


@pytest.mark.skipif(NODE is None, reason="node is not installed: the "
                    "JSON.stringify style is not checked against it")
def test_node_json_stringify(xcode):
    texts = []
    for v in corpus_values():
        try:  # node's JSON.parse takes no NaN or Infinity
            texts.append(json.dumps(v, allow_nan=False).encode())
        except ValueError:
            pass
    rng = values.rng_for("json_styles_node")
    # Numbers at every layout boundary of Number.prototype.toString.
    texts += [json.dumps([float(f"{m}e{e}") for m in (1, 1.5, 9.999, 123456789)
                          for e in range(-320, 300, 3)]).encode(),
              json.dumps([rng.randint(-2**53, 2**53) for _ in range(500)])
              .encode()]
    docs = node_stringify(texts)
    # integers beyond 2^53 come back from JSON.parse as doubles, which
    # JSON.stringify may spell as integers above 2^64: refused, sent raw
    assert check_exact(xcode, docs, "js") > 1000


def test_styles_refuse_other_spellings(xcode):
    """Pretty-printed, spaced-differently or re-escaped JSON is valid but
    no style writes it: refused as not_exact, never accepted wrongly."""
    v = {"a": [1, 2.5, "\u00e9"], "b": None}
    docs = [json.dumps(v, indent=2).encode(),
            json.dumps(v, separators=(", ", ":")).encode(),
            json.dumps(v).encode() + b"\n",
            b'{"a":[1,2.50,"\\u00E9"],"b":null}']
    assert [r for r, _, _ in xcode("exact", docs)] == ["not_exact"] * 4
