"""test_errors.py: the broker's own error replies (timeout, overloaded,
too_large, bad_request, bad_reply), each exactly one reply, after which the
client's socket keeps working."""
import threading

from harness import (RouterBackend, assert_error, dealer_socket, error_of, free_port,
                     recv_reply, req_socket, roundtrip, run_concurrently, service)

# The slow request outlives its deadline by a margin that leaves the next
# request (queued behind it at the REP) well inside its own deadline.
TIMEOUT_MS = 2000
SLOW_MS = 2300


def test_timeout_then_the_socket_gets_its_own_next_reply(zctx, make_agent, make_broker):
    agent = make_agent(delay_ms=SLOW_MS, slow_prefix="slow")
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], timeout_ms=TIMEOUT_MS)})
    sock = req_socket(zctx, port)
    assert_error(roundtrip(sock, [b"slow-1"]), "timeout", "echo")
    # The late reply to slow-1 reaches the broker while fast-2 is pending:
    # it must be dropped, not handed to this client as fast-2's reply.
    assert roundtrip(sock, [b"fast-2"]) == [b"fast-2"]
    st = broker.wait_stats("echo", lambda s: s["late_replies"] >= 1, "the late reply counted")
    assert st["late_replies"] == 1 and st["timeouts"] == 1


def test_overloaded_when_the_queue_is_full(zctx, make_agent, make_broker):
    agent = make_agent(delay_ms=500)
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], queue_max=1,
                                          max_inflight=1, timeout_ms=20000)})
    broker.wait_backends_up(1)
    n = 6
    socks = [req_socket(zctx, port) for _ in range(n)]
    start = threading.Barrier(n)

    def burst(i):
        start.wait()
        return roundtrip(socks[i], [b"burst-%d" % i])

    replies = run_concurrently(burst, n)
    overloaded = [i for i, rep in enumerate(replies) if error_of(rep)]
    for i in overloaded:
        assert_error(replies[i], "overloaded", "echo")
    assert 1 <= len(overloaded) <= n - 2, replies  # one in flight, one queued
    for i, rep in enumerate(replies):
        assert i in overloaded or rep == [b"burst-%d" % i], rep
    # One at a time now: no stray second reply may show up in their place.
    for i, sock in enumerate(socks):
        assert roundtrip(sock, [b"after-%d" % i]) == [b"after-%d" % i]
    assert broker.stats("echo")["overloaded"] == len(overloaded)


def test_too_large(zctx, make_agent, make_broker):
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint],
                                          max_msg_bytes=1024, max_frames=4)})
    sock = req_socket(zctx, port)
    at_limit = [[b"x" * 1024], [b"a", b"b", b"c", b"d"], [b"y" * 512, b"z" * 512]]
    over = [[b"x" * 2000], [b"a", b"b", b"c", b"d", b"e"], [b"y" * 600, b"z" * 600],
            [b"f"] * 1000]
    for body in at_limit:
        assert roundtrip(sock, body) == body
    for body in over:
        assert_error(roundtrip(sock, body), "too_large", "echo")
    assert roundtrip(sock, [b"still fine"]) == [b"still fine"]
    assert broker.stats("echo")["too_large"] == len(over)


def test_limits_from_defaults_apply(zctx, make_agent, make_broker):
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint])}, defaults={"max_frames": 2})
    sock = req_socket(zctx, port)
    assert roundtrip(sock, [b"a", b"b"]) == [b"a", b"b"]
    assert_error(roundtrip(sock, [b"a", b"b", b"c"]), "too_large", "echo")
    assert broker.stats("echo")["too_large"] == 1


def test_bad_request_without_delimiter(zctx, make_agent, make_broker):
    # A DEALER that does not speak REQ: no empty delimiter frame. The broker
    # answers [routing id][""][error], so the DEALER sees ["", error].
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint])})
    sock = dealer_socket(zctx, port)
    sock.send_multipart([b"no delimiter here"])
    reply = recv_reply(sock)
    assert reply[:1] == [b""], reply
    assert_error(reply[1:], "bad_request", "echo")
    # The same connection can then speak REQ properly.
    sock.send_multipart([b"", b"proper"])
    assert recv_reply(sock) == [b"", b"proper"]
    assert broker.stats("echo")["bad_request"] == 1


def test_reply_without_body_is_answered_bad_reply(zctx, make_broker):
    # [id][""] and nothing else: relaying it would hand a REQ client an
    # envelope with no message, which it never receives.
    backend = RouterBackend(zctx, lambda frames: frames[:2])
    try:
        port = free_port()
        broker = make_broker({"echo": service(port, [backend.endpoint])})
        sock = req_socket(zctx, port)
        err = assert_error(roundtrip(sock, [b"anything"]), "bad_reply", "echo")
        assert "no body frame" in err["message"]
        assert broker.stats("echo")["bad_reply"] == 1
    finally:
        backend.close()


def test_reply_without_delimiter_is_answered_bad_reply(zctx, make_broker):
    backend = RouterBackend(zctx, lambda frames: [frames[0], b"not empty", b"body"])
    try:
        port = free_port()
        make_broker({"echo": service(port, [backend.endpoint])})
        assert_error(roundtrip(req_socket(zctx, port), [b"x"]), "bad_reply", "echo")
    finally:
        backend.close()


def test_reply_over_the_limits_is_too_large(zctx, make_broker):
    backend = RouterBackend(zctx, lambda frames: frames[:2] + [b"y" * 2000])
    try:
        port = free_port()
        make_broker({"echo": service(port, [backend.endpoint], max_msg_bytes=1024)})
        err = assert_error(roundtrip(req_socket(zctx, port), [b"x"]), "too_large", "echo")
        assert err["message"] == "reply body is 2000 bytes; max_msg_bytes is 1024"
    finally:
        backend.close()


def test_envelope_is_bounded_too(zctx, make_agent, make_broker):
    # Routing frames are not body, but they are held: at most 16 of at
    # most 255 bytes (the largest ZMTP routing id), whatever max_msg_bytes.
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], max_msg_bytes=1 << 20)})
    sock = dealer_socket(zctx, port)
    sock.send_multipart([b"r" * 1024] * 10 + [b"", b"body"])
    reply = recv_reply(sock)
    assert reply[:1] == [b""], reply
    err = assert_error(reply[1:], "too_large", "echo")
    assert err["message"] == ("request envelope has a routing frame of 1024 bytes; "
                              "routing frames are at most 255 bytes")
    sock.send_multipart([b"hop"] * 20 + [b"", b"body"])
    err = assert_error(recv_reply(sock)[1:], "too_large", "echo")
    assert err["message"] == "request envelope has 21 routing frames; at most 16"
    hops = [b"h" * 255] * 15
    sock.send_multipart(hops + [b"", b"body"])
    assert recv_reply(sock) == hops + [b"", b"body"]
    assert broker.stats("echo")["too_large"] == 2


def test_replies_counts_delivered_ones_only(zctx, make_agent, make_broker):
    agent = make_agent(delay_ms=1000)
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], timeout_ms=20000)})
    gone = req_socket(zctx, port)
    gone.send_multipart([b"nobody will read this"])
    broker.wait_stats("echo", lambda st: st["inflight"] == 1, "the request at the backend")
    gone.close()
    st = broker.wait_stats("echo", lambda st: st["inflight"] == 0, "the reply back")
    assert (st["replies"], st["undeliverable"]) == (0, 1), st
    assert roundtrip(req_socket(zctx, port), [b"kept"]) == [b"kept"]
    assert broker.stats("echo")["replies"] == 1


def test_one_greedy_client_is_bounded_alone(zctx, make_agent, make_broker):
    # A DEALER that sends many requests and never reads gets `overloaded`
    # beyond max_per_client; the shared queue stays open to others.
    agent = make_agent(delay_ms=200)
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], max_per_client=4,
                                          max_inflight=1, queue_max=100,
                                          timeout_ms=20000)})
    greedy = dealer_socket(zctx, port)
    for i in range(30):
        greedy.send_multipart([b"", b"greedy-%d" % i])
    broker.wait_stats("echo", lambda st: st["requests"] == 30, "all greedy requests in")
    assert roundtrip(req_socket(zctx, port), [b"polite"]) == [b"polite"]
    replies = [recv_reply(greedy) for _ in range(30)]
    served = [r for r in replies if not error_of(r[1:])]
    refused = [assert_error(r[1:], "overloaded", "echo") for r in replies if error_of(r[1:])]
    assert len(served) == 4 and len(refused) == 26, replies
    assert refused[0]["message"] == ("this client already has 4 requests held "
                                     "(max_per_client is 4)")


def test_memory_bound_refuses_new_requests(zctx, make_agent, make_broker):
    agent = make_agent(delay_ms=1000)
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], timeout_ms=20000)},
                         args=["--max-memory", str(1 << 20)])
    first = req_socket(zctx, port)
    first.send_multipart([b"a" * (600 << 10)])
    broker.wait_stats("echo", lambda st: st["inflight"] == 1, "the first request held")
    err = assert_error(roundtrip(req_socket(zctx, port), [b"b" * (600 << 10)]),
                       "overloaded", "echo")
    assert err["message"].endswith("; --max-memory is 1048576")
    assert recv_reply(first) == [b"a" * (600 << 10)]
