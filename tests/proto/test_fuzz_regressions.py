"""test_fuzz_regressions.py: replays the fuzz seed corpora and every saved
regression case (tests/fuzz/) through the codec in every CI run, with the
fuzz targets' checks: no crash, and whatever is accepted comes back exactly.
"""
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
OTHER = {"json2mp": "mp2json", "mp2json": "json2mp"}


def inputs(direction):
    files = [p for sub in ("corpus", "regressions")
             for p in sorted((FUZZ / sub / direction).glob("*")) if p.is_file()]
    return files


@pytest.mark.parametrize("direction", ["json2mp", "mp2json"])
def test_replay(xcode, direction):
    files = inputs(direction)
    assert files, f"no seed corpus in {FUZZ / 'corpus' / direction}"
    first = xcode(direction, [p.read_bytes() for p in files])
    accepted = [out for reason, _, out in first if reason == "ok"]
    assert accepted, "every seed refused"
    there = xcode(OTHER[direction], accepted)
    assert {r for r, _, _ in there} == {"ok"}
    back = xcode(direction, [out for _, _, out in there])
    assert back == [("ok", 0, out) for out in accepted]
