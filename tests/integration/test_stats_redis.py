"""test_stats_redis.py: statistics pushed to a real redis-server: the key
schema of docs/stats.md with the values clients saw, TTLs and stream caps;
Redis killed under load (every reply still arrives, nothing queues, the
drops are counted) and restarted (pushes resume); and Redis memory that
stops growing with 300 services pushing at a short interval."""
import json
import os
import re
import threading
from pathlib import Path


from harness import (HANG_GUARD_S, free_port, free_ports, req_socket, roundtrip, series,
                     service, wait_until)

ROOT = Path(__file__).resolve().parents[2]
HOST = "mainpc"
SLOW_MS = 40
INTERVAL = ["--stats-interval", "100"]


def svc_fields():
    """The flat fields of a service hash, from the declarations in stats.h."""
    src = (ROOT / "broker/stats.h").read_text()
    block = re.search(r"#define SVC_STATS\(X\)(.*?)\n#define SVC_HISTS", src, re.S).group(1)
    stats = re.findall(r"X\((\w+), (?:counter|gauge),", block)
    hist = ["latency_" + f for f in ("count", "p50_us", "p90_us", "p99_us", "p999_us",
                                     "max_us", "last_count", "last_p50_us", "last_p99_us")]
    return {"service", *stats, "errors", "rps", "eps", *hist, "updated_ms"}


def send(zctx, port, n):
    s = req_socket(zctx, port)
    for i in range(n):
        assert roundtrip(s, [b"r%d" % i]) == [b"r%d" % i]
    s.close()


def key(kind, *labels):
    return ":".join(["agentbus", HOST, kind, *labels])


def test_schema_values_ttls_and_caps(make_broker, make_agent, zctx, redis_server):
    fast, slow = make_agent(), make_agent(delay_ms=SLOW_MS)
    svcs = {"fast": service(free_port(), [fast.endpoint]),
            "slow": service(free_port(), [slow.endpoint])}
    cap = 8
    r = redis_server.client(db=3)
    sub = r.pubsub()
    sub.subscribe("agentbus:stats")
    broker = make_broker(svcs, args=INTERVAL + ["--redis", redis_server.url(db=3),
                                                "--redis-stream-len", str(cap)])
    broker.wait_backends_up(2)
    send(zctx, svcs["fast"]["port"], 50)
    send(zctx, svcs["slow"]["port"], 10)

    def pushed():
        h = r.hgetall(key("service", "slow"))
        return h if h.get("replies") == "10" and h.get("latency_p50_us", "0.0") != "0.0" else None
    slow_h = wait_until(pushed, "the slow service's hash with its 10 replies")
    fast_h = wait_until(lambda: (lambda h: h if h.get("replies") == "50" else None)(
        r.hgetall(key("service", "fast"))), "the fast service's hash with its 50 replies")
    assert set(slow_h) == svc_fields(), set(slow_h) ^ svc_fields()
    assert fast_h["requests"] == fast_h["replies"] == "50" and fast_h["errors"] == "0"
    assert float(slow_h["latency_p50_us"]) >= SLOW_MS * 1000 > float(fast_h["latency_p50_us"])
    assert float(slow_h["latency_p99_us"]) <= float(slow_h["latency_max_us"])
    be = r.hgetall(key("backend", svcs["slow"]["backends"][0], "slow"))
    assert be["sent"] == be["replies"] == "10" and be["up"] == "1"
    assert r.hget(key("redis", f"127.0.0.1:{redis_server.port}"), "up") == "1"

    # TTLs: every key expires unless pushed again; the streams are capped.
    ttl_max = max(5 * 100, 3000)
    assert 0 < r.pttl(key("service", "slow")) <= ttl_max
    assert 0 < r.pttl(f"agentbus:{HOST}:snapshot") <= ttl_max
    assert r.pttl("agentbus:hosts") > 0 and r.zscore("agentbus:hosts", HOST) is not None
    points = key("service", "slow") + ":points"
    assert r.pttl(points) > 0
    entry = r.xrevrange(points, count=1)[0][1]
    assert set(entry) == {"rps", "errors", "latency_count", "latency_p50_us",
                          "latency_p99_us", "latency_max_us"}
    tick = broker.stats_json()["tick"]
    broker.wait_stats_json(lambda d: d["tick"] >= tick + 3 * (cap + redis_server.NODE_ENTRIES),
                           "enough intervals to overflow the stream cap")
    # MAXLEN ~ trims whole stream nodes: at most one node beyond the cap.
    assert cap <= r.xlen(points) <= cap + redis_server.NODE_ENTRIES
    for k in r.scan_iter("*"):
        assert r.pttl(k) > 0, f"{k} has no TTL"

    snap = json.loads(r.get(f"agentbus:{HOST}:snapshot"))
    assert snap["host"] == HOST and series(snap, "service", "slow")["requests"] == 10
    msg = wait_until(lambda: sub.get_message(timeout=1.0, ignore_subscribe_messages=True),
                     "a PUBLISH on agentbus:stats")
    assert json.loads(msg["data"])["host"] == HOST
    sub.close()


class Load:
    """Client threads doing round trips until stopped, checking each reply."""

    def __init__(self, zctx, port, clients=4):
        self.stop = threading.Event()
        self.done = [0] * clients
        self.failures = []
        self.threads = [threading.Thread(target=self.run, args=(zctx, port, i))
                        for i in range(clients)]
        for t in self.threads:
            t.start()

    def run(self, zctx, port, i):
        s = req_socket(zctx, port)
        try:
            while not self.stop.is_set():
                body = b"c%d-%d" % (i, self.done[i])
                reply = roundtrip(s, [body])
                if reply != [body]:
                    self.failures.append(reply)
                    return
                self.done[i] += 1
        except AssertionError as e:
            self.failures.append(str(e))
        finally:
            s.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(HANG_GUARD_S)
        assert not self.failures, self.failures[:3]
        return sum(self.done)


def redis_series(doc):
    return doc["redis"][0]


def test_redis_killed_under_load_then_restarted(make_broker, make_agent, zctx, redis_server,
                                                monkeypatch):
    # A small ASan quarantine, so that RSS tracks what the broker holds.
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") +
                       ":quarantine_size_mb=1")
    agent = make_agent()
    ports = free_ports(201)
    svcs = {"echo": service(ports.pop(), [agent.endpoint])}
    # Many (remote) services make every batch large, so queueing would show.
    for i, port in enumerate(ports):
        svcs[f"remote{i:03d}"] = service(port, ["tcp://127.0.0.1:9"], host="otherpc")
    broker = make_broker(svcs, args=INTERVAL + ["--redis", redis_server.url()])
    broker.wait_backends_up(1)
    r = redis_server.client()
    load = Load(zctx, svcs["echo"]["port"])
    try:
        wait_until(lambda: r.exists(key("service", "echo")), "the first push")
        redis_server.kill()
        doc = broker.wait_stats_json(lambda d: redis_series(d)["up"] == 0 and
                                     redis_series(d)["dropped"] >= 10, "pushes dropped")
        rss0, dropped0 = broker.rss_kb(), redis_series(doc)["dropped"]
        doc = broker.wait_stats_json(lambda d: redis_series(d)["dropped"] >= dropped0 + 60,
                                     "60 more pushes dropped")
        rss1 = broker.rss_kb()
        assert redis_series(doc)["buffered_bytes"] == 0  # nothing waits for Redis
        # Queued batches would be ~60 x several hundred kB.
        assert rss1 - rss0 < 8 * 1024, (rss0, rss1)
        served_while_down = sum(load.done)
        redis_server.restart()
        r = redis_server.client()
        wait_until(lambda: r.exists(key("service", "echo")), "pushes after the restart")
        doc = broker.wait_stats_json(lambda d: redis_series(d)["up"] == 1, "redis up again")
        assert redis_series(doc)["reconnects"] >= 1
    finally:
        total = load.finish()
    assert total > served_while_down > 0
    assert int(r.hget(key("service", "echo"), "requests")) > 0
    assert broker.log().count("redis down") == 1  # one warning per outage, not per attempt


def used_memory(r):
    return r.info("memory")["used_memory"]


def test_redis_memory_bounded_with_300_services(make_broker, redis_server):
    svcs = {f"svc{i:03d}": service(port, ["tcp://127.0.0.1:9"], host="otherpc")
            for i, port in enumerate(free_ports(300))}
    cap = 20
    broker = make_broker(svcs, args=INTERVAL + ["--redis", redis_server.url(),
                                                "--redis-stream-len", str(cap)])
    r = redis_server.client()
    fill = 2 * (cap + redis_server.NODE_ENTRIES)  # intervals until the streams are full

    def sample_until(tick):
        peak = 0

        def look():
            nonlocal peak
            peak = max(peak, used_memory(r))
            return broker.stats_json()["tick"] >= tick
        wait_until(look, f"tick {tick}", timeout=4 * HANG_GUARD_S)
        return peak

    start = broker.stats_json()["tick"]
    sample_until(start + fill)
    first = sample_until(start + 2 * fill)
    second = sample_until(start + 3 * fill)
    assert second <= first * 1.10 + 256 * 1024, (first, second)
    keys = r.dbsize()
    assert 600 <= keys <= 610, keys  # a hash and a stream per service, a few others
    assert r.xlen(key("service", "svc000") + ":points") <= cap + redis_server.NODE_ENTRIES


def test_password_from_a_file_never_the_url(make_broker, make_redis, tmp_path, agentbusd):
    server = make_redis(password="s3cret-pw")
    pwfile = tmp_path / "redis-password"
    pwfile.write_text("s3cret-pw\n")
    pwfile.chmod(0o600)
    broker = make_broker({}, args=INTERVAL + ["--redis", server.url(db=2),
                                              "--redis-password-file", str(pwfile)])
    r = server.client(db=2)
    wait_until(lambda: r.exists(f"agentbus:{HOST}:snapshot"), "a push with AUTH")
    assert "s3cret-pw" not in broker.log()

    # A wrong password: the connection is refused, pushes are dropped, once.
    pwfile.write_text("wrong\n")
    bad = make_broker({}, args=INTERVAL + ["--redis", server.url(db=2),
                                           "--redis-password-file", str(pwfile)])
    bad.wait_stats_json(lambda d: redis_series(d)["dropped"] >= 3, "pushes dropped")
    bad.wait_log(r"redis down addr=\S+: setup refused: WRONGPASS")

    # The URL must not carry a password.
    url = f"redis://user:s3cret-pw@127.0.0.1:{server.port}/0"
    refused = make_broker({}, args=["--redis", url], start=False)
    assert refused.run_to_exit() == 1
    assert "no password in the URL" in refused.log()
    assert "s3cret-pw" not in refused.log()
