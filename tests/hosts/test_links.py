"""test_links.py: cross-host links between real brokers in network
namespaces, as the failure contract of docs/links.md says: unchanged REQ
agents on one host reach REP agents on another through both hosts'
brokers, over a few CURVE-encrypted, authenticated, pooled links that
carry JSON bodies as msgpack and restore them byte for byte; every request
gets exactly one reply through cut cables, killed brokers and reloads.

Each test builds its own fleet (fleet.py): one broker per namespace, its
key file, its copy of the registry, agents and clients inside the hosts.
Links are tuned fast (fleet.TEST_LINKS): no wait in here is longer than
a hang guard, and none asserts on time."""
import base64
import json
import os
import random
import re
import signal

import zmq

import netns
import rogue
from fleet import LINK_PORT, PY, HERE, Fleet

POSER = HERE / "poser.py"
ROGUE = HERE / "rogue.py"
NOTLINK = HERE / "notlink.py"


def two_hosts(network, build_dir, tmp_path, links=None, **knobs):
    """alpha hosts `echo` (an untagged echo agent), beta only calls it."""
    fleet = Fleet(network(2), build_dir, tmp_path, ["alpha", "beta"], links)
    fleet.service("echo", "alpha", **knobs)
    fleet.write()
    fleet["alpha"].agent("echo")
    fleet["alpha"].start()
    fleet["beta"].start()
    fleet.wait_links("beta", "alpha")
    return fleet


def error_of(reply):
    if reply and len(reply) == 1 and reply[0].startswith(b'{"status":"error"'):
        return json.loads(reply[0])
    return None


# ---- bodies ------------------------------------------------------------------

DOC = {"model": "llama-3-70b", "temperature": 0.7, "top_p": 1.0, "max_tokens": 512,
       "stop": None, "stream": False, "seed": -42, "scores": [0.1, 1e-07, 2.5e+20, 3.0],
       "messages": [{"role": "system", "content": "Grüße aus Köln \u2603 \U0001f600"},
                    {"role": "user", "content": "tab\there, quote \" and back\\slash"}]}


def json_styles():
    """The spellings Python's json.dumps produces in common use, each of
    which must cross as msgpack."""
    return [json.dumps(DOC).encode(),
            json.dumps(DOC, separators=(",", ":")).encode(),
            json.dumps(DOC, ensure_ascii=False).encode(),
            json.dumps(DOC, separators=(",", ":"), ensure_ascii=False).encode(),
            json.dumps(DOC, sort_keys=True).encode()]


def big_json():
    rng = random.Random(7)
    vec = [rng.uniform(-1, 1) for _ in range(55000)]
    body = json.dumps({"embedding": vec, "id": "doc-1"}).encode()
    assert len(body) > 1 << 20
    return body


def test_bodies_cross_byte_exact_and_json_as_msgpack(network, build_dir, tmp_path):
    fleet = two_hosts(network, build_dir, tmp_path)
    transcoded = json_styles() + [big_json()]
    raw = [[b"single"], [b"multi", b"frame", b"body"], [b""],
           [bytes(range(256)) * 4], [os.urandom(1 << 20)],
           [json.dumps(DOC, indent=2).encode()],          # valid JSON, no style
           [json.dumps(DOC).encode(), b"second frame"]]   # multi-frame: raw
    requests = [[b] for b in transcoded] + raw
    replies = fleet["beta"].call("echo", requests)
    for request, reply in zip(requests, replies):
        assert reply == request, (request[:1], reply and reply[:1])
    # Both ways as msgpack: beta's requests, and alpha's replies (the agent
    # echoes, so its JSON replies are the same documents).
    out = fleet["beta"].link_stats("alpha", "out")
    assert (out["transcoded"], out["raw"]) == (len(transcoded), len(raw)), out
    assert out["requests"] == out["replies"] == len(requests), out
    into = fleet["alpha"].link_stats("beta", "in")
    assert (into["transcoded"], into["raw"]) == (len(transcoded), len(raw)), into
    # msgpack carried fewer bytes than the agents exchanged.
    assert out["wire_out"] < out["body_out"] and out["body_in"] == out["body_out"], out
    fleet.stop()


# ---- pooling -----------------------------------------------------------------

def test_fifty_clients_share_the_pooled_links(network, build_dir, tmp_path):
    fleet = two_hosts(network, build_dir, tmp_path, links={"per_peer": 2})
    alpha, beta = fleet["alpha"].host, fleet["beta"].host
    load, out = fleet["beta"].background("echo", "many", clients=50, per_client=20)
    load.wait_log(r"running")
    # 50 clients connected to beta's broker, each with a reply: between
    # the two hosts there are exactly links.per_peer connections.
    assert fleet.net.tcp_connections(beta, alpha) == 2
    assert fleet.net.tcp_connections(alpha, beta) == 2
    assert fleet.net.tcp_connections(beta, alpha, LINK_PORT) == 2
    load.proc.stdin.write(b"go\n")
    load.proc.stdin.close()
    assert load.proc.wait(netns.HANG_GUARD_S * 2) == 0, load.log()
    res = json.loads(out.read_text())
    assert res == {"ok": 1000, "bad": []}, res
    assert fleet.net.tcp_connections(beta, alpha) == 2
    st = fleet["beta"].link_stats("alpha")
    assert st["requests"] == st["replies"] == 1000 and st["ups"] == 2, st
    fleet.stop()


# ---- encryption ----------------------------------------------------------------

def test_link_traffic_is_encrypted(network, build_dir, tmp_path):
    """The capture on alpha's cable never shows the body over CURVE; the
    same capture of the same link in plaintext mode (--link-plaintext)
    shows it, which proves the capture sees the link's bytes."""
    fleet = two_hosts(network, build_dir, tmp_path)
    marker = b"distinctive-body-5b1e9a77c4"
    with fleet.net.capture(fleet["alpha"].host, "curve.pcap") as cap:
        assert fleet["beta"].call("echo", [[marker]]) == [[marker]]
    link = b"".join(cap.tcp_payloads(LINK_PORT))
    assert len(link) > 2 * len(marker) and marker not in cap.data()
    for name in ("beta", "alpha"):
        fleet[name].stop()
    since = {n: fleet[n].mark() for n in ("alpha", "beta")}
    fleet["alpha"].start("--link-plaintext")
    fleet["beta"].start("--link-plaintext")
    fleet.wait_links("beta", "alpha", since["beta"])
    for name in ("alpha", "beta"):
        fleet[name].wait_log(r"warn  link plaintext: links between brokers are NOT "
                             r"encrypted", since[name])
    fleet["beta"].wait_log(r"warn  link up peer=alpha .* plaintext \(NOT encrypted",
                           since["beta"])
    with fleet.net.capture(fleet["alpha"].host, "plain.pcap") as cap:
        assert fleet["beta"].call("echo", [[marker]]) == [[marker]]
    assert marker in b"".join(cap.tcp_payloads(LINK_PORT))
    fleet.stop()


# ---- authentication --------------------------------------------------------------

def test_unknown_and_wrong_keys_are_rejected(network, build_dir, tmp_path):
    """mallory's key is not in alpha's registry; `beta` here is a broker
    with beta's name but not beta's key. alpha refuses both handshakes
    (one log line per address), they log the refusal, and nothing of
    theirs reaches alpha's agent."""
    fleet = Fleet(network(3), build_dir, tmp_path, ["alpha", "beta", "mallory"])
    fleet.service("echo", "alpha", timeout_ms=500)
    real_beta = zmq.curve_keypair()[0].decode()
    doc = fleet.doc(["alpha", "beta"])
    doc["hosts"]["beta"]["public_key"] = real_beta    # not the impostor's
    fleet.write(["alpha"], doc)
    fleet.write(["beta"], fleet.doc(["alpha", "beta"]))
    fleet.write(["mallory"], fleet.doc(["alpha", "mallory"]))
    fleet["alpha"].agent("echo")
    for name in ("alpha", "beta", "mallory"):
        fleet[name].start()
    for name, index in (("beta", 2), ("mallory", 3)):
        fleet["alpha"].wait_log(rf"warn  link rejected peer=198\.18\.0\.{index} side=in "
                                r"reason=unknown_key key=\S{40} fingerprint=sha256:")
        fleet[name].wait_log(r"warn  link rejected peer=alpha endpoint=tcp://198\.18\.0\.1"
                             r":7700 side=out chan=0 reason=auth status=400")
        reply, = fleet[name].call("echo", [[b"let me in"]])
        err = error_of(reply)
        assert err and err["error"] == "unavailable", reply
        assert "does not admit this host's key" in err["message"], err
    # Refused once per address in the log, however often they retry.
    netns.wait_until(lambda: fleet["alpha"].stats("linksrv")["refused"] >= 4,
                     "several refused handshakes")
    assert len(re.findall(r"link rejected peer=198\.18\.0\.2 ", fleet["alpha"].broker.log())) == 1
    st = fleet["alpha"].stats("linksrv")
    assert st["admitted"] == 0 and st["connections"] == 0, st
    assert fleet["alpha"].stats("service=echo")["requests"] == 0
    fleet.stop()


def test_an_admitted_host_cannot_pose_as_another(network, build_dir, tmp_path):
    """gamma's key is admitted, but its HELLO names beta: refused, and its
    request is never served."""
    fleet = Fleet(network(2), build_dir, tmp_path, ["alpha", "gamma"])
    fleet.service("echo", "alpha")
    doc = fleet.doc()
    doc["hosts"]["beta"] = {"link": "tcp://198.18.0.9:7700",
                            "public_key": zmq.curve_keypair()[0].decode()}
    fleet.write(doc=doc)
    fleet["alpha"].agent("echo")
    fleet["alpha"].start()
    gamma = fleet["gamma"]
    secret = re.search(r"secret_key: (\S+)", gamma.keyfile.read_text()).group(1)
    r = gamma.host.run([PY, POSER, f"tcp://198.18.0.1:{LINK_PORT}", fleet["alpha"].public,
                        gamma.public, secret, "beta", "echo"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("goodbye protocol HELLO names host beta, but the "
                               "connection's key is host gamma's\n"), r.stdout
    assert "reply" not in r.stdout and "hello" not in r.stdout, r.stdout
    fleet["alpha"].wait_log(r"link rejected peer=198\.18\.0\.2:\d+ host=gamma side=in "
                            r"reason=identity HELLO names host beta")
    assert fleet["alpha"].stats("service=echo")["requests"] == 0
    fleet["alpha"].stop()


def test_a_misbehaving_peer_is_counted_and_dropped(network, build_dir, tmp_path):
    """gamma's key is admitted, but what it sends is not the protocol: a
    version alpha does not speak, a REQUEST before HELLO, one of each
    malformed message, then a run of them. alpha answers GOODBYE with the
    reason, counts and drops the rest, still serves gamma's good request,
    and beta's traffic never notices."""
    fleet = Fleet(network(3), build_dir, tmp_path, ["alpha", "beta", "gamma"])
    fleet.service("echo", "alpha")
    fleet.write()
    alpha, beta, gamma = fleet["alpha"], fleet["beta"], fleet["gamma"]
    alpha.agent("echo")
    alpha.start()
    beta.start()
    fleet.wait_links("beta", "alpha")
    secret = re.search(r"secret_key: (\S+)", gamma.keyfile.read_text()).group(1)
    r = gamma.host.run([PY, ROGUE, f"tcp://198.18.0.1:{LINK_PORT}", alpha.public,
                        gamma.public, secret, "gamma", "echo"],
                       capture_output=True, text=True, timeout=netns.HANG_GUARD_S * 2)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(r"(?m)^version: goodbye version \S*1\.\.1", out), out
    assert re.search(r"(?m)^no_hello: goodbye no_hello ", out), out
    assert re.search(r"(?m)^garbage: hello alpha\ngarbage: reply 0 still served$", out), out
    assert re.search(r"(?m)^flood: goodbye protocol over 100 malformed messages", out), out
    log = alpha.broker.log()
    assert re.search(r"link rejected peer=198\.18\.0\.3:\d+ host=gamma side=in "
                     r"reason=version ours=1\.\.1 theirs=9\.\.9", log), log
    # One warning per kind of malformed message and connection, not one per
    # message: the flood's hundred make no more lines than the one of each.
    warned = re.findall(r"link bad_message peer=(198\.18\.0\.3:\d+) host=gamma side=in "
                        r"reason=(\w+)", log)
    assert warned and len(warned) == len(set(warned)), log
    st = alpha.link_stats("gamma", side="in")
    assert st["bad_messages"] >= len(rogue.malformed("echo")) + 100, st
    assert beta.call("echo", [[b"unbothered"]]) == [[b"unbothered"]]
    assert beta.link_stats("alpha")["downs"] == 0
    fleet.stop()


def test_a_link_endpoint_that_is_not_a_broker_is_retried(network, build_dir, tmp_path):
    """Something else holds alpha's link endpoint (an HTTP server answering
    400 and closing, as a proxy would): libzmq 4.3 takes that for a
    protocol error and would never dial again. beta logs it once, keeps
    dialling with backoff, and links up once alpha's broker is there."""
    fleet = Fleet(network(2), build_dir, tmp_path, ["alpha", "beta"])
    fleet.service("echo", "alpha")
    fleet.write()
    alpha, beta = fleet["alpha"], fleet["beta"]
    impostor = alpha.host.popen([PY, NOTLINK, "198.18.0.1", str(LINK_PORT)],
                                fleet.workdir / "notlink.log")
    impostor.wait_log(r"listening")
    beta.start()
    beta.wait_log(r"warn  link rejected peer=alpha endpoint=tcp://198\.18\.0\.1:7700 "
                  r"side=out chan=0 reason=handshake \(the far end closed the connection "
                  r"during the ZMTP handshake")
    impostor.wait_log(r"connection 3\n")
    assert len(re.findall(r"link rejected", beta.broker.log())) == 1
    reply, = beta.call("echo", [[b"anyone?"]])
    err = error_of(reply)
    assert err and err["error"] == "unavailable", reply
    assert "link handshake with host alpha failed" in err["message"], err
    impostor.stop()
    mark = beta.mark()
    alpha.agent("echo")
    alpha.start()
    fleet.wait_links("beta", "alpha", mark)
    assert beta.call("echo", [[b"there you are"]]) == [[b"there you are"]]
    fleet.stop()


def test_link_statistics_reach_http_and_redis(network, build_dir, tmp_path):
    """The link series are exported like the services': beta's /metrics,
    its Redis (a real redis-server in beta's namespace) and `agentbus
    stats` carry the requests, wire bytes and RTT of its link to alpha;
    /readyz is 200 while the link is up, 503 naming alpha when it is not."""
    fleet = Fleet(network(2), build_dir, tmp_path, ["alpha", "beta"])
    fleet.service("echo", "alpha")
    fleet.write()
    alpha, beta = fleet["alpha"], fleet["beta"]
    alpha.agent("echo")
    alpha.start()
    redis = beta.host.popen(["redis-server", "--bind", "127.0.0.1", "--port", "6399",
                             "--save", "", "--appendonly", "no"], fleet.workdir / "redis.log")
    redis.wait_log(r"Ready to accept connections")
    beta.start("--http", "127.0.0.1:7781", "--redis", "redis://127.0.0.1:6399",
               "--stats-interval", "200")
    fleet.wait_links("beta", "alpha")
    for i in range(5):
        assert beta.call("echo", [[b"count me %d" % i]]) == [[b"count me %d" % i]]
    beta.wait_log(r"redis up addr=127\.0\.0\.1:6399")
    r = beta.host.run([PY, "-c", EXPORTS], capture_output=True, text=True,
                      timeout=netns.HANG_GUARD_S * 2)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    metrics = got["metrics"]
    assert re.search(r'(?m)^agentbus_link_requests_total\{link="alpha",side="out"\} 5$',
                     metrics), metrics
    assert re.search(r'(?m)^agentbus_link_wire_out_total\{link="alpha",side="out"\} [1-9]',
                     metrics), metrics
    assert re.search(r'(?m)^agentbus_link_rtt_p99_seconds\{link="alpha",side="out"\} '
                     r'[0-9.e-]+$', metrics), metrics
    link = got["hash"]
    assert int(link["requests"]) == 5 and int(link["up"]) == 1, link
    assert int(link["rtt_count"]) > 0, link
    assert got["points"] > 0
    assert got["readyz"] == [200, "ready"], got["readyz"]
    # `agentbus stats` (what `top` shows) lists the link after the service.
    tool = str(fleet.build / "broker" / "agentbus")
    r = beta.host.run([tool, "stats", "--http", "127.0.0.1:7781", "--sort", "name"],
                      capture_output=True, text=True, timeout=netns.HANG_GUARD_S)
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert any(re.match(r"\s*echo\s", row) for row in rows), r.stdout
    assert any(re.match(r"alpha out\s+\d", row) for row in rows), r.stdout
    # Not ready while the link is down: /readyz names the host.
    mark = beta.mark()
    beta.host.cut()
    beta.wait_log(r"link down peer=alpha ", mark)
    r = beta.host.run([PY, "-c", READYZ], capture_output=True, text=True,
                      timeout=netns.HANG_GUARD_S)
    code, text = json.loads(r.stdout)
    assert code == 503 and text.startswith("not ready: no link to host alpha is up"), text
    beta.host.restore()
    fleet.stop()
    redis.stop()


READYZ = """
import json, urllib.error, urllib.request
try:
    with urllib.request.urlopen("http://127.0.0.1:7781/readyz", timeout=10) as r:
        print(json.dumps([r.status, r.read().decode().strip()]))
except urllib.error.HTTPError as e:
    print(json.dumps([e.code, e.read().decode().strip()]))
"""


# Run inside beta's namespace: its /metrics, and the link's hash and the
# length of its stream in Redis once a push has carried all five requests.
EXPORTS = """
import json, time, urllib.request
import redis
r = redis.Redis(port=6399, decode_responses=True)
key = "agentbus:beta:link:alpha:out"
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    h = r.hgetall(key)
    if h.get("requests") == "5" and int(h.get("rtt_count", 0)) > 0:
        break
    time.sleep(0.1)
metrics = urllib.request.urlopen("http://127.0.0.1:7781/metrics", timeout=10).read().decode()
with urllib.request.urlopen("http://127.0.0.1:7781/readyz", timeout=10) as ready:
    readyz = [ready.status, ready.read().decode().strip()]
print(json.dumps({"metrics": metrics, "hash": h, "points": r.xlen(key + ":points"),
                  "readyz": readyz}))
"""


# ---- failures under load -----------------------------------------------------------

def run_load(fleet, clients=8):
    proc, out = fleet["beta"].background("echo", "load", clients=clients)
    proc.wait_log(r"running")
    return proc, out


def ticks(proc, n, since=0):
    """Wait for n more progress lines of a load client past `since`."""
    netns.wait_until(lambda: len(re.findall(r"(?m)^tick ", proc.log()[since:])) >= n,
                     f"{n} more ticks of the load")
    return len(proc.log())


def finish_load(proc, out):
    proc.proc.stdin.close()
    assert proc.proc.wait(netns.HANG_GUARD_S * 2) == 0, proc.log()
    res = json.loads(out.read_text())
    assert res["hung"] == 0 and res["bad"] == [], res
    assert set(res["outcomes"]) <= {"ok", "unavailable", "timeout"}, res
    return res["outcomes"]


def test_cut_cable_under_load(network, build_dir, tmp_path):
    fleet = two_hosts(network, build_dir, tmp_path, timeout_ms=1000)
    alpha, beta = fleet["alpha"], fleet["beta"]
    pids = (alpha.broker.proc.pid, beta.broker.proc.pid)
    load, out = run_load(fleet)
    at = ticks(load, 2)
    mark = beta.mark()
    beta.host.cut()
    # Down by its silence, or by TCP giving up (ZMQ_TCP_MAXRT): the same
    # links.down_ms, so either may come first.
    beta.wait_log(r"warn  link down peer=alpha endpoint=\S+ side=out chan=0 "
                  r"reason=(silent for \d+ ms|disconnected)", mark)
    at = ticks(load, 1, at)        # answered while the cable is out
    beta.host.restore()
    fleet.wait_links("beta", "alpha", mark)
    ticks(load, 2, at)
    outcomes = finish_load(load, out)
    assert outcomes["ok"] > 0 and outcomes.get("unavailable", 0) + outcomes.get("timeout", 0) > 0
    # Traffic flows again, through the same two broker processes.
    assert beta.call("echo", [[b"after"]]) == [[b"after"]]
    assert (alpha.broker.proc.pid, beta.broker.proc.pid) == pids
    st = beta.link_stats("alpha")
    assert st["downs"] >= 1 and st["ups"] >= 2, st
    fleet.stop()


def test_far_broker_killed_and_restarted_under_load(network, build_dir, tmp_path):
    fleet = two_hosts(network, build_dir, tmp_path, timeout_ms=1000)
    alpha, beta = fleet["alpha"], fleet["beta"]
    load, out = run_load(fleet)
    at = ticks(load, 2)
    for how in (signal.SIGKILL, signal.SIGTERM):
        mark = beta.mark()
        alpha.stop(how)
        beta.wait_log(r"link down peer=alpha .*reason=(disconnected|goodbye:shutdown)", mark)
        at = ticks(load, 1, at)   # answered while alpha is away
        alpha.start()
        fleet.wait_links("beta", "alpha", mark)
        at = ticks(load, 2, at)
    outcomes = finish_load(load, out)
    assert outcomes["ok"] > 0 and outcomes.get("unavailable", 0) > 0, outcomes
    assert beta.call("echo", [[b"after"]]) == [[b"after"]]
    fleet.stop()


def test_a_request_queued_while_the_link_is_down_waits_for_it(network, build_dir, tmp_path):
    """A request that arrives while the link is down is not failed at once:
    it waits in the queue, within its deadline, and is served by the far
    agent when the link comes back."""
    fleet = two_hosts(network, build_dir, tmp_path, timeout_ms=20000)
    beta = fleet["beta"]
    mark = beta.mark()
    beta.host.cut()
    beta.wait_log(r"link down peer=alpha ", mark)
    proc, out = beta.background("echo", "calls", requests=[[base64.b64encode(b"waited").decode()]])
    netns.wait_until(lambda: beta.stats("service=echo")["queued"] == 1, "the request queued")
    mark = beta.mark()
    beta.host.restore()
    fleet.wait_links("beta", "alpha", mark)
    assert proc.proc.wait(netns.HANG_GUARD_S) == 0, proc.log()
    replies = json.loads(out.read_text())["replies"]
    assert replies == [[base64.b64encode(b"waited").decode()]], replies
    st = beta.stats("service=echo")
    assert st["unavailable"] == 0 and st["timeouts"] == 0 and st["replies"] == 1, st
    fleet.stop()


def test_far_broker_stopping_answers_what_it_holds(network, build_dir, tmp_path):
    """SIGTERM on the far broker while it serves linked requests: it drains
    them, and every reply reaches its client on the near host, including
    the last ones, which arrive together with the GOODBYE and the closing
    of the connection."""
    fleet = Fleet(network(2), build_dir, tmp_path, ["alpha", "beta"])
    fleet.service("echo", "alpha", timeout_ms=10000)
    fleet.write()
    alpha, beta = fleet["alpha"], fleet["beta"]
    alpha.agent("echo", delay_ms=150)
    alpha.start()
    beta.start()
    fleet.wait_links("beta", "alpha")
    # The race is the near side's to lose only now and then: three stops.
    for stop in range(3):
        if stop:
            mark = beta.mark()
            alpha.start()
            fleet.wait_links("beta", "alpha", mark)
        bodies = [b"held %d.%d" % (stop, i) for i in range(4)]
        clients = [beta.background("echo", "calls",
                                   requests=[[base64.b64encode(b).decode()]])
                   for b in bodies]
        netns.wait_until(lambda: alpha.stats("service=echo")["requests"] == len(bodies),
                         "alpha holding every request")
        since = alpha.mark()
        alpha.stop()
        assert re.search(r"exit drained=[1-9]\d* abandoned=0\b", alpha.broker.log()[since:])
        for (proc, out), body in zip(clients, bodies):
            assert proc.proc.wait(netns.HANG_GUARD_S) == 0, proc.log()
            replies = json.loads(out.read_text())["replies"]
            assert replies == [[base64.b64encode(body).decode()]], (body, replies)
    fleet.stop()


def test_far_deadline_answers_first(network, build_dir, tmp_path):
    """A slow far agent: the near client gets the far broker's timeout
    (the far deadline is the near one less links.deadline_margin_ms), not
    the near broker's own."""
    fleet = Fleet(network(2), build_dir, tmp_path, ["alpha", "beta"])
    fleet.service("slow", "alpha", timeout_ms=600)
    fleet.write()
    fleet["alpha"].agent("slow", delay_ms=2000)
    fleet["alpha"].start()
    fleet["beta"].start()
    fleet.wait_links("beta", "alpha")
    reply, = fleet["beta"].call("slow", [[b"take your time"]])
    err = error_of(reply)
    assert err and err["error"] == "timeout", reply
    assert re.match(r"host alpha: no reply from backend tcp://127\.0\.0\.1:\d+ within "
                    r"5\d\d ms$", err["message"]), err
    fleet.stop()


# ---- reloads -------------------------------------------------------------------------

def test_reload_moves_a_service_between_hosts(network, build_dir, tmp_path):
    fleet = Fleet(network(3), build_dir, tmp_path, ["alpha", "beta", "gamma"])
    fleet.service("mover", "alpha")
    fleet.write()
    fleet["alpha"].agent("mover", tag="alpha")
    fleet["gamma"].agent("mover", tag="gamma")
    for site in fleet.sites.values():
        site.start()
    fleet.wait_links("beta", "alpha")
    beta = fleet["beta"]
    assert beta.call("mover", [[b"a"]]) == [[b"alpha", b"a"]]
    # Only beta reloads: it sends to gamma, whose registry still says alpha.
    fleet.svcs["mover"]["host"] = "gamma"
    fleet.write(["beta"])
    assert "reload ok" in beta.reload()
    reply, = beta.call("mover", [[b"b"]])
    err = error_of(reply)
    assert err and err["error"] == "unavailable", reply
    assert err["message"] == ("host gamma: service mover is hosted on alpha, not on "
                              "gamma (registries differ between hosts)"), err
    # gamma reloads too: served there now; alpha last.
    fleet.write(["gamma"])
    assert "reload ok" in fleet["gamma"].reload()
    assert beta.call("mover", [[b"c"]]) == [[b"gamma", b"c"]]
    fleet.write(["alpha"])
    assert "reload ok" in fleet["alpha"].reload()
    assert fleet["alpha"].call("mover", [[b"d"]]) == [[b"gamma", b"d"]]
    fleet.stop()


def test_reload_adds_a_host(network, build_dir, tmp_path):
    fleet = Fleet(network(3), build_dir, tmp_path, ["alpha", "beta", "gamma"])
    fleet.service("a_svc", "alpha")
    fleet.service("c_svc", "gamma")
    fleet.write(["alpha", "beta"], fleet.doc(["alpha", "beta"]))
    fleet.write(["gamma"])
    fleet["alpha"].agent("a_svc", tag="alpha")
    fleet["gamma"].agent("c_svc", tag="gamma")
    for site in fleet.sites.values():
        site.start()
    # gamma is not in alpha's registry yet: its handshakes are refused.
    fleet["gamma"].wait_log(r"link rejected peer=alpha .*reason=auth")
    mark = fleet["gamma"].mark()
    fleet.write(["alpha", "beta"])
    for name in ("alpha", "beta"):
        assert "reload ok" in fleet[name].reload()
    fleet.wait_links("gamma", "alpha", mark)
    assert fleet["beta"].call("c_svc", [[b"x"]]) == [[b"gamma", b"x"]]
    assert fleet["gamma"].call("a_svc", [[b"y"]]) == [[b"alpha", b"y"]]
    assert fleet["alpha"].call("c_svc", [[b"z"]]) == [[b"gamma", b"z"]]
    fleet.stop()


def test_reload_removing_a_host_cuts_its_links(network, build_dir, tmp_path):
    fleet = Fleet(network(3), build_dir, tmp_path, ["alpha", "beta", "gamma"])
    fleet.service("echo", "alpha")
    fleet.start()
    for near in ("beta", "gamma"):
        fleet.wait_links(near, "alpha")
        assert fleet[near].call("echo", [[b"hi"]]) == [[b"alpha", b"hi"]]
    mark = fleet["gamma"].mark()
    fleet.removed.add("gamma")
    fleet.write(["alpha"])
    assert "reload ok" in fleet["alpha"].reload()
    fleet["alpha"].wait_log(r"link rejected peer=198\.18\.0\.3:\d+ host=gamma side=in "
                            r"reason=removed")
    fleet["gamma"].wait_log(r"link down peer=alpha .*reason=goodbye:removed", mark)
    fleet["gamma"].wait_log(r"link rejected peer=alpha .*reason=auth", mark)
    reply, = fleet["gamma"].call("echo", [[b"still there?"]])
    assert error_of(reply)["error"] == "unavailable", reply
    # beta's link was not touched.
    assert fleet["beta"].call("echo", [[b"fine"]]) == [[b"alpha", b"fine"]]
    assert fleet["beta"].link_stats("alpha")["downs"] == 0
    fleet.stop()


# ---- three hosts ---------------------------------------------------------------------

def test_three_hosts_call_each_other(network, build_dir, tmp_path):
    names = ["alpha", "beta", "gamma"]
    fleet = Fleet(network(3), build_dir, tmp_path, names)
    for n in names:
        fleet.service(f"svc_{n}", n)
    fleet.start()
    for near in names:
        for far in names:
            if far != near:
                fleet.wait_links(near, far)
    for near in names:
        for far in names:
            body = f"{near}->{far}".encode()
            assert fleet[near].call(f"svc_{far}", [[body]]) == [[far.encode(), body]]
    # One connection each way between every two hosts.
    for a in fleet.net.hosts:
        for b in fleet.net.hosts:
            if a is not b:
                assert fleet.net.tcp_connections(a, b, LINK_PORT) == 2
    fleet.stop()
