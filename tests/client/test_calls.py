"""test_calls.py: calling services with client/agentbus.h (the probe, as C
and as C++) through the real agentbusd to real pyzmq agents: by name and by
endpoint, bodies of every shape, deadlines and reuse, late replies, every
broker error mapped to its code, look-alike replies, retries, threads."""
import json
import os
import threading

import zmq

from harness import (HANG_GUARD_S, RouterBackend, assert_error, dealer_socket, free_port,
                     recv_reply, req_socket, service, tcp_endpoint, wait_until)
from probing import service_port

LONG_MS = 30000  # a call deadline never reached by a passing test


def echo_service(make_agent, make_broker, name="echo", agents=1, **knobs):
    """A broker with one service in front of echo agents; returns the broker."""
    eps = [make_agent().endpoint for _ in range(agents)]
    broker = make_broker({name: service(free_port(), eps, **knobs)})
    broker.wait_backends_up(agents)
    return broker


def port_of(broker, name="echo"):
    return service_port(broker, name)


class HeldAgent:
    """A REP echo agent, a thread of the test, that holds its first reply
    until release(): the backend stays busy exactly as long as a test
    needs, however slow the machine."""

    def __init__(self, ctx):
        self.endpoint = tcp_endpoint(free_port())
        self.sock = ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(self.endpoint)
        self.held = threading.Event()
        self.released = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        first = True
        while not self.stop.is_set():
            if not self.sock.poll(50):
                continue
            frames = self.sock.recv_multipart()
            if first:
                self.held.set()
                self.released.wait(HANG_GUARD_S)
                first = False
            self.sock.send_multipart(frames)
        self.sock.close()

    def release(self):
        self.released.set()

    def close(self):
        self.released.set()
        self.stop.set()
        self.thread.join()


def busy_service(zctx, make_broker):
    """A service whose one backend is busy with a held request and has no
    queue: (broker, agent, the REQ socket waiting for the held reply)."""
    agent = HeldAgent(zctx)
    try:
        broker = make_broker({"echo": service(free_port(), [agent.endpoint], queue_max=0,
                                              max_inflight=1, timeout_ms=LONG_MS)})
        broker.wait_backends_up(1)
        busy = req_socket(zctx, port_of(broker))
        busy.send(b"busy")
        wait_until(agent.held.is_set, "the backend busy")
    except BaseException:
        agent.close()
        raise
    return broker, agent, busy


def ok_frames(res):
    assert res["rc"] == "ok", res
    return res["frames"]


def assert_broker_error(res, code, svc="echo", text=""):
    """res is the broker's `code` error reply, told apart by the client."""
    assert res["rc"] == code and res["name"] == code, res
    assert res["from_broker"] == 1 and res["service"] == svc, res
    assert res["message"].startswith(f"{code} (from agentbusd, service {svc}): "), res
    assert text in res["message"], res


# ---- reaching a service ------------------------------------------------------

def test_call_by_name_and_by_endpoint(probe, make_agent, make_broker):
    broker = echo_service(make_agent, make_broker)
    body = [b"hello", b"", b"\x00\xff"]
    call = [(LONG_MS, 0, body)]
    by_option = probe.calls("echo", call, registry=broker.registry)
    by_env = probe.calls("echo", call, env={"AGENTBUS_REGISTRY": str(broker.registry),
                                             "AGENTBUS_BROKER": "127.0.0.1"})
    by_endpoint = probe.calls(tcp_endpoint(port_of(broker)), call)
    for res in by_option + by_env + by_endpoint:
        assert ok_frames(res) == body
    assert broker.stats("echo")["replies"] == 3


def test_bodies_of_every_shape(probe, make_agent, make_broker):
    broker = echo_service(make_agent, make_broker)
    bodies = [[b""], [b"x"] * 64, [os.urandom(1 << 20), b"tail"], [os.urandom(6 << 20)],
              [bytes(range(256)) * 3, b"", b"\x00"]]
    results = probe.calls("echo", [(LONG_MS, 0, b) for b in bodies], registry=broker.registry)
    assert [ok_frames(r) for r in results] == bodies
    assert all(r["dropped"] == 0 for r in results)


def test_broker_down_is_unavailable_from_the_client(probe, make_broker):
    port = free_port()
    res, = probe.calls(tcp_endpoint(port), [(200, 0, [b"x"])])
    assert res["rc"] == "unavailable" and res["from_broker"] == 0, res
    assert "the request was not sent" in res["message"], res


# ---- deadlines, reuse, late replies -------------------------------------------

def test_client_deadline_then_reuse_and_the_late_reply_is_dropped(probe, make_agent,
                                                                   make_broker):
    agent = make_agent(delay_ms=1500, slow_prefix="slow")
    broker = make_broker({"echo": service(free_port(), [agent.endpoint], timeout_ms=20000)})
    broker.wait_backends_up(1)
    # The agent answers slow-1 (late: the call gave up) before fast-2, on the
    # same client socket: the client must drop it and return fast-2's reply.
    # fast-0 first, so that the connection is up when slow-1's 300 ms start.
    _, first, second, third = probe.calls("echo", [(LONG_MS, 0, [b"fast-0"]),
                                                   (300, 0, [b"slow-1"]),
                                                   (LONG_MS, 0, [b"fast-2"]),
                                                   (LONG_MS, 0, [b"fast-3"])],
                                          registry=broker.registry)
    assert first["rc"] == "timeout" and first["from_broker"] == 0, first
    assert "no reply from tcp://127.0.0.1:" in first["message"], first
    assert ok_frames(second) == [b"fast-2"] and second["dropped"] == 1
    assert ok_frames(third) == [b"fast-3"] and third["dropped"] == 1
    # The broker delivered slow-1's reply: dropping it was the client's job.
    st = broker.stats("echo")
    assert st["replies"] == 4 and st["late_replies"] == 0 and st["timeouts"] == 0


def test_broker_timeout_mapped_then_reuse(probe, make_agent, make_broker):
    # fast-2, sent when slow-1 times out (2000 ms), waits at the agent until
    # slow-1 is done (2300 ms): 300 ms into its own 2000 ms.
    agent = make_agent(delay_ms=2300, slow_prefix="slow")
    broker = make_broker({"echo": service(free_port(), [agent.endpoint], timeout_ms=2000)})
    broker.wait_backends_up(1)
    res, again = probe.calls("echo", [(LONG_MS, 0, [b"slow-1"]), (LONG_MS, 0, [b"fast-2"])],
                             registry=broker.registry)
    assert_broker_error(res, "timeout", text="no reply from backend")
    assert ok_frames(again) == [b"fast-2"]
    broker.wait_stats("echo", lambda s: s["late_replies"] == 1, "slow-1's reply dropped")


# ---- each broker error, provoked for real -----------------------------------------

def test_unavailable_mapped(probe, make_broker):
    nobody = tcp_endpoint(free_port())
    broker = make_broker({"down": service(free_port(), [nobody], timeout_ms=300),
                          "away": service(free_port(), [nobody], host="otherpc",
                                          timeout_ms=300)})
    down, = probe.calls("down", [(LONG_MS, 0, [b"x"])], registry=broker.registry)
    away, = probe.calls("away", [(LONG_MS, 0, [b"x"])], registry=broker.registry)
    assert_broker_error(down, "unavailable", "down", "no backend reachable within 300 ms")
    assert_broker_error(away, "unavailable", "away", "no link to host otherpc within 300 ms")


def test_overloaded_mapped(probe, zctx, make_broker):
    broker, agent, busy = busy_service(zctx, make_broker)
    try:
        res, = probe.calls("echo", [(LONG_MS, 0, [b"x"])], registry=broker.registry)
        assert_broker_error(res, "overloaded", text="queue_max")
        agent.release()
        assert recv_reply(busy) == [b"busy"]
    finally:
        agent.close()


def test_too_large_mapped(probe, make_agent, make_broker):
    broker = echo_service(make_agent, make_broker, max_msg_bytes=1024, max_frames=4)
    big, many, fits = probe.calls("echo", [(LONG_MS, 0, [b"x" * 2000]),
                                           (LONG_MS, 0, [b"a"] * 5),
                                           (LONG_MS, 0, [b"y" * 1024])],
                                  registry=broker.registry)
    assert_broker_error(big, "too_large", text="max_msg_bytes is 1024")
    assert_broker_error(many, "too_large", text="max_frames is 4")
    assert ok_frames(fits) == [b"y" * 1024]


def test_bad_request_mapped(probe, zctx, make_agent, make_broker):
    """agentbus.h always sends a valid envelope, so only a raw DEALER can
    make the broker answer bad_request: the header decodes those exact bytes
    with the code it uses for every error reply."""
    broker = echo_service(make_agent, make_broker)
    raw = dealer_socket(zctx, port_of(broker))
    raw.send(b"no delimiter")
    delim, body = recv_reply(raw)
    sent = assert_error([body], "bad_request", "echo")
    res, = probe.run("decode", body.hex())
    assert_broker_error(res, "bad_request", text=sent["message"])


def test_bad_reply_mapped(probe, zctx, make_broker):
    """An agent written as a ROUTER that answers with its envelope only."""
    backend = RouterBackend(zctx, lambda frames: frames[:2])
    try:
        broker = make_broker({"echo": service(free_port(), [backend.endpoint])})
        broker.wait_backends_up(1)
        res, = probe.calls("echo", [(LONG_MS, 0, [b"x"])], registry=broker.registry)
        assert_broker_error(res, "bad_reply", text="no body frame")
    finally:
        backend.close()


def test_unknown_broker_code_is_generic_with_its_name(probe):
    body = json.dumps({"status": "error", "error": "gpu_quota", "service": "s",
                       "message": "no GPU left"}).encode()
    res, = probe.run("decode", body.hex())
    assert res["rc"] == "broker" and res["name"] == "gpu_quota" and res["from_broker"] == 1


# ---- a backend's look-alike is a reply --------------------------------------------

def test_backend_reply_shaped_like_an_error_is_a_reply(probe, make_agent, make_broker):
    broker = echo_service(make_agent, make_broker)
    lookalike = json.dumps({"status": "error", "error": "timeout", "service": "echo",
                            "message": "no reply from backend within 5000 ms"},
                           separators=(",", ":")).encode()
    # Even the client's own tag with the error mark (its first request is
    # sequence 1), in front of a delimiter: the echo returns it as body.
    forged = [b"\0abe" + (1).to_bytes(8, "little"), b"", lookalike]
    first, second = probe.calls("echo", [(LONG_MS, 0, forged), (LONG_MS, 0, [lookalike])],
                                registry=broker.registry)
    assert ok_frames(first) == forged
    assert ok_frames(second) == [lookalike]


# ---- retries ---------------------------------------------------------------------

def test_idempotent_call_retried_until_the_backend_is_free(probe, zctx, make_broker):
    broker, agent, busy = busy_service(zctx, make_broker)
    try:
        proc = probe.start_calls("echo", [(LONG_MS, 0, [b"once"]), (LONG_MS, 100, [b"again"])],
                                 registry=broker.registry)
        # "once" is refused, then "again" at least once before it goes through.
        broker.wait_stats("echo", lambda s: s["overloaded"] >= 2, "a retried call refused")
        agent.release()
        once, retried = probe.finish_calls(proc)
        assert recv_reply(busy) == [b"busy"]
    finally:
        agent.close()
    assert_broker_error(once, "overloaded")
    assert ok_frames(retried) == [b"again"]
    assert broker.stats("echo")["replies"] == 2


def test_retries_are_bounded(probe):
    res, = probe.calls("tcp://127.0.0.1:1", [(100, 101, [b"x"])])
    assert res["rc"] == "invalid", res


# ---- threads -------------------------------------------------------------------

def test_many_threads_each_with_its_own_client(probe, make_agent, make_broker):
    broker = echo_service(make_agent, make_broker, agents=2)
    for shared in (False, True):
        res, = probe.run("threads", "echo", 16, 40, registry=broker.registry,
                         shared_ctx=shared)
        assert res == {"threads": 16, "calls": 40, "ok": 640, "first_error": ""}, res


def test_a_client_never_sees_another_clients_reply(probe, zctx, make_agent, make_broker):
    """REQ clients and agentbus.h clients on one service at once."""
    broker = echo_service(make_agent, make_broker, agents=2)
    proc = probe.spawn("threads", "echo", 8, 100, registry=broker.registry)
    socks = [req_socket(zctx, port_of(broker)) for _ in range(4)]
    for i in range(100):
        for k, s in enumerate(socks):
            s.send_multipart([b"req-%d" % k, b"%d" % i])
        for k, s in enumerate(socks):
            assert recv_reply(s) == [b"req-%d" % k, b"%d" % i]
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["ok"] == 800
