"""test_jsontestsuite.py: the JSONTestSuite parsing cases
(github.com/nst/JSONTestSuite), expected beside the repository clone in
../shared/jsontestsuite/test_parsing (override: JSONTESTSUITE_DIR).

  y_  must transcode JSON -> msgpack -> JSON to the value Python reads
      (every one is representable: the contract refuses none);
  n_  must be refused;
  i_  may go either way, but if accepted the value must survive;
and the helper must not crash on any of them (a crash fails every case).
"""
import json
import os
from pathlib import Path

import msgpack
import pytest

import codec

REPO = Path(__file__).resolve().parents[2]
SUITE = Path(os.environ.get("JSONTESTSUITE_DIR",
                            REPO.parent / "shared" / "jsontestsuite" /
                            "test_parsing"))
CASES = sorted(SUITE.glob("*.json")) if SUITE.is_dir() else []
SKIP_REASON = f"JSONTestSuite not found at {SUITE}: cases not run"

@pytest.fixture(scope="module")
def results(xcode):
    """Each case through both directions, in two helper runs."""
    docs = [p.read_bytes() for p in CASES]
    to_mp = xcode("json2mp", docs)
    back = xcode("mp2json", [out for _, _, out in to_mp])
    return {p.name: (doc, mp, js)
            for p, doc, mp, js in zip(CASES, docs, to_mp, back)}


def check_round_trip(doc, mp, js):
    reason, offset, packed = mp
    assert reason == "ok", f"refused: {reason} at {offset}"
    want = codec.canon(json.loads(doc.decode("utf-8"),
                                  object_pairs_hook=codec.Pairs))
    got = msgpack.unpackb(packed, raw=False, strict_map_key=False,
                          object_pairs_hook=codec.Pairs)
    assert codec.canon(got) == want, "msgpack carries another value"
    assert js[0] == "ok", f"msgpack -> JSON refused: {js[0]}"
    assert codec.canon(json.loads(js[2].decode("utf-8"),
                                  object_pairs_hook=codec.Pairs)) == want


def test_suite_present():
    if not CASES:
        pytest.skip(SKIP_REASON)
    kinds = {p.name[0] for p in CASES}
    assert kinds == {"y", "n", "i"}


@pytest.mark.parametrize("case", [p.name for p in CASES if p.name[0] == "y"])
def test_accepted(results, case):
    check_round_trip(*results[case])


@pytest.mark.parametrize("case", [p.name for p in CASES if p.name[0] == "n"])
def test_rejected(results, case):
    reason = results[case][1][0]
    assert reason in ("invalid_json", "invalid_utf8", "trailing_garbage",
                      "too_deep", "non_finite_float"), reason


@pytest.mark.parametrize("case", [p.name for p in CASES if p.name[0] == "i"])
def test_implementation_defined(results, case):
    doc, mp, js = results[case]
    if mp[0] == "ok":
        check_round_trip(doc, mp, js)
    else:
        assert mp[0] not in ("output_too_large", "out_of_memory"), mp[0]
