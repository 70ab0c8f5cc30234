"""test_cli.py: `agentbus json2mp` / `agentbus mp2json` on files and pipes:
output, refusal messages, exit codes and bounds."""
import subprocess

import msgpack


def run(agentbus, *args, stdin=b""):
    return subprocess.run([str(agentbus), *args], input=stdin,
                          capture_output=True, timeout=60, check=False)


def test_files_round_trip(agentbus, tmp_path):
    src, mp, back = tmp_path / "in.json", tmp_path / "in.mp", tmp_path / "o"
    src.write_bytes(b'{"a": [1, 2.5, "\\u00e9"], "b": null}')
    assert run(agentbus, "json2mp", str(src), str(mp)).returncode == 0
    assert msgpack.unpackb(mp.read_bytes()) == {"a": [1, 2.5, "é"], "b": None}
    assert run(agentbus, "mp2json", str(mp), str(back)).returncode == 0
    assert back.read_bytes() == '{"a":[1,2.5,"é"],"b":null}'.encode()


def test_stdin_stdout(agentbus):
    p = run(agentbus, "json2mp", stdin=b"[true]")
    assert (p.returncode, p.stdout) == (0, b"\x91\xc3")
    p = run(agentbus, "mp2json", "-", "-", stdin=b"\x91\xc3")
    assert (p.returncode, p.stdout) == (0, b"[true]")


def test_refusal_message(agentbus, tmp_path):
    out = tmp_path / "never"
    p = run(agentbus, "json2mp", "-", str(out), stdin=b'{"a": 1,}')
    assert p.returncode == 1
    assert p.stderr.decode() == ("agentbus json2mp: refused: invalid_json at "
                                 "offset 8: input is not valid JSON\n")
    assert not out.exists() and p.stdout == b""
    p = run(agentbus, "mp2json", stdin=b"\xc4\x01x")
    assert p.returncode == 1
    assert p.stderr.startswith(b"agentbus mp2json: refused: msgpack_bin at "
                               b"offset 0: ")


def test_max_depth(agentbus):
    assert run(agentbus, "json2mp", "--max-depth", "2",
               stdin=b"[[1]]").returncode == 0
    p = run(agentbus, "json2mp", "--max-depth", "1", stdin=b"[[1]]")
    assert p.returncode == 1 and b"too_deep at offset 1" in p.stderr


def test_input_bound(agentbus):
    p = run(agentbus, "json2mp", "--max-bytes", "5", stdin=b'"abcd"')
    assert p.returncode == 1
    assert p.stderr == (b"agentbus json2mp: stdin is larger than "
                        b"--max-bytes (5 bytes)\n")
    assert run(agentbus, "json2mp", "--max-bytes", "6",
               stdin=b'"abcd"').stdout == b"\xa4abcd"


def test_usage(agentbus, tmp_path):
    p = run(agentbus, "json2mp", "--help")
    assert p.returncode == 0 and p.stdout.startswith(b"usage: agentbus json2mp")
    for args in (["--bogus"], ["--max-depth", "0"], ["--max-depth", "x"],
                 ["--max-bytes", "-1"], ["a", "b", "c"]):
        assert run(agentbus, "mp2json", *args).returncode == 2, args
    p = run(agentbus, "json2mp", str(tmp_path / "missing.json"))
    assert p.returncode == 1 and b"missing.json" in p.stderr
