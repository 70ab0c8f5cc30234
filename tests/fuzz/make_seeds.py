#!/usr/bin/python3
"""make_seeds.py: (re)writes the committed seed corpora of the codec and
link fuzz targets, corpus/json2mp/, corpus/mp2json/ and corpus/link/: one
small file per feature, so fuzzing starts from every branch they have. Run after changing it:
    /usr/bin/python3 tests/fuzz/make_seeds.py
"""
from pathlib import Path

import struct

import msgpack

HERE = Path(__file__).resolve().parent

JSON_SEEDS = {
    "scalars": b'[null, true, false, 0, -0, 1, -1, "", "a"]',
    "object": b'{"id": 42, "name": "agent", "tags": ["a", "b"], "meta": {}}',
    "duplicate_keys": b'{"a": 1, "a": 2, "": []}',
    "int_bounds": b"[127, 128, 255, 256, 65535, 65536, 4294967295, "
                  b"4294967296, 18446744073709551615, -32, -33, -128, -129, "
                  b"-32768, -32769, -2147483648, -2147483649, "
                  b"-9223372036854775808]",
    "int_too_big": b"18446744073709551616",
    "floats": b"[0.0, -0.0, 1.0, 0.1, 1e308, 5e-324, 2.2250738585072014e-308, "
              b"1.7976931348623157e308, 9007199254740993.0, 1E22, 1e-7, "
              b"123456789012345678901234567890e-10, 0.30000000000000004]",
    "float_overflow": b"[1e400]",
    "escapes": b'"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000 \\u001f \\u00e9 '
               b'\\uffff \\ud83d\\ude80"',
    "lone_surrogate": b'["\\udc00", "\\ud800x"]',
    "utf8": '["café", "日本語", "🚀", "\u2028"]'.encode(),
    "bad_utf8": b'["\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"]',
    "nested": b'[[[[{"a": [[{"b": [1]}]]}]]]]',
    "deep": b"[" * 70 + b"]" * 70,
    "long_string": b'"' + b"x" * 300 + b"\\n" * 40 + b'"',
    "whitespace": b' \t\r\n{ "a" : [ 1 , 2 ] } \n',
    "trailing": b'{"a": 1} x',
    "truncated": b'{"a": [1, 2',
}


def mp_seeds():
    packb = msgpack.packb
    return {
        "scalars": packb([None, True, False, 0, -1, 127, -32, "", "a"]),
        "object": packb({"id": 42, "name": "agent", "tags": ["a", "b"],
                         "meta": {}}),
        "ints": packb([2**64 - 1, -2**63, 255, -128, 65535, -32768,
                       2**32 - 1, -2**31]),
        "float64": packb([0.1, -0.0, 1e308, 5e-324]),
        "float32": packb([0.1, 3.4028234663852886e38, 1e-45],
                         use_single_float=True),
        "nan": packb(float("nan")),
        "escapes": packb('" \\ / \b \f \n \r \t \x00 \x1f \x7f é 🚀'),
        "bad_utf8": b"\x92\xa2\xc0\x80\xa3\xed\xa0\x80",
        "bin": packb([b"\x00\x01"], use_bin_type=True),
        "ext": packb(msgpack.ExtType(5, b"abcd")),
        "int_key": packb({1: "a"}, strict_types=False),
        "wide_headers": b"\xdf\x00\x00\x00\x01\xdb\x00\x00\x00\x01k"
                        b"\xdd\x00\x00\x00\x02\xcf\x00\x00\x00\x00\x00\x00"
                        b"\x00\x01\xd3\xff\xff\xff\xff\xff\xff\xff\xff",
        "reserved_c1": b"\x91\xc1",
        "deep": b"\x91" * 70 + b"\xc0",
        "truncated": packb({"a": [1, 2, "xyz"]})[:-2],
        "trailing": packb([1]) + b"\x00",
    }


def link_seeds():
    """fuzz_link inputs: a body-frame count byte, then an envelope laid out
    as docs/link-protocol.md specifies."""
    def hello(host=b"mainpc", lo=1, hi=1, epoch=7, flags=1, hb=1000, ver=1):
        return struct.pack(">BBBBQIIB", ver, 1, lo, hi, epoch, flags, hb,
                           len(host)) + host

    def request(svc=b"translation", enc=1, style=1, deadline=4950, rid=9):
        return struct.pack(">BBQIBBB", 1, 2, rid, deadline, enc, style,
                           len(svc)) + svc

    def reply(status=0, enc=0, style=0, text=b""):
        return struct.pack(">BBQBBBH", 1, 3, 9, status, enc, style,
                           len(text)) + text

    def goodbye(reason=1, text=b"stopping", lo=1, hi=1):
        return struct.pack(">BBBBBH", 1, 7, lo, hi, reason, len(text)) + text

    seeds = {
        "hello": b"\x00" + hello(),
        "hello_v2": b"\x00" + bytes([2]) + hello()[1:3] + b"\x03" + b"junk",
        "hello_bad_host": b"\x00" + hello(host=b"bad host"),
        "hello_epoch0": b"\x00" + hello(epoch=0),
        "request_msgpack": b"\x01" + request(),
        "request_raw": b"\x03" + request(enc=0, style=0),
        "request_raw_many": b"\xff" + request(enc=0, style=0),
        "request_deadline0": b"\x01" + request(deadline=0),
        "reply_ok": b"\x02" + reply(),
        "reply_msgpack": b"\x01" + reply(enc=1, style=4),
        "reply_error": b"\x00" + reply(status=5, text="no service \u00e9"
                                        .encode()),
        "reply_bad_text": b"\x00" + reply(status=1, text=b"a\nb\xc0"),
        "reply_bad_reply": b"\x00" + reply(status=8, text=b"no body frame"),
        "reply_status9": b"\x00" + reply(status=9),
        "cancel": b"\x00" + struct.pack(">BBQ", 1, 4, 9),
        "ping": b"\x00" + struct.pack(">BBQ", 1, 5, 123456789),
        "pong": b"\x00" + struct.pack(">BBQQ", 1, 6, 123456789, 42),
        "goodbye": b"\x00" + goodbye(),
        "goodbye_version": b"\x00" + goodbye(reason=2, lo=1, hi=3),
        "truncated": b"\x00" + request()[:9],
        "trailing": b"\x00" + struct.pack(">BBQ", 1, 5, 1) + b"x",
        "unknown_type": b"\x00\x01\x09",
    }
    return seeds


def write(directory, seeds, suffix):
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*" + suffix):
        old.unlink()
    for name, data in seeds.items():
        (directory / (name + suffix)).write_bytes(data)


if __name__ == "__main__":
    write(HERE / "corpus" / "json2mp", JSON_SEEDS, ".json")
    write(HERE / "corpus" / "mp2json", mp_seeds(), ".mp")
    write(HERE / "corpus" / "link", link_seeds(), ".bin")
