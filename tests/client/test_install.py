"""test_install.py: what a user outside this tree does: `cmake --install`
into a fresh prefix, then `cc app.c $(pkg-config --cflags --libs agentbus)`
(as C and as C++, -pedantic -Werror, without any of our build flags), and
the program calls a service through the real broker."""
import os
import re
import select
import shutil
import signal
import subprocess
from pathlib import Path

from harness import HANG_GUARD_S, free_port, service, tcp_endpoint
from probing import build_dir, built

ROOT = Path(__file__).resolve().parents[2]


def run(argv, **kw):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=HANG_GUARD_S * 4, **kw)
    assert proc.returncode == 0, f"{argv[0]} failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def project_version():
    return re.search(r"project\(agentbus VERSION ([0-9.]+)",
                     (ROOT / "CMakeLists.txt").read_text()).group(1)


def test_install_then_pkg_config_builds_a_working_app(tmp_path, make_broker):
    prefix = tmp_path / "prefix"
    run(["cmake", "--install", build_dir(), "--prefix", prefix])
    header = prefix / "include" / "agentbus.h"
    assert header.read_bytes() == (ROOT / "client" / "agentbus.h").read_bytes()
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "share" / "pkgconfig"))
    assert run(["pkg-config", "--modversion", "agentbus"], env=env).strip() == project_version()
    flags = run(["pkg-config", "--cflags", "--libs", "agentbus"], env=env).split()
    includes = [Path(f[2:]).resolve() for f in flags if f.startswith("-I")]
    # (libzmq's own .pc may add include dirs of its dependencies)
    assert includes[0] == prefix.resolve() / "include" and "-lzmq" in flags, flags

    app = tmp_path / "app.c"
    shutil.copy(ROOT / "client" / "examples" / "hello.c", app)
    strict = ["-pedantic", "-Wall", "-Wextra", "-Werror"]
    run(["cc", "-std=c99", *strict, app, "-o", tmp_path / "app_c", *flags])
    run(["c++", "-x", "c++", "-std=c++11", *strict, app, "-x", "none", "-o",
         tmp_path / "app_cxx", *flags])

    backend = tcp_endpoint(free_port())
    broker = make_broker({"translation": service(free_port(), [backend], timeout_ms=10000)})
    app_env = dict(os.environ, AGENTBUS_REGISTRY=str(broker.registry))
    worker = subprocess.Popen([str(built("client/examples/worker")), "translation"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=app_env)
    try:
        assert select.select([worker.stdout], [], [], HANG_GUARD_S)[0] and worker.stdout.readline()
        broker.wait_backends_up(1)
        for exe in ("app_c", "app_cxx"):
            assert run([tmp_path / exe], env=app_env) == "HELLO\n"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=HANG_GUARD_S)
    assert worker.returncode == 0


def test_readme_programs_compile(tmp_path):
    """Every complete program in client/README.md builds as C99 and C++11
    with -pedantic -Werror (the hello world is examples/hello.c itself)."""
    readme = (ROOT / "client" / "README.md").read_text()
    programs = [b for b in re.findall(r"```c\n(.*?)```", readme, re.S) if "int main" in b]
    hello = (ROOT / "client" / "examples" / "hello.c").read_text()
    assert programs[0] == hello[hello.index("#define"):], "README hello world != hello.c"
    assert len(programs) >= 2
    include = ROOT / "client"
    strict = ["-pedantic", "-Wall", "-Wextra", "-Werror", f"-I{include}", "-lzmq"]
    for i, text in enumerate(programs):
        src = tmp_path / f"readme{i}.c"
        src.write_text(text)
        run(["cc", "-std=c99", src, "-o", tmp_path / f"readme{i}", *strict])
        run(["c++", "-x", "c++", "-std=c++11", src, "-x", "none", "-o",
             tmp_path / f"readme{i}_cxx", *strict])
