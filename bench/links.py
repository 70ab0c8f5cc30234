"""links.py: the cross-host benchmark (run it with `bench/run.sh links`).

Two hosts in network namespaces (tests/hosts/netns.py): alpha runs the
agent, beta the clients. The same 512-byte JSON request/reply workload
(Python json.dumps, default style) takes three paths:

  (a) per-request  a new CURVE REQ socket per request, straight to a CURVE
                   REP agent on alpha: what agents do today
  (b) persistent   one CURVE REQ connection per client, straight to it:
                   the best case without a broker
  (c) agentbus     a REQ connection per client to beta's broker on
                   127.0.0.1, over the pooled CURVE link to alpha's
                   broker, which holds a plain REP agent on 127.0.0.1

For each path: p50/p99 round trip with one client, requests/s with
--clients clients, and wire bytes per request: every byte (headers
included) that crossed alpha's cable during the one-client phase, from
the kernel's counters. Paths take turns in each of --rounds rounds;
figures are medians over rounds, ratios medians of per-round ratios.
Needs root (namespaces) and a Release build (bench/run.sh makes one).
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "hosts"))
import netns  # noqa: E402

SERVICE_PORT, AGENT_PORT, CURVE_PORT, LINK_PORT = 5581, 15581, 6000, 7700
PATHS = ("per-request", "persistent", "agentbus")
GOALS = ("(c) p50 <= 1/3 of (a); (c) req/s >= 2x (a) and >= 0.7x (b); "
         "(c) wire bytes < (b)")


def body_512():
    """A 512-byte chat request as json.dumps writes it by default."""
    doc = {"model": "llama-3-8b-instruct", "temperature": 0.2, "max_tokens": 256,
           "stream": False, "user": "agent-17",
           "messages": [{"role": "system", "content": "You are a terse assistant."},
                        {"role": "user", "content": ""}]}
    base = len(json.dumps(doc))
    doc["messages"][1]["content"] = ("Summarise the build log of job 4417 and name "
                                     "the failing test. " * 10)[:512 - base]
    body = json.dumps(doc).encode()
    assert len(body) == 512, len(body)
    return body


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", required=True, help="CMake build directory (Release)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=3.0, help="per throughput window")
    p.add_argument("--requests", type=int, default=2000,
                   help="one-client requests per round (per-request path: a quarter)")
    p.add_argument("--transcode", choices=("auto", "off"), default="auto",
                   help="the service's transcode knob (off: JSON crosses raw)")
    return p.parse_args(argv)


class Bench:
    def __init__(self, args, net, work):
        self.args, self.net, self.work = args, net, Path(work)
        self.alpha, self.beta = net.hosts
        self.tool = Path(args.build) / "bench" / "bench_links"
        self.agentbusd = Path(args.build) / "broker" / "agentbusd"
        self.body = self.work / "body.json"
        self.body.write_bytes(body_512())
        self.agent_pub, self.agent_sec = (k.decode() for k in zmq.curve_keypair())

    def keys_and_registry(self):
        hosts = {}
        for name, host in (("alpha", self.alpha), ("beta", self.beta)):
            pub, sec = (k.decode() for k in zmq.curve_keypair())
            key = self.work / f"{name}.key"
            key.write_text(f"host: {name}\npublic_key: {pub}\nsecret_key: {sec}\n")
            key.chmod(0o600)
            hosts[name] = {"link": f"tcp://{host.addr}:{LINK_PORT}", "public_key": pub}
        reg = {"hosts": hosts, "services": {"chat": {
            "host": "alpha", "port": SERVICE_PORT,
            "backends": [f"tcp://127.0.0.1:{AGENT_PORT}"],
            "transcode": self.args.transcode}}}
        (self.work / "registry.yaml").write_text(yaml.safe_dump(reg))

    def start(self):
        self.keys_and_registry()
        a, b = self.alpha, self.beta
        agents = [a.popen([self.tool, "agent", "--bind", f"tcp://127.0.0.1:{AGENT_PORT}"],
                          self.work / "agent.log"),
                  a.popen([self.tool, "agent", "--bind", f"tcp://{a.addr}:{CURVE_PORT}",
                           "--curve-secret", self.agent_sec], self.work / "curve-agent.log")]
        for p in agents:
            p.wait_log(r"ready")
        for name, host in (("alpha", a), ("beta", b)):
            p = host.popen([self.agentbusd, "--registry", self.work / "registry.yaml",
                            "--host", name, "--secret-key", self.work / f"{name}.key"],
                           self.work / f"{name}.log")
            p.wait_log(r"ready host=")
            if name == "beta":
                self.beta_broker = p
        self.beta_broker.wait_log(r"link up peer=alpha")

    def wire_bytes(self):
        """Bytes both ways on alpha's cable so far (the hub's end of it)."""
        total = 0
        for d in ("rx", "tx"):
            r = subprocess.run(["ip", "netns", "exec", self.net.hub, "cat",
                                f"/sys/class/net/{self.alpha.cable}/statistics/{d}_bytes"],
                               capture_output=True, text=True, check=True)
            total += int(r.stdout)
        return total

    def client(self, path, clients, **how):
        argv = [self.tool, "client", "--body", self.body, "--clients", str(clients)]
        if path == "agentbus":
            argv += ["--connect", f"tcp://127.0.0.1:{SERVICE_PORT}"]
        else:
            argv += ["--connect", f"tcp://{self.alpha.addr}:{CURVE_PORT}",
                     "--server-key", self.agent_pub]
        argv += ["--per-request"] if path == "per-request" else []
        for k, v in how.items():
            argv += [f"--{k}", str(v)]
        r = self.beta.run(argv, capture_output=True, text=True,
                          timeout=netns.HANG_GUARD_S * 10)
        if r.returncode != 0:
            raise SystemExit(f"bench_links client failed: {r.stderr}")
        res = json.loads(r.stdout)
        if res["errors"]:
            raise SystemExit(f"{path}: {res['errors']} requests without their echo: "
                             "a broken path is not measured")
        return res

    def round(self):
        out = {}
        for path in PATHS:
            n = self.args.requests // (4 if path == "per-request" else 1)
            self.client(path, 1, requests=max(50, n // 10))        # warm-up
            before = self.wire_bytes()
            lat = self.client(path, 1, requests=n)
            wire = (self.wire_bytes() - before) / lat["requests"]
            tput = self.client(path, self.args.clients, seconds=self.args.seconds)
            out[path] = {"p50": lat["p50_us"], "p99": lat["p99_us"],
                         "rps": tput["rps"], "wire": wire}
            print(f"  {path:12s} p50 {lat['p50_us']:8.1f} us  p99 {lat['p99_us']:8.1f} us"
                  f"  {tput['rps']:9.0f} req/s  {wire:7.0f} wire B/req", flush=True)
        return out


def ratios(r):
    a, b, c = (r[p] for p in PATHS)
    return {"p50 (c)/(a)": c["p50"] / a["p50"], "req/s (c)/(a)": c["rps"] / a["rps"],
            "req/s (c)/(b)": c["rps"] / b["rps"], "wire (c)/(b)": c["wire"] / b["wire"]}


def report(rounds, args):
    med = {p: {k: statistics.median(r[p][k] for r in rounds) for k in rounds[0][p]}
           for p in PATHS}
    rat = {k: statistics.median(ratios(r)[k] for r in rounds) for k in ratios(rounds[0])}
    print(f"\nmedians over {len(rounds)} rounds (512 B JSON, {args.clients} clients "
          "for req/s)")
    print(f"  {'path':14s} {'p50 us':>9s} {'p99 us':>9s} {'req/s':>9s} {'wire B/req':>11s}")
    for label, p in zip(("(a) per-request", "(b) persistent", "(c) agentbus"), PATHS):
        m = med[p]
        print(f"  {label:14s} {m['p50']:9.1f} {m['p99']:9.1f} {m['rps']:9.0f} "
              f"{m['wire']:11.0f}")
    goals = {"p50 (c)/(a)": ("<=", 1 / 3), "req/s (c)/(a)": (">=", 2.0),
             "req/s (c)/(b)": (">=", 0.7), "wire (c)/(b)": ("<", 1.0)}
    print("ratios (median of per-round ratios)")
    for k, v in rat.items():
        op, goal = goals[k]
        met = v <= goal if op == "<=" else v >= goal if op == ">=" else v < goal
        print(f"  {k:14s} {v:6.3f}   goal {op} {goal:.3f}   {'met' if met else 'NOT MET'}")


def main(argv):
    args = parse_args(argv)
    why = netns.available()
    if why:
        raise SystemExit(f"bench/links.py: {why}")
    print(f"cross-host benchmark: {args.rounds} rounds; goals: {GOALS}", flush=True)
    with tempfile.TemporaryDirectory(prefix="agentbus-bench-links-") as work:
        with netns.Network(2, work) as net:
            bench = Bench(args, net, work)
            bench.start()
            rounds = []
            for i in range(args.rounds):
                print(f"round {i + 1}", flush=True)
                rounds.append(bench.round())
            report(rounds, args)


if __name__ == "__main__":
    main(sys.argv[1:])
