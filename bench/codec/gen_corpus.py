#!/usr/bin/python3
"""gen_corpus.py: deterministic corpus of agent-like messages for the codec
benchmark (bench/codec/run.sh).

Output: one message per line, "<class>\\t<compact JSON>\\n". JSON escapes every
control character, so a document never contains a raw newline or tab.

Classes (the mix is by message count, roughly what a broker relays):
  status  small status replies                                 (45%)
  chat    chat requests: message lists, mixed unicode text     (30%)
  tool    nested tool-call objects                             (17%)
  embed   embedding replies carrying 384..1536 float vectors   (8%)

A quarter of the messages are serialised with ensure_ascii (what Python's
json.dumps and pyzmq's send_json do by default), so \\uXXXX escapes and
surrogate pairs appear next to raw UTF-8. Integers stay within int64 so the
jansson baseline (json_int_t is long long) does the same work as the codec.
"""

import argparse
import json
import random
import struct

CLASS_WEIGHTS = (("status", 45), ("chat", 30), ("tool", 17), ("embed", 8))
EMBED_DIMS = (384, 768, 1024, 1536)
MAX_TOOL_DEPTH = 5  # nesting of generated tool arguments
ASCII_ESCAPED_SHARE = 0.25

WORDS = (
    "the agent should summarise context before calling tool result request "
    "reply queue broker latency token model prompt answer retry timeout "
    "vector search document memory plan step observe act user system "
    "function schema value error status pending done cancelled"
).split()
UNICODE_WORDS = (
    "café", "naïve", "Zürich", "señor", "Ελληνικά", "Привет", "мир",
    "日本語", "中文字符", "한국어", "עברית", "العربية", "हिन्दी",
    "🙂", "🚀", "✅", "…", "€", "—", "“quoted”",
)
ESCAPE_SNIPPETS = (
    'print("hello")', "C:\\Users\\agent\\data", "line one\nline two",
    "col\tcol\tcol", 'say "yes"', "a/b/c", "\\n is a newline",
)
MODELS = ("gpt-4o-mini", "llama-3.1-70b", "mistral-large", "qwen2.5-32b")
EMBED_MODELS = ("text-embedding-3-small", "bge-large-en", "e5-mistral")
TOOL_NAMES = ("search_web", "read_file", "run_sql", "send_email",
              "get_weather", "create_ticket", "vector_lookup")
ROLES = ("user", "assistant", "tool")


def sentence(rng, nwords):
    """A run of words, mostly ASCII, with unicode and escape-worthy bits."""
    out = []
    for _ in range(nwords):
        roll = rng.random()
        if roll < 0.08:
            out.append(rng.choice(UNICODE_WORDS))
        elif roll < 0.11:
            out.append(rng.choice(ESCAPE_SNIPPETS))
        else:
            out.append(rng.choice(WORDS))
    return " ".join(out)


def request_id(rng):
    return "req-%016x" % rng.getrandbits(64)


def timestamp(rng):
    return 1_700_000_000_000 + rng.randrange(100_000_000_000)


def make_status(rng):
    msg = {
        "id": request_id(rng),
        "status": rng.choice(("ok", "ok", "ok", "queued", "error")),
        "elapsed_ms": round(rng.uniform(0.1, 900.0), 3),
        "queue_depth": rng.randrange(64),
        "ts": timestamp(rng),
    }
    if msg["status"] == "error":
        msg["error"] = {"code": -rng.randrange(1, 200),
                        "message": sentence(rng, rng.randrange(3, 12))}
    return msg


def make_chat(rng):
    messages = [{"role": "system", "content": sentence(rng, rng.randrange(10, 60))}]
    for _ in range(rng.randrange(1, 9)):
        messages.append({"role": rng.choice(ROLES),
                         "content": sentence(rng, rng.randrange(5, 200))})
    return {
        "id": request_id(rng),
        "model": rng.choice(MODELS),
        "messages": messages,
        "temperature": round(rng.uniform(0, 1.2), 2),
        "max_tokens": rng.choice((256, 512, 1024, 4096)),
        "stream": rng.random() < 0.3,
        "stop": None,
        "metadata": {"agent": "agent-%d" % rng.randrange(500),
                     "trace": request_id(rng), "ts": timestamp(rng)},
    }


def random_scalar(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.randrange(-2**40, 2**40)
    if kind == 1:
        return round(rng.uniform(-1e6, 1e6), rng.randrange(1, 8))
    if kind == 2:
        return rng.random() < 0.5
    if kind == 3:
        return None
    return sentence(rng, rng.randrange(1, 8))


def random_value(rng, depth):
    """A JSON value nested at most `depth` more levels."""
    roll = rng.random()
    if depth == 0 or roll < 0.45:
        return random_scalar(rng)
    if roll < 0.75:
        return {"k%d_%s" % (i, rng.choice(WORDS)): random_value(rng, depth - 1)
                for i in range(rng.randrange(1, 6))}
    return [random_value(rng, depth - 1) for _ in range(rng.randrange(0, 6))]


def make_tool(rng):
    calls = []
    for i in range(rng.randrange(1, 4)):
        calls.append({
            "id": "call_%d_%08x" % (i, rng.getrandbits(32)),
            "type": "function",
            "function": {"name": rng.choice(TOOL_NAMES),
                         "arguments": random_value(rng, MAX_TOOL_DEPTH)},
        })
    return {
        "id": request_id(rng),
        "role": "assistant",
        "tool_calls": calls,
        "context": {"step": rng.randrange(50), "plan": sentence(rng, 12),
                    "budget": {"tokens": rng.randrange(1 << 20),
                               "usd": round(rng.uniform(0, 5), 4)}},
    }


def float32(x):
    """x rounded to float32, as embedding models emit it."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def make_embed(rng):
    dim = rng.choice(EMBED_DIMS)
    vec = [float32(rng.gauss(0.0, 0.05)) for _ in range(dim)]
    return {
        "object": "list",
        "model": rng.choice(EMBED_MODELS),
        "data": [{"object": "embedding", "index": 0, "embedding": vec}],
        "usage": {"prompt_tokens": rng.randrange(4, 8192)},
    }


MAKERS = {"status": make_status, "chat": make_chat,
          "tool": make_tool, "embed": make_embed}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    names = [c for c, _ in CLASS_WEIGHTS]
    weights = [w for _, w in CLASS_WEIGHTS]
    with open(args.out, "w", encoding="utf-8") as f:
        for _ in range(args.count):
            cls = rng.choices(names, weights)[0]
            doc = json.dumps(MAKERS[cls](rng), separators=(",", ":"),
                             ensure_ascii=rng.random() < ASCII_ESCAPED_SHARE)
            f.write("%s\t%s\n" % (cls, doc))


if __name__ == "__main__":
    main()
