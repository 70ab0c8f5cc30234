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


def declared_knobs():
    """Knob names of the registry's key table (the keys `defaults:` takes)."""
    src = read("broker/registry.c")
    table = src[src.index("static const key_def svc_keys"):]
    table = table[:table.index("[K_HOST]")]
    return re.findall(r'\[K_\w+\] = \{"(\w+)"', table)


def test_registry_knobs_documented():
    knobs = declared_knobs()
    assert {"timeout_ms", "max_msg_bytes", "max_per_client"} <= set(knobs)
    doc = read("docs/registry.md")
    section = doc[doc.index("## Knobs"):doc.index("## Names")]
    rows = re.findall(r"^\| `(\w+)` +\|", section, re.M)
    assert rows == knobs


def test_guard_reasons_documented():
    src = read("broker/guard.h")
    reasons = re.findall(r'X\(CUT_\w+, "(\w+)", (\w+)\)', src)
    assert len(reasons) == 3
    doc = read("docs/operations.md")
    section = doc[doc.index("## Memory bounds"):doc.index("## Sizing")]
    for reason, stat in reasons:
        assert f"* `{reason}`:" in section, reason
        assert f"| `{stat}` | counter |" in doc, stat
