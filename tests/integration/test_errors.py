"""test_errors.py: the broker's own error replies (timeout, overloaded,
too_large, bad_request), each exactly one reply, after which the client's
socket keeps working."""
import threading

import zmq
from zmq.utils.monitor import recv_monitor_message

from harness import (HANG_GUARD_S, assert_error, dealer_socket, error_of, free_port, recv_reply,
                     req_socket, roundtrip, run_concurrently, service)

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


def test_frame_beyond_twice_the_limit_drops_the_connection(zctx, make_agent, make_broker):
    # The memory bound: libzmq refuses to read such a frame at all, so there
    # is no one to answer; the connection goes, the broker serves on.
    agent = make_agent()
    port = free_port()
    make_broker({"echo": service(port, [agent.endpoint], max_msg_bytes=1024)})
    sock = dealer_socket(zctx, port)
    mon = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    sock.send_multipart([b"", b"x" * 2049])
    assert mon.poll(HANG_GUARD_S * 1000), "the broker kept the connection"
    assert recv_monitor_message(mon)["event"] == zmq.EVENT_DISCONNECTED
    assert roundtrip(req_socket(zctx, port), [b"others fine"]) == [b"others fine"]


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
