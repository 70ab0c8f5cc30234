"""test_msgpack_to_json.py: msgpack -> JSON on what native agents send,
packed by Debian's python3-msgpack as the independent reference: values
must come out as Python's canonical JSON of them, byte for byte; float32 as
its own shortest digits (checked exactly with fractions); everything
without an exact JSON form refused with its reason and offset."""
import json
import math
import struct
from fractions import Fraction

import msgpack
import pytest

import values
from codec import Pairs, canon


def mp2json(xcode, docs, **kw):
    return xcode("mp2json", docs, **kw)


def test_random_values(xcode):
    """Random values (int64/uint64, float64, strings, nesting) print as
    Python's compact json.dumps does, and read back to the same value."""
    rng = values.rng_for("mp_random_values")
    vals = [values.rand_value(rng, dup_keys=False) for _ in range(1500)]
    res = mp2json(xcode, [msgpack.packb(values.plain(v)) for v in vals])
    for v, (reason, off, js) in zip(vals, res):
        assert reason == "ok", (reason, off)
        assert js.decode() == values.canonical_json(v)
        assert canon(json.loads(js, object_pairs_hook=Pairs)) == canon(v)


def test_float64_is_python_repr(xcode):
    rng = values.rng_for("mp_doubles")
    xs = [values.rand_double(rng) for _ in range(60000)]
    # the smallest subnormals and the powers of two, where the rounding
    # interval is lopsided
    xs += [struct.unpack("<d", struct.pack("<Q", b))[0] for b in
           list(range(1, 1000)) + [(e << 52) + d for e in range(1, 2047)
                                   for d in (-1, 0, 1)]]
    docs = [msgpack.packb(xs[i:i + 1000]) for i in range(0, len(xs), 1000)]
    for i, (reason, _, js) in enumerate(mp2json(xcode, docs)):
        assert reason == "ok"
        assert js.decode() == \
            "[" + ",".join(repr(x) for x in xs[1000 * i:1000 * i + 1000]) + "]"


def float32_interval(bits):
    """Value of the positive float32 with these bits and the interval of
    reals that round to it (closed when its significand is even)."""
    e, m = bits >> 23, bits & 0x7fffff
    ulp = Fraction(2) ** (max(e, 1) - 150)
    v = ((1 << 23) | m if e else m) * ulp
    below = ulp / 2 if m == 0 and e > 1 else ulp
    return v, v - below / 2, v + ulp / 2, m % 2 == 0


def sig_digits(x):
    """Significant decimal digits of the positive decimal fraction x."""
    while x.denominator != 1:
        x *= 10
    return len(str(x.numerator).rstrip("0"))


def shortest_closest(bits, text):
    """Whether text is a decimal that reads back as the float32, with as
    few digits as possible and, among those, closest to its value."""
    v, lo, hi, closed = float32_interval(bits)
    inside = (lambda x: lo <= x <= hi) if closed else (lambda x: lo < x < hi)
    x = abs(Fraction(text))
    n = sig_digits(x)
    if not inside(x):
        return False
    e0 = math.floor(math.log10(float(v)))
    for e in (e0 - 1, e0, e0 + 1):
        for d in range(1, n + 1):  # fewer digits, or as many but closer
            unit = Fraction(10) ** (e - d + 1)
            for c in (math.floor(v / unit) * unit, math.ceil(v / unit) * unit):
                if c > 0 and inside(c) and (sig_digits(c) < n or (
                        sig_digits(c) == n and abs(c - v) < abs(x - v))):
                    return False
    return True


def test_float32_shortest(xcode):
    """float32 prints the shortest digits of the float32 itself (0.1f is
    "0.1"), laid out like repr; an exact check, independent of the code."""
    rng = values.rng_for("mp_float32")
    bits = list(range(1, 200)) + [(e << 23) + d for e in range(1, 255)
                                  for d in (-1, 0, 1)]
    bits += [rng.getrandbits(31) for _ in range(6000)]
    bits = [b for b in bits if 0 < b < 0x7f800000]
    res = mp2json(xcode, [b"\xca" + struct.pack(">I", b) for b in bits])
    for b, (reason, _, js) in zip(bits, res):
        assert reason == "ok" and shortest_closest(b, js.decode()), \
            (hex(b), js)


@pytest.mark.parametrize("value,text", [
    (0.1, "0.1"), (-0.0, "-0.0"), (1.0, "1.0"), (16777216.0, "16777216.0"),
    (3.4028234663852886e38, "3.4028235e+38"), (1e-45, "1e-45"),
    (1e-5, "1e-05")])
def test_float32_examples(xcode, value, text):
    doc = msgpack.packb(value, use_single_float=True)
    assert mp2json(xcode, [doc])[0] == ("ok", 0, text.encode())


def test_wide_encodings_accepted(xcode):
    """Headers wider than needed carry the same values."""
    doc = (b"\xdf\x00\x00\x00\x02" b"\xdb\x00\x00\x00\x01k"
           b"\xdd\x00\x00\x00\x02\xcf" + struct.pack(">Q", 1) +
           b"\xd3" + struct.pack(">q", -1) +
           b"\xd9\x01v" b"\xde\x00\x00")
    assert mp2json(xcode, [doc])[0] == ("ok", 0, b'{"k":[1,-1],"v":{}}')


@pytest.mark.parametrize("doc,reason,offset", [
    (b"", "invalid_msgpack", 0),
    (b"\xc1", "invalid_msgpack", 0),
    (b"\x92\x01\xc1", "invalid_msgpack", 2),
    (b"\x01\x00", "trailing_garbage", 1),
    (b"\x91\xc4\x01x", "msgpack_bin", 1),
    (b"\xc5\x00\x01x", "msgpack_bin", 0),
    (b"\xc6\x00\x00\x00\x01x", "msgpack_bin", 0),
    (b"\x91\xd4\x01x", "msgpack_ext", 1),
    (b"\xd5\x01xy", "msgpack_ext", 0),
    (b"\xd6\x01xxxx", "msgpack_ext", 0),
    (b"\xd7\x01" + b"x" * 8, "msgpack_ext", 0),
    (b"\xd8\x01" + b"x" * 16, "msgpack_ext", 0),
    (b"\xc7\x01\x05x", "msgpack_ext", 0),
    (b"\xc8\x00\x01\x05x", "msgpack_ext", 0),
    (b"\xc9\x00\x00\x00\x01\x05x", "msgpack_ext", 0),
    (b"\x81\x01\xa1a", "non_string_key", 1),
    (b"\x81\xa1a\x01\x80", "trailing_garbage", 4),
    (b"\x82\xa1a\x01\xc0\x02", "non_string_key", 4),
    (b"\x81\x90\x01", "non_string_key", 1),
    (b"\x81\xc4\x01a\x01", "non_string_key", 1),
    (b"\x81\xcb" + struct.pack(">d", 1.0) + b"\x01", "non_string_key", 1),
    (b"\xcb" + struct.pack(">d", math.nan), "non_finite_float", 0),
    (b"\x91\xcb" + struct.pack(">d", -math.inf), "non_finite_float", 1),
    (b"\xca" + struct.pack(">f", math.inf), "non_finite_float", 0),
    (b"\xca\x7f\xc0\x00\x01", "non_finite_float", 0),
    (b"\xa3a\xc0\x80", "invalid_utf8", 2),
    (b"\xa3\xed\xa0\x80", "invalid_utf8", 1),
    (b"\xa4\xf4\x90\x80\x80", "invalid_utf8", 1),
    (b"\xa2a\xe2", "invalid_utf8", 2),
    (b"\xa1\x80", "invalid_utf8", 1),
    (b"\xdd\xff\xff\xff\xff", "invalid_msgpack", 5),
    (b"\xdb\xff\xff\xff\xffab", "invalid_msgpack", 0),
])
def test_refusals(xcode, doc, reason, offset):
    assert mp2json(xcode, [doc])[0] == (reason, offset, b"")


def test_every_prefix_is_truncated(xcode):
    rng = values.rng_for("mp_prefixes")
    doc = msgpack.packb([values.plain(values.rand_value(rng, dup_keys=False))
                         for _ in range(6)] + ["é" * 40, 2**64 - 1, 0.1])
    res = mp2json(xcode, [doc[:n] for n in range(len(doc))])
    assert {r for r, _, _ in res} == {"invalid_msgpack"}


def test_escapes_match_json_dumps(xcode):
    s = "".join(chr(c) for c in range(0x80)) + "é\u2028🚀"
    assert mp2json(xcode, [msgpack.packb(s)])[0][2].decode() == \
        json.dumps(s, ensure_ascii=False)


@pytest.mark.parametrize("limit", [1, 64, 1024])
def test_depth_bound(xcode, limit):
    docs = [b"\x91" * limit + b"\xc0", b"\x81\xa1k" * limit + b"\xc0",
            b"\x91" * (limit + 1) + b"\xc0", b"\x91" * limit + b"\x90",
            b"\x81\xa1k" * limit + b"\x80"]
    res = mp2json(xcode, docs, max_depth=limit)
    assert [(r, off) for r, off, _ in res] == [
        ("ok", 0), ("ok", 0), ("too_deep", limit), ("too_deep", limit),
        ("too_deep", 3 * limit)]


def test_output_bound(xcode):
    doc = msgpack.packb("x" * 40)  # JSON: 42 bytes
    assert mp2json(xcode, [doc], max_out=42)[0][0] == "ok"
    assert mp2json(xcode, [doc], max_out=41)[0] == ("output_too_large", 0, b"")
