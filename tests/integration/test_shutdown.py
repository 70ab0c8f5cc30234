"""test_shutdown.py: SIGTERM / SIGINT drain: requests already accepted get
their real replies, new ones get `unavailable`, the broker exits 0; what is
still pending at the drain deadline (or a second signal) gets `unavailable`."""
import re
import signal

import pytest

from harness import assert_error, free_port, recv_reply, req_socket, roundtrip, service

REQUESTS = 10


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_drain_loses_nothing(zctx, make_agent, make_broker, sig):
    # Two slow agents: the drain lasts a few seconds, plenty of time to see
    # a request sent after the signal turned away.
    agents = [make_agent(delay_ms=500), make_agent(delay_ms=500)]
    port = free_port()
    broker = make_broker({"echo": service(port, [a.endpoint for a in agents],
                                          timeout_ms=30000)}, args=["--drain-ms", "30000"])
    late = req_socket(zctx, port)
    assert roundtrip(late, [b"connected"]) == [b"connected"]
    socks = [req_socket(zctx, port) for _ in range(REQUESTS)]
    for i, s in enumerate(socks):
        s.send_multipart([b"drain-%d" % i, b"x" * i])
    broker.wait_stats("echo", lambda st: st["requests"] == REQUESTS + 1, "all requests in")
    since = broker.mark()
    broker.signal(sig)
    pending = int(broker.wait_log(rf"shutdown signal={sig.name} pending=(\d+)", since).group(1))
    assert_error(roundtrip(late, [b"too late"]), "unavailable", "echo")
    for i, s in enumerate(socks):
        assert recv_reply(s) == [b"drain-%d" % i, b"x" * i]
    assert broker.wait_exit() == 0
    assert 1 <= pending <= REQUESTS
    assert re.search(rf"exit drained={pending} abandoned=0\b", broker.log()), broker.log()


@pytest.mark.parametrize("drain_ms, signals", [(300, 1), (30000, 2)],
                         ids=["deadline", "second_signal"])
def test_drain_cut_short_answers_the_rest(zctx, make_agent, make_broker, drain_ms, signals):
    # The drain ends at --drain-ms, or at once on a second signal: what is
    # still pending then is answered `unavailable`, and the exit is clean.
    agent = make_agent(delay_ms=20000)
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], timeout_ms=30000)},
                         args=["--drain-ms", str(drain_ms)])
    socks = [req_socket(zctx, port) for _ in range(3)]
    for i, s in enumerate(socks):
        s.send_multipart([b"stuck-%d" % i])
    broker.wait_stats("echo", lambda st: st["requests"] == 3, "all requests in")
    since = broker.mark()
    broker.signal(signal.SIGTERM)
    broker.wait_log(r"shutdown signal=SIGTERM pending=3\b", since)
    if signals == 2:
        broker.signal(signal.SIGTERM)
    for s in socks:
        assert_error(recv_reply(s), "unavailable", "echo")
    assert broker.wait_exit() == 0
    assert re.search(r"exit drained=0 abandoned=3\b", broker.log()), broker.log()
