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
