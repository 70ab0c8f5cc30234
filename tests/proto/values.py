"""values.py: seeded random JSON values and JSON texts for the codec's
property tests, weighted towards what breaks transcoders: number extremes,
every escape, astral-plane characters, duplicate keys, odd whitespace."""
import json
import math
import random
import struct

from codec import Pairs

INT_EXTREMES = [0, 1, -1, 31, 32, -32, -33, 127, 128, -128, -129, 255, 256,
                65535, 65536, -32768, -32769, 2**31 - 1, 2**31, -2**31,
                -2**31 - 1, 2**32 - 1, 2**32, 2**53, 2**53 + 1, -2**53 - 1,
                2**63 - 1, 2**63, -2**63, 2**64 - 1]
FLOAT_EXTREMES = [0.0, -0.0, 1.0, -1.0, 0.1, 1e308, -1e308, 5e-324, -5e-324,
                  1.7976931348623157e308, 2.2250738585072014e-308,
                  2.225073858507201e-308, 9007199254740993.0, 1e16, 1e15,
                  1e-5, 1e-4, 1e22, 1e23, 0.30000000000000004, 123.456]
# Code points that need care: controls, quote, backslash, the UTF-8 length
# boundaries, BMP ends, U+2028/9, the largest astral ones.
SPECIAL_CHARS = [chr(c) for c in list(range(0x20)) + [0x22, 0x2f, 0x5c, 0x7f,
                 0x80, 0x7ff, 0x800, 0xfffd, 0xffff, 0x2028, 0x2029,
                 0x10000, 0x1f600, 0x10ffff]]


def rand_double(rng):
    """A finite double: uniform bits, a short decimal or a subnormal."""
    while True:
        pick = rng.random()
        if pick < 0.4:
            bits = rng.getrandbits(64)
        elif pick < 0.7:
            return round(rng.uniform(-1e6, 1e6), rng.randint(0, 6))
        else:
            bits = rng.getrandbits(52) | rng.randint(0, 40) << 52
        x = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if math.isfinite(x):
            return x


def rand_str(rng):
    out = []
    for _ in range(rng.choice([0, 1, 3, 8, 31, 32, 40, 300])):
        pick = rng.random()
        if pick < 0.6:
            out.append(chr(rng.randint(0x20, 0x7e)))
        elif pick < 0.75:
            out.append(rng.choice(SPECIAL_CHARS))
        elif pick < 0.9:
            out.append(chr(rng.choice([rng.randint(0xa0, 0xd7ff),
                                       rng.randint(0xe000, 0xfffd)])))
        else:
            out.append(chr(rng.randint(0x10000, 0x10ffff)))
    return "".join(out)


def rand_int(rng):
    """An integer of int64 or uint64, often an encoding boundary."""
    if rng.random() < 0.5:
        return rng.randint(-2**63, 2**64 - 1)
    v = rng.choice(INT_EXTREMES) * rng.choice([1, -1])
    return v if v >= -2**63 else -v


def rand_scalar(rng):
    pick = rng.randrange(7)
    if pick == 0:
        return rng.choice([None, True, False])
    if pick == 1:
        return rand_int(rng)
    if pick == 2:
        return rng.choice(FLOAT_EXTREMES) * rng.choice([1, -1])
    if pick == 3:
        return rand_double(rng)
    return rand_str(rng)


def rand_value(rng, depth=0, dup_keys=True):
    """A random value; objects are Pairs, with a duplicate key now and then
    unless dup_keys is False."""
    pick = rng.random()
    if depth > 5 or pick < 0.5:
        return rand_scalar(rng)
    # 15..17 straddle the fixarray/fixmap limit; deeper levels stay small
    # so documents stay in the kilobytes
    n = rng.choice([0, 1, 2, 5, 15, 16, 17] if depth < 2 else [0, 1, 2, 3])
    if pick < 0.75:
        return [rand_value(rng, depth + 1, dup_keys) for _ in range(n)]
    keys = [rand_str(rng) for _ in range(n)]
    if dup_keys and n > 1 and rng.random() < 0.2:
        keys[-1] = keys[0]
    elif not dup_keys:
        keys = list(dict.fromkeys(keys))
    return Pairs((k, rand_value(rng, depth + 1, dup_keys)) for k in keys)


def float_text(x, rng):
    """A spelling of x: repr, or one of C's formats, which may read back as
    an int ('%.17g' prints 1.0 as "1") or a nearby value ('%.40f' flushes
    tiny numbers to 0); tests compare with what Python reads from it."""
    return rng.choice([repr, lambda v: "%.17g" % v, lambda v: "%.25E" % v,
                       lambda v: "%.40f" % v if abs(v) < 1e10 else repr(v)])(x)


def to_json(v, rng):
    """JSON text of v in a random but valid style."""
    ascii_only = rng.random() < 0.5
    ws = rng.choice(["", " ", "\n  ", "\t", " \r\n"])

    def enc(x):
        if isinstance(x, Pairs):
            inner = ",".join(f"{ws}{json.dumps(k, ensure_ascii=ascii_only)}"
                             f"{ws}:{ws}{enc(y)}" for k, y in x)
            return "{" + inner + ws + "}"
        if isinstance(x, list):
            return "[" + ",".join(ws + enc(y) for y in x) + ws + "]"
        if isinstance(x, float):
            return float_text(x, rng)
        return json.dumps(x, ensure_ascii=ascii_only)
    return ws + enc(v) + ws


def canonical_json(v):
    """What the codec's msgpack -> JSON must print for v, byte for byte:
    Python's compact json.dumps (repr for floats, raw UTF-8), pairs kept."""
    if isinstance(v, Pairs):
        return "{" + ",".join(canonical_json(k) + ":" + canonical_json(x)
                              for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical_json(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def has_dup_keys(v):
    if isinstance(v, Pairs):
        keys = [k for k, _ in v]
        return len(set(keys)) < len(keys) or any(has_dup_keys(x)
                                                  for _, x in v)
    if isinstance(v, list):
        return any(has_dup_keys(x) for x in v)
    return False


def plain(v):
    """v with Pairs turned into dicts (no duplicates assumed), for packb."""
    if isinstance(v, Pairs):
        return {k: plain(x) for k, x in v}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def rng_for(name):
    """A generator seeded by the test's name: stable across runs."""
    return random.Random(f"agentbus-codec-{name}")
