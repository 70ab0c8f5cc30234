"""test_dispatch.py: where requests go. A REP agent serves one request at a
time, so a request pipelined behind a long one waits for all of it: fast
requests must never be stacked behind a slow one (or behind one that timed
out and that the agent is still working on), yet go to the agent at once
when it is free again."""
import threading
import time

from harness import (assert_error, free_port, recv_reply, req_socket, roundtrip,
                     run_concurrently, service, tagged_echo_ok, unique_body, wait_until)

TAGS = {b"A", b"B"}
FAST_CLIENTS = 4
FAST_REQUESTS = 15


def fast_burst(zctx, port):
    """FAST_CLIENTS clients doing FAST_REQUESTS round trips each, at once;
    returns the tag of every reply (None for anything but the echo)."""
    start = threading.Barrier(FAST_CLIENTS)

    def client(c):
        sock = req_socket(zctx, port)
        start.wait()
        try:
            return [tagged_echo_ok(roundtrip(sock, body), body, TAGS)
                    for body in (unique_body(c, i) for i in range(FAST_REQUESTS))]
        finally:
            sock.close()
    return [tag for tags in run_concurrently(client, FAST_CLIENTS) for tag in tags]


def slow_request_in_flight(zctx, broker, port):
    """A REQ socket with a slow request held by a backend for longer than
    pipeline_ms (the sleep lets the request age: it is not a check)."""
    sock = req_socket(zctx, port)
    sock.send_multipart([b"slow"])
    broker.wait_stats("echo", lambda st: st["inflight"] == 1, "the slow request held")
    time.sleep(0.1)
    return sock


def test_fast_requests_are_not_stacked_behind_a_slow_one(zctx, make_agent, make_broker):
    agents = [make_agent(tag=t.decode(), delay_ms=3000, slow_prefix="slow") for t in TAGS]
    port = free_port()
    broker = make_broker({"echo": service(port, [a.endpoint for a in agents],
                                          timeout_ms=20000)})
    broker.wait_backends_up(2)
    slow = slow_request_in_flight(zctx, broker, port)
    tags = fast_burst(zctx, port)
    slow_tag = recv_reply(slow)[0]
    assert None not in tags, tags
    # Every fast request went to the other agent, with the default knobs
    # (max_inflight 16 would let 15 more stack behind the slow one).
    assert set(tags) == TAGS - {slow_tag}, (tags, slow_tag)


def test_a_timed_out_request_still_occupies_its_agent(zctx, make_agent, make_broker):
    agents = [make_agent(tag=t.decode(), delay_ms=4000, slow_prefix="slow") for t in TAGS]
    port = free_port()
    broker = make_broker({"echo": service(port, [a.endpoint for a in agents],
                                          timeout_ms=1500)})
    broker.wait_backends_up(2)
    slow = slow_request_in_flight(zctx, broker, port)
    err = assert_error(recv_reply(slow), "timeout", "echo")
    busy = next(a for a in agents if a.endpoint in err["message"])
    tags = fast_burst(zctx, port)
    assert None not in tags, tags
    assert busy.argv[busy.argv.index("--tag") + 1].encode() not in tags, tags
    # Once it has replied (late: dropped), the agent takes requests again.
    broker.wait_stats("echo", lambda st: st["late_replies"] == 1, "the late reply")
    wait_until(lambda: len(set(fast_burst(zctx, port))) == 2, "both agents serving")
