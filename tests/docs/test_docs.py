"""The docs describe the code: every statistic, error code and command-line
option declared in the sources appears in the docs, and nothing the docs
list is missing from the sources."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def read(rel):
    return (ROOT / rel).read_text()


def declared_kinds():
    """{kind: ({stat: type}, [histograms])} from the X-macro lists of stats.h."""
    src = read("broker/stats.h")
    kinds = {}
    for kind, stats, hists in re.findall(r"K\((\w+), \w+, (\w+), (\w+), \w+\)", src):
        block = re.search(rf"#define {stats}\(X\)(.*?)\n(?!\s)", src + "\n", re.S).group(1)
        hblock = re.search(rf"#define {hists}\(X, k\)(.*?)\n(?!\s)", src + "\n", re.S).group(1)
        kinds[kind] = (dict(re.findall(r"X\((\w+), (counter|gauge),", block)),
                       re.findall(r"X\(k, (\w+),", hblock))
    return kinds


def declared_errors():
    src = read("broker/service.h")
    return re.findall(r'X\(ERR_\w+, "(\w+)", \w+\)', src)


def kind_section(doc, kind):
    m = re.search(rf"^#### kind `{kind}`\n(.*?)(?=^#|\Z)", doc, re.M | re.S)
    assert m, f"docs/stats.md has no section for kind {kind}"
    return m.group(1)


def test_stats_tables_match_stats_h():
    kinds = declared_kinds()
    assert {"broker", "service", "backend", "redis", "http"} <= set(kinds)
    assert len(kinds["service"][0]) >= 10
    doc = read("docs/stats.md")
    for kind, (stats, hists) in kinds.items():
        section = kind_section(doc, kind)
        rows = dict(re.findall(r"^\| `(\w+)` \| (counter|gauge) \|", section, re.M))
        assert rows == stats, kind
        for h in hists:
            assert f"Histogram `{h}`" in section, (kind, h)
            assert f"| `{kind}` | `{h}` |" in doc, (kind, h)


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
