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


def test_error_counters_are_service_counters():
    """Each error code bumps a counter of the service kind: those make up
    its `errors`, /metrics and the Redis outcome fields."""
    src = read("broker/service.h")
    stats = re.findall(r'X\(ERR_\w+, "\w+", (\w+)\)', src)
    counters = declared_kinds()["service"][0]
    assert len(stats) == len(declared_errors())
    assert all(counters.get(s) == "counter" for s in stats), stats


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


def xmacro_names(rel, macro):
    """The name strings of an X-macro in a header, in order."""
    src = read(rel)
    body = src[src.index(f"#define {macro}(X)"):]
    body = body[:body.index("\n\n")]
    return re.findall(r'X\(\w+, (?:\d+, )?"(\w+)"', body)


def table_names(doc, header):
    """First-column backquoted names of the table under `header`."""
    text = read(doc)
    section = text[text.index(header):]
    section = section[:section.index("\n\n", section.index("|"))]
    return re.findall(r"^\| `(\w+)` \|", section, re.M)


def test_link_protocol_codes_documented():
    doc = "docs/link-protocol.md"
    errs = xmacro_names("proto/link.h", "AB_LINK_ERRS")
    assert len(errs) >= 15
    assert table_names(doc, "Reason codes") == errs
    assert table_names(doc, "### Reply statuses") == \
        xmacro_names("proto/link.h", "AB_LINK_STATUSES")
    assert table_names(doc, "### Goodbye reasons") == \
        xmacro_names("proto/link.h", "AB_LINK_BYES")
    types = re.findall(r'X\(AB_LINK_\w+, (\d+), "(\w+)"\)', read("proto/link.h"))
    rows = re.findall(r"^\| ([A-Z]+) \| (\d+) \|", read(doc), re.M)
    assert [(v, n.upper()) for v, n in types] == [(v, n) for n, v in rows]


def test_json_styles_documented():
    styles = xmacro_names("proto/transcode.h", "AB_JSON_STYLES")
    assert styles[:2] == ["compact", "python"]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", read("docs/codec.md"), re.M)
    assert [n for _, n in rows] == styles


def test_tc_reasons_documented():
    reasons = xmacro_names("proto/transcode.h", "AB_TC_REASONS")
    rows = re.findall(r"^\| `(\w+)` \| `AB_TC_", read("docs/codec.md"), re.M)
    assert rows == reasons


def test_registry_link_keys_documented():
    src = read("broker/registry.c")
    links = src[src.index("links_keys[NLINKKEYS] = {"):]
    keys = re.findall(r'INT_KEY\("(\w+)"', links[:links.index("};")])
    assert "per_peer" in keys
    assert table_names("docs/registry.md", "## `links`") == keys
    hosts = src[src.index("host_keys[NHOSTKEYS] = {"):]
    host_keys = re.findall(r'"(\w+)"', hosts[:hosts.index("};")])
    assert table_names("docs/registry.md", "## `hosts`") == host_keys


def declared_knobs():
    """Knob names of the registry's key table (the keys `defaults:` takes)."""
    src = read("broker/registry.c")
    table = src[src.index("static const key_def svc_keys"):]
    table = table[:table.index("[K_HOST]")]
    return re.findall(r'\[K_\w+\] = (?:INT_KEY\(|\{)"(\w+)"', table)


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
    counters = declared_kinds()["service"][0]
    for reason, stat in reasons:
        assert f"* `{reason}`:" in section, reason
        assert f"`{stat}`" in section, stat
        assert counters.get(stat) == "counter", stat


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
    """The header knows every code this broker sends, and reads nothing
    else off the wire (a newer broker's codes reach callers as
    AB_EBROKER)."""
    wire = [name for _, name, w in client_codes() if w == "1"]
    assert sorted(wire) == sorted(declared_errors())


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


def test_migrate_options_documented():
    src = read("broker/cli_migrate.c")
    options = set(re.findall(r'\{"([a-z-]+)", (?:required|no)_argument', src))
    assert {"output", "changes", "force", "port-base"} <= options
    doc = read("docs/deploy.md")
    documented = set(re.findall(r"^\| `(?:-\w, )?--([a-z-]+)", doc, re.M))
    assert options - {"help"} == documented


def test_subcommands_documented():
    # Every `agentbus` subcommand is named in the README's usage block.
    commands = re.findall(r'^\s+\{"(\w+)", cli_\w+,', read("broker/cli_main.c"), re.M)
    assert "migrate" in commands
    readme = read("README.md")
    assert all(f"agentbus {c} " in readme for c in commands), commands


def test_image_settings_documented():
    # The image's variables, user and health check are in docs/deploy.md.
    dockerfile = read("deploy/Dockerfile")
    variables = set(re.findall(r"\b(AGENTBUS_[A-Z_]+)\b", dockerfile))
    assert {"AGENTBUS_HOST", "AGENTBUS_REGISTRY", "AGENTBUS_SECRET_KEY_FILE"} <= variables
    doc = read("docs/deploy.md")
    assert all(f"`{v}`" in doc for v in variables), variables
    uid = re.search(r"useradd --uid (\d+)", dockerfile).group(1)
    assert f"uid {uid}" in doc
    interval = re.search(r"HEALTHCHECK --interval=(\d+)s", dockerfile).group(1)
    assert f"every {interval} s" in doc


def test_containers_conf_documented():
    # The engine configuration the tests write is the one the docs show.
    script = read("tests/container/engine.sh")
    conf = re.search(r"<<'EOF' \|\| true\n(.*?)\nEOF", script, re.S).group(1)
    settings = [ln for ln in conf.splitlines() if ln and not ln.startswith("#")]
    doc = read("docs/deploy.md")
    assert settings and all(s in doc for s in settings)
