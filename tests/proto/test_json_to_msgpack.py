"""test_json_to_msgpack.py: JSON -> msgpack -> JSON against independent
references: Python's json reads the input, Debian's python3-msgpack reads
the codec's msgpack and packs the expected bytes, and json.dumps (repr for
floats) says what the JSON coming back must be, byte for byte."""
import decimal
import json
import math
import struct
from decimal import Decimal

import msgpack
import pytest

import values
from codec import Pairs, canon

DOCS = 1500  # random documents per run


def unpack(data):
    return msgpack.unpackb(data, raw=False, strict_map_key=False,
                           object_pairs_hook=Pairs)


def check_exact(xcode, texts):
    """Every text must transcode to msgpack carrying the value Python reads
    (and, without duplicate keys, to the bytes msgpack.packb gives), come
    back as Python's canonical JSON of it, and that JSON must give the same
    msgpack again."""
    docs = [t.encode() for t in texts]
    to_mp = xcode("json2mp", docs)
    back = xcode("mp2json", [mp for _, _, mp in to_mp])
    again = xcode("json2mp", [js for _, _, js in back])
    for text, (r1, off, mp), (r2, _, js), (r3, _, mp2) in zip(
            texts, to_mp, back, again):
        want = json.loads(text, object_pairs_hook=Pairs)
        assert (r1, r2, r3) == ("ok", "ok", "ok"), (text[:200], r1, off)
        assert canon(unpack(mp)) == canon(want), text[:200]
        if not values.has_dup_keys(want):
            assert mp == msgpack.packb(values.plain(want)), text[:200]
        assert js.decode() == values.canonical_json(want), text[:200]
        assert mp2 == mp


def test_random_documents(xcode):
    rng = values.rng_for("random_documents")
    texts = [values.to_json(values.rand_value(rng), rng) for _ in range(DOCS)]
    check_exact(xcode, texts)


def test_extreme_numbers(xcode):
    texts = ["0", "-0", "-0.0", "0.0", "1.0", "1e308", "-1e308", "5e-324",
             "4.9406564584124654e-324", "2.4703282292062328e-324",
             "1.7976931348623157e308", "2.2250738585072014E-308",
             "9007199254740993", "9007199254740993.0", "-9223372036854775808",
             "18446744073709551615", "1e-400", "-1e-400", "0.1e1", "1E+2",
             "123456789012345678901234567890e-10", "1" + "0" * 400 + "e-400",
             "0." + "0" * 500 + "1e500", "1e22", "1e23", "0.30000000000000004"]
    check_exact(xcode, texts)


def test_random_doubles_bit_exact(xcode):
    """Any spelling of a double reads back to its bits, and the JSON that
    comes back is Python's repr."""
    rng = values.rng_for("doubles")
    xs = [values.rand_double(rng) for _ in range(60000)]
    texts = ["[" + ",".join(repr(x) for x in xs[i:i + 500]) + "]"
             for i in range(0, len(xs), 500)]
    texts += ["[" + ",".join("%.17e" % x for x in xs[:5000]) + "]"]
    check_exact(xcode, texts)


def test_every_escape(xcode):
    texts = ['"\\" \\\\ \\/ \\b \\f \\n \\r \\t"',
             '"' + "".join("\\u%04x" % c for c in range(0x80)) + '"',
             '"' + "".join("\\u%04X" % c for c in range(0x80, 0x800, 7)) + '"',
             '"\\u0800 \\ufffd \\uFFFF \\u2028 \\u0000x"',
             '"\\ud800\\udc00 \\uDBFF\\uDFFF \\ud83d\\ude00"',
             '{"\\u00e9\\n": "\\"", "\\ud83d\\ude80": []}']
    check_exact(xcode, texts)


def test_astral_plane(xcode):
    raw = "".join(chr(c) for c in range(0x10000, 0x110000, 0x1111))
    check_exact(xcode, [json.dumps(raw, ensure_ascii=False),
                        json.dumps(raw, ensure_ascii=True),
                        json.dumps({raw: [raw]}, ensure_ascii=False)])


@pytest.mark.parametrize("text,reason,offset", [
    ("", "invalid_json", 0),
    ("  ", "invalid_json", 2),
    ("[1,]", "invalid_json", 3),
    ('{"a" 1}', "invalid_json", 5),
    ('{"a":1,}', "invalid_json", 7),
    ("[1] x", "trailing_garbage", 4),
    ("{} {}", "trailing_garbage", 3),
    ('"\x01"', "invalid_json", 1),
    ("01", "invalid_json", 1),
    ("[-]", "invalid_json", 2),
    ("1.", "invalid_json", 2),
    ("1e+", "invalid_json", 2),
    ("tru", "invalid_json", 0),
    ('"abc', "invalid_json", 4),
    ('"\\x"', "invalid_json", 1),
    ('"\\u12g4"', "invalid_json", 1),
    ("NaN", "invalid_json", 0),
    ("[Infinity]", "invalid_json", 1),
    ("\ufeff{}", "invalid_json", 0),
    ("18446744073709551616", "integer_out_of_range", 0),
    ("[-9223372036854775809]", "integer_out_of_range", 1),
    ("[1e400]", "non_finite_float", 1),
    ("-1E309", "non_finite_float", 0),
    ('"\\ud800"', "invalid_utf8", 1),
    ('"ab\\udc00"', "invalid_utf8", 3),
    ('"\\ud800\\u0041"', "invalid_utf8", 1),
    ('"\\ud800\\n"', "invalid_utf8", 1),
    ('"\\udbff\\udbff"', "invalid_utf8", 1),
])
def test_refusals(xcode, text, reason, offset):
    assert xcode("json2mp", [text.encode()])[0] == (reason, offset, b"")


@pytest.mark.parametrize("raw", [b"\xc0\x80", b"\xc1\xbf", b"\xe0\x9f\xbf",
                                 b"\xed\xa0\x80", b"\xed\xbf\xbf",
                                 b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80",
                                 b"\xf5\x80\x80\x80", b"\xe2\x82", b"\x80",
                                 b"\xbf", b"\xfe", b"\xff"])
def test_invalid_utf8(xcode, raw):
    assert xcode("json2mp", [b'["ok", "x' + raw + b'"]'])[0] == \
        ("invalid_utf8", 9, b"")


@pytest.mark.parametrize("limit", [1, 2, 64, 1024])
def test_depth_bound(xcode, limit):
    ok = ["[" * limit + "]" * limit, '{"a":' * limit + "1" + "}" * limit]
    deep = ["[" * (limit + 1) + "]" * (limit + 1),
            '{"a":' * (limit + 1) + "1" + "}" * (limit + 1)]
    res = xcode("json2mp", [d.encode() for d in ok + deep], max_depth=limit)
    assert [r for r, _, _ in res[:2]] == ["ok", "ok"]
    assert [(r, off) for r, off, _ in res[2:]] == [("too_deep", limit),
                                                   ("too_deep", 5 * limit)]


def test_depth_defaults_and_ceiling(xcode):
    """0 means the default of 64; anything above 1024 means 1024."""
    docs = [("[" * n + "]" * n).encode() for n in (64, 65, 1024, 1025)]
    assert [r for r, _, _ in xcode("json2mp", docs[:2], max_depth=0)] == \
        ["ok", "too_deep"]
    assert [r for r, _, _ in xcode("json2mp", docs[2:], max_depth=5000)] == \
        ["ok", "too_deep"]


def test_output_bound(xcode):
    """A string is charged its exact size; the bound holds to the byte."""
    doc = ('"' + "x" * 40 + '"').encode()  # msgpack: 2 + 40 bytes
    assert xcode("json2mp", [doc], max_out=42)[0][0] == "ok"
    assert xcode("json2mp", [doc], max_out=41)[0] == \
        ("output_too_large", 0, b"")


def test_containers_need_working_room(xcode):
    """While open, a container holds a 9-byte placeholder (docs/codec.md):
    8 bytes per container above the final size always suffice."""
    doc = b"[[1,2],{\"a\":[]}]"
    final = len(msgpack.packb([[1, 2], {"a": []}]))
    assert xcode("json2mp", [doc], max_out=final + 8 * 3)[0][0] == "ok"
    assert xcode("json2mp", [doc], max_out=final)[0][0] == "output_too_large"


def test_float_spellings_agree(xcode):
    """Many texts for one double all give its exact bits."""
    texts = [b"[0.1,1e-1,0.10,1.0e-1,100e-3,0.1000000000000000055511]",
             b"[1e23,1E23,100000000000000000000000.0,9.999999999999999e22]"]
    for (r, _, mp) in xcode("json2mp", texts):
        bits = {struct.pack("<d", x) for x in unpack(mp)}
        assert r == "ok" and len(bits) == 1


def test_halfway_and_long_numbers(xcode):
    """Decimals exactly halfway between two doubles, a hair either side of
    that, and numbers of hundreds of digits: the cases a fast parser gets
    wrong. Python's correctly rounded float() is the reference."""
    rng = values.rng_for("halfway")
    texts = []
    with decimal.localcontext() as exact:
        exact.prec = 1200  # enough for any sum of two doubles
        for _ in range(3000):
            x = abs(values.rand_double(rng))
            nxt = math.nextafter(x, math.inf)
            if not math.isfinite(nxt):
                continue
            mid = (Decimal(x) + Decimal(nxt)) / 2
            tiny = Decimal(1).scaleb(mid.adjusted() - 40)
            texts += [format(m, "e") for m in (mid, mid + tiny, mid - tiny)]
    texts += ["0." + "9" * 800, "1" * 500 + ".5e-480",
              "2.47032822920623272088284396434110686182529901307162382212792"
              "8412626e-324"]
    docs = ["[" + ",".join(texts[i:i + 300]) + "]"
            for i in range(0, len(texts), 300)]
    for text, (r, _, mp) in zip(docs, xcode("json2mp",
                                            [d.encode() for d in docs])):
        want = [struct.pack("<d", float(t)) for t in json.loads(
            text, parse_float=lambda s: s)]
        assert r == "ok"
        assert [struct.pack("<d", x) for x in unpack(mp)] == want
