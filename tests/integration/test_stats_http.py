"""test_stats_http.py: the HTTP endpoint of agentbusd against real clients.
/metrics is read by the Prometheus text parser of prometheus_client; the
latencies it reports are checked against what slow agents imposed;
/healthz and /readyz turn as documented (docs/stats.md); malformed, slow
and too many HTTP clients get errors or are cut while ZMQ traffic and
other HTTP clients carry on."""
import re
import signal
import socket
import time

from prometheus_client.parser import text_string_to_metric_families

from harness import (HANG_GUARD_S, RouterBackend, assert_error, dealer_socket, free_port,
                     http_request, recv_reply, req_socket, roundtrip, series, service,
                     tcp_endpoint, wait_until)

SLOW_MS = 40
FAST_REQUESTS = 60
SLOW_REQUESTS = 12
# A short stats interval, so the window fills within a test.
STATS = ["--stats-interval", "200"]


def two_services(make_agent):
    fast = make_agent()
    slow = make_agent(delay_ms=SLOW_MS)
    return {"fast": service(free_port(), [fast.endpoint]),
            "slow": service(free_port(), [slow.endpoint])}


def send(zctx, port, n):
    s = req_socket(zctx, port)
    for i in range(n):
        assert roundtrip(s, [b"ping %d" % i]) == [b"ping %d" % i]
    s.close()


def load_two(zctx, broker, svcs):
    send(zctx, svcs["fast"]["port"], FAST_REQUESTS)
    send(zctx, svcs["slow"]["port"], SLOW_REQUESTS)
    # Wait until a tick has closed the slices holding every request.
    return broker.wait_stats_json(
        lambda d: series(d, "service", "fast")["latency_p50_us"] > 0 and
        series(d, "service", "slow")["latency_p50_us"] > 0 and
        series(d, "service", "slow")["latency_count"] == SLOW_REQUESTS,
        "both services' windows hold their requests")


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(fam, suffix="", **labels):
    for s in fam.samples:
        if s.name == fam.name + suffix and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {fam.name}{suffix} {labels}: {fam.samples}")


def test_metrics_parse_and_match_what_clients_saw(make_broker, make_agent, zctx):
    svcs = two_services(make_agent)
    broker = make_broker(svcs, args=STATS)
    broker.wait_backends_up(2)
    load_two(zctx, broker, svcs)
    status, headers, body = broker.http("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    fams = families(body.decode())

    info = fams["agentbus_build_info"]
    assert sample(info, host="mainpc") == 1 and info.samples[0].labels["version"]
    req = fams["agentbus_service_requests"]
    assert req.type == "counter"
    assert sample(req, "_total", service="fast") == FAST_REQUESTS
    assert sample(req, "_total", service="slow") == SLOW_REQUESTS
    assert sample(fams["agentbus_service_timeouts"], "_total", service="fast") == 0

    lat = fams["agentbus_service_latency_seconds"]
    assert lat.type == "histogram"
    for name, n in (("fast", FAST_REQUESTS), ("slow", SLOW_REQUESTS)):
        buckets = [(float(s.labels["le"]), s.value) for s in lat.samples
                   if s.name.endswith("_bucket") and s.labels["service"] == name]
        assert buckets[-1] == (float("inf"), n), buckets
        assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), buckets
        assert sample(lat, "_count", service=name) == n
    # The slow agent sleeps SLOW_MS: every slow request is in no bucket below it.
    slow_le_below = [s.value for s in lat.samples if s.name.endswith("_bucket") and
                     s.labels["service"] == "slow" and float(s.labels["le"]) < SLOW_MS / 1000]
    assert slow_le_below and max(slow_le_below) == 0
    assert sample(lat, "_sum", service="slow") >= SLOW_REQUESTS * SLOW_MS / 1000

    p50 = fams["agentbus_service_latency_p50_seconds"]
    p99 = fams["agentbus_service_latency_p99_seconds"]
    assert sample(p50, service="slow") >= SLOW_MS / 1000
    assert sample(p50, service="fast") < sample(p50, service="slow")
    assert sample(p99, service="slow") >= sample(p50, service="slow")
    assert sample(fams["agentbus_backend_up"], service="fast") == 1
    assert sample(fams["agentbus_backend_sent"], "_total", service="slow") == SLOW_REQUESTS
    assert fams["agentbus_backend_inflight_time_seconds"].type == "histogram"
    assert sample(fams["agentbus_broker_ready"], host="mainpc") == 1
    assert fams["agentbus_http_requests"].type == "counter"
    assert "agentbus_redis_up" not in fams  # no --redis


def test_stats_json_counts_and_errors(make_broker, make_agent, zctx):
    svcs = two_services(make_agent)
    # A service whose only backend never answers: every request times out.
    svcs["dead"] = service(free_port(), [tcp_endpoint(free_port())], timeout_ms=100)
    broker = make_broker(svcs, args=STATS)
    broker.wait_backends_up(2)
    load_two(zctx, broker, svcs)
    s = req_socket(zctx, svcs["dead"]["port"])
    for _ in range(3):
        assert b'"error":"unavailable"' in roundtrip(s, [b"x"])[0]
    doc = broker.wait_stats_json(lambda d: series(d, "service", "dead")["eps"] > 0,
                                 "errors of the dead service in the window")
    dead, fast, slow = (series(doc, "service", n) for n in ("dead", "fast", "slow"))
    assert dead["errors"] == dead["unavailable"] == 3 and dead["requests"] == 3
    assert fast["requests"] == fast["replies"] == FAST_REQUESTS and fast["errors"] == 0
    assert slow["latency_p50_us"] >= SLOW_MS * 1000 > fast["latency_p50_us"]
    assert slow["latency_p50_us"] <= slow["latency_p99_us"] <= slow["latency_max_us"]
    assert doc["host"] == "mainpc" and doc["ready"] is True and doc["tick"] > 0
    backend = series(doc, "backend", svcs["slow"]["backends"][0])
    assert backend["service"] == "slow" and backend["sent"] == backend["replies"] == SLOW_REQUESTS
    assert backend["inflight_time_p50_us"] >= SLOW_MS * 1000


def test_every_outcome_is_counted_and_timed(make_broker, zctx):
    """Replies, errors at the deadline's side (bad_reply) and errors
    answered at once (too_large, bad_request) are each a request, an
    outcome counter and a latency sample; bad_reply is in /metrics."""
    backend = RouterBackend(zctx, lambda f: f[:2] if f[2:] == [b"bad"] else f)
    try:
        port = free_port()
        broker = make_broker({"echo": service(port, [backend.endpoint], max_msg_bytes=1024)},
                             args=STATS)
        broker.wait_backends_up(1)
        s = req_socket(zctx, port)
        assert roundtrip(s, [b"ok"]) == [b"ok"]
        assert_error(roundtrip(s, [b"bad"]), "bad_reply", "echo")
        assert_error(roundtrip(s, [b"x" * 2000]), "too_large", "echo")
        raw = dealer_socket(zctx, port)
        raw.send(b"no delimiter")
        assert_error(recv_reply(raw)[1:], "bad_request", "echo")
        doc = broker.wait_stats_json(
            lambda d: series(d, "service", "echo")["latency_count"] == 4,
            "every answer timed")
        echo = series(doc, "service", "echo")
        assert echo["requests"] == 4 and echo["replies"] == 1
        assert echo["bad_reply"] == echo["too_large"] == echo["bad_request"] == 1
        assert echo["errors"] == 3
        fams = families(broker.http("/metrics")[2].decode())
        assert sample(fams["agentbus_service_bad_reply"], "_total", service="echo") == 1
        assert sample(fams["agentbus_service_latency_seconds"], "_count", service="echo") == 4
    finally:
        backend.close()


def test_series_follow_reloads(make_broker, make_agent, zctx):
    """A kept service keeps its series when its port moves; a removed one
    leaves every export at once (with its backends); a re-added one is
    exported once, from zero; a refused reload is counted."""
    agent = make_agent()
    svcs = {"kept": service(free_port(), [agent.endpoint]),
            "gone": service(free_port(), [agent.endpoint])}
    broker = make_broker(svcs, args=STATS)
    broker.wait_backends_up(2)
    send(zctx, svcs["kept"]["port"], 3)
    send(zctx, svcs["gone"]["port"], 2)

    def reload(services):
        since = broker.mark()
        broker.rewrite(services)
        broker.signal(signal.SIGHUP)
        broker.wait_log(r"reload ok ", since)

    moved = {"kept": service(free_port(), [agent.endpoint]),
             "added": service(free_port(), [agent.endpoint])}
    reload(moved)
    doc = broker.stats_json()
    assert [x["service"] for x in doc["service"]] == ["kept", "added"]
    assert [x["service"] for x in doc["backend"]] == ["kept", "added"]
    assert series(doc, "service", "kept")["requests"] == 3
    assert series(doc, "service", "kept")["latency_count"] == 3
    assert series(doc, "service", "added")["requests"] == 0
    send(zctx, moved["kept"]["port"], 1)

    reload(dict(moved, gone=service(free_port(), [agent.endpoint])))
    since = broker.mark()
    broker.registry.write_text("services: [")
    broker.signal(signal.SIGHUP)
    broker.wait_log(r"reload failed: registry rejected", since)
    doc = broker.stats_json()
    assert [x["service"] for x in doc["service"]] == ["kept", "added", "gone"]
    assert series(doc, "service", "kept")["requests"] == 4
    assert series(doc, "service", "gone")["requests"] == 0
    fams = families(broker.http("/metrics")[2].decode())
    assert [s.labels["service"] for s in fams["agentbus_service_requests"].samples] == \
        ["kept", "added", "gone"]
    b = doc["broker"][0]
    assert (b["reloads"], b["reloads_partial"], b["reloads_rejected"]) == (2, 0, 1)


def test_healthz_and_readyz_turn(make_broker, make_agent, zctx):
    agent = make_agent(delay_ms=1500)
    svcs = {"echo": service(free_port(), [agent.endpoint])}
    broker = make_broker(svcs, args=STATS + ["--drain-ms", "20000"])
    assert broker.http("/healthz")[0] == 200
    assert broker.http("/readyz")[:1] == (200,)

    # A reload whose new service's port is held by someone else: the broker
    # retries the bind, then gives up; not ready meanwhile, still alive.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        svcs["blocked"] = service(busy, [agent.endpoint])
        broker.rewrite(svcs)
        since = broker.mark()
        broker.signal(signal.SIGHUP)
        broker.wait_log(r"reload ok services=2 .* binding=1", since)
        unbound = b"service blocked: port %d is not bound" % busy
        status, _, body = broker.http("/readyz")
        assert status == 503 and unbound in body, body
        broker.wait_log(rf"bind service=blocked port={busy} errno=98 .* gave up", since)
        status, _, body = broker.http("/readyz")
        assert status == 503 and unbound + b" (Address already in use; gave up" in body, body
        assert broker.http("/healthz")[0] == 200
        doc = broker.stats_json()
        assert doc["ready"] is False and doc["broker"][0]["unbound_ports"] == 1
    since = broker.mark()
    broker.signal(signal.SIGHUP)  # the port is free now: bound again
    broker.wait_log(rf"bind ok service=blocked port={busy}", since)
    assert broker.http("/readyz")[0] == 200
    broker_series = broker.stats_json()["broker"][0]
    assert broker_series["unbound_ports"] == 0 and broker_series["ready"] == 1
    assert broker_series["reloads"] == 2 and broker_series["reloads_rejected"] == 0

    # Draining: not ready, still alive, and the request in flight is answered.
    broker.wait_backends_up(1)
    s = req_socket(zctx, svcs["echo"]["port"])
    s.send(b"last")
    broker.wait_stats_json(lambda d: series(d, "service", "echo")["inflight"] == 1,
                           "the request in flight")
    broker.signal(signal.SIGTERM)
    broker.wait_log(r"shutdown signal=SIGTERM pending=1")
    status, _, body = broker.http("/readyz")
    assert status == 503 and b"draining" in body
    status, _, body = broker.http("/healthz")
    assert status == 200 and b"state=draining" in body
    assert s.recv_multipart() == [b"last"]
    assert broker.wait_exit() == 0


def raw_exchange(port, data, timeout=HANG_GUARD_S):
    """Send raw bytes, return everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(data)
        out = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return out
            out += chunk


def status_of(response):
    m = re.match(rb"HTTP/1\.\d (\d{3})", response)
    return int(m.group(1)) if m else None


def test_http_refuses_what_it_does_not_serve(make_broker):
    broker = make_broker({}, args=STATS + ["--http-timeout-ms", "1000"])
    port = broker.http_port()
    for method in ("POST", "PUT", "DELETE"):
        status, headers, body = http_request(port, "/metrics", method)
        assert status == 405 and headers["Allow"] == "GET, HEAD", (method, status)
    assert http_request(port, "/nope")[0] == 404
    status, headers, body = http_request(port, "/stats.json", "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    # Malformed requests: a clear 4xx/5xx, or the connection is cut.
    assert status_of(raw_exchange(port, b"GET /healthz HTTP/1.0\r\nBad Header\r\n\r\n")) == 400
    assert status_of(raw_exchange(port, b"GET /healthz HTTP/9.9\r\n\r\n")) == 505
    long_uri = b"GET /" + b"a" * 70000 + b" HTTP/1.0\r\n\r\n"
    assert status_of(raw_exchange(port, long_uri)) == 414
    huge = b"GET /healthz HTTP/1.0\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
    assert status_of(raw_exchange(port, huge)) == 431
    assert raw_exchange(port, b"GARBAGE\r\n\r\n") == b""
    assert raw_exchange(port, b"\x00\x01\x02\xff\r\n\r\n") == b""  # cut at the deadline
    # Page: self-contained (nothing fetched from elsewhere).
    status, headers, body = http_request(port, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"<canvas" in body and not re.search(rb"(src|href)=\"(https?:)?//", body)
    assert http_request(port, "/healthz")[0] == 200


def test_trickling_client_is_cut(make_broker, make_agent, zctx):
    agent = make_agent()
    svcs = {"echo": service(free_port(), [agent.endpoint])}
    broker = make_broker(svcs, args=STATS + ["--http-timeout-ms", "500"])
    broker.wait_backends_up(1)
    port = broker.http_port()
    # Each byte arrives in time for the idle timeout, the request never
    # completes: the request deadline cuts it.
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S) as slow:
        slow.sendall(b"GET /metr")
        deadline = time.monotonic() + HANG_GUARD_S
        closed = False
        while not closed:
            assert time.monotonic() < deadline, "a trickling HTTP client was never cut"
            try:
                slow.sendall(b"i")
                closed = wait_readable(slow, 0.1) and slow.recv(1024) == b""
            except (BrokenPipeError, ConnectionResetError):
                closed = True
    send(zctx, svcs["echo"]["port"], 20)  # the broker kept serving
    doc = broker.stats_json()
    assert doc["http"][0]["cut"] >= 1
    assert series(doc, "service", "echo")["replies"] == 20


def wait_readable(sock, seconds):
    import select
    return bool(select.select([sock], [], [], seconds)[0])


def http_stats(broker):
    """The http series' counters from the SIGUSR1 log line (no HTTP needed)."""
    since = broker.mark()
    broker.signal(signal.SIGUSR1)
    m = broker.wait_log(r"\bstats http=\S+ (.*)", since)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


def test_connection_cap(make_broker, make_agent, zctx):
    agent = make_agent()
    svcs = {"echo": service(free_port(), [agent.endpoint])}
    broker = make_broker(svcs, args=STATS + ["--http-max-conns", "4",
                                             "--http-timeout-ms", "60000"])
    broker.wait_backends_up(1)
    port = broker.http_port()
    held = [socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S)
            for _ in range(4)]
    extra = None
    try:
        wait_until(lambda: http_stats(broker)["connections"] == 4, "4 connections open")
        extra = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S)
        extra.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        send(zctx, svcs["echo"]["port"], 20)  # ZMQ traffic is untouched
        assert http_stats(broker)["connections"] == 4
        held.pop().close()  # a slot frees: the waiting client is served
        assert status_of(extra.recv(4096)) == 200
    finally:
        for c in held + ([extra] if extra else []):
            c.close()
