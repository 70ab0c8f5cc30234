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
