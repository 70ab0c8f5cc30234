"""The docs describe the code: every statistic, error code and command-line
option declared in the sources appears in the docs, and nothing the docs
list is missing from the sources."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def read(rel):
    return (ROOT / rel).read_text()


def declared_stats():
    src = read("broker/stats.h")
    return re.findall(r"X\((\w+), (counter|gauge),", src)


def declared_errors():
    src = read("broker/service.h")
    return re.findall(r'X\(ERR_\w+, "(\w+)", \w+\)', src)


def test_stats_table_matches_stats_h():
    stats = declared_stats()
    assert len(stats) >= 10
    doc = read("docs/operations.md")
    rows = dict(re.findall(r"^\| `(\w+)` \| (counter|gauge) \|", doc, re.M))
    assert rows == dict(stats)


def test_error_codes_documented():
    codes = declared_errors()
    assert set(codes) >= {"timeout", "unavailable", "overloaded"}
    doc = read("docs/errors.md")
    rows = re.findall(r"^\| `(\w+)` \| ", doc, re.M)
    assert [c for c in rows if c not in ("status", "error", "service", "message")] == codes


def test_agentbusd_options_documented():
    src = read("broker/main.c")
    options = set(re.findall(r'\{"([a-z-]+)", (?:required|no)_argument', src))
    assert {"registry", "host", "drain-ms"} <= options
    doc = read("docs/operations.md")
    documented = set(re.findall(r"`(?:-\w, )?--([a-z-]+)", doc))
    assert options - {"help", "version"} == documented


def client_codes():
    """(symbol, name, wire) of every AB_CODES entry in client/agentbus.h."""
    src = read("client/agentbus.h")
    return re.findall(r'X\((AB_E\w+), "(\w+)", ([01])\)', src)


def test_client_codes_documented():
    codes = client_codes()
    assert len(codes) >= 8
    doc = read("client/README.md")
    rows = re.findall(r"^\| `(AB_E\w+)` \| `(\w+)` \|", doc, re.M)
    assert rows == [(sym, name) for sym, name, _ in codes]


def test_client_wire_codes_are_the_brokers():
    """A code the header reads off the wire is one the broker sends (codes
    the header does not know yet reach callers as AB_EBROKER)."""
    wire = [name for _, name, w in client_codes() if w == "1"]
    assert wire and set(wire) <= set(declared_errors())


def test_client_limits_documented():
    src = read("client/agentbus.h")
    limits = re.findall(r"#ifndef (AB_[A-Z_]+)\n#define \1 ", src)
    assert "AB_MAX_FRAMES" in limits and "AB_REGISTRY_MAX_LINE" in limits
    doc = read("client/README.md")
    assert re.findall(r"^\| `(AB_[A-Z_]+)` \| \d+ \|", doc, re.M) == limits


def test_error_mark_agrees_between_broker_and_client():
    broker = read("broker/errmark.h")
    client = read("client/agentbus.h")

    def consts(text, names):
        return [re.search(rf"#define {n} (\S+)", text).group(1) for n in names]
    assert consts(broker, ["ERRMARK_TAG_LEN", "ERRMARK_KIND_REQUEST", "ERRMARK_KIND_ERROR"]) == \
        consts(client, ["AB__TAG_LEN", "AB__KIND_REQUEST", "AB__KIND_ERROR"])
    assert r'"\0ab"' in client and "{0, 'a', 'b'," in read("broker/errmark.c")
    assert '"\\0ab"' in read("docs/errors.md")
