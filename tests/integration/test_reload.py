"""test_reload.py: SIGHUP reloads the registry: added services are bound,
removed ones closed, unchanged ones keep their connections, and a bad file
changes nothing."""
import re
import signal
import socket

import zmq
from zmq.utils.monitor import recv_monitor_message

from harness import (HANG_GUARD_S, assert_error, free_port, recv_reply, req_socket, roundtrip,
                     service, wait_until)


def reload(broker, services, expect=r"reload ok "):
    """Rewrite the registry, SIGHUP, and return the matching log line."""
    since = broker.mark()
    broker.rewrite(services)
    broker.signal(signal.SIGHUP)
    return broker.wait_log(expect + r".*", since).group(0)


def port_refuses(port):
    """True when nothing accepts TCP connections on the port any more. An
    attempt that gets no answer at all (its SYN met the remains of a
    connection just closed on that port), or a reset (the listener closed
    while our connection waited in its queue), is not an answer: ask again."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
    except (TimeoutError, ConnectionResetError):
        return False


def client_events(mon):
    """Every event the client's socket monitor has queued, by number."""
    events = []
    while mon.poll(0):
        events.append(recv_monitor_message(mon)["event"])
    return events


def monitored_req(zctx, port):
    """A REQ client and a monitor of its connection events (attached before
    it connects, so no event is missed)."""
    sock = zctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, int(HANG_GUARD_S * 1000))
    mon = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
    sock.connect(f"tcp://127.0.0.1:{port}")
    return sock, mon


def test_added_service_is_served(zctx, make_agent, make_broker):
    agent = make_agent()
    a_port, b_port = free_port(), free_port()
    a = service(a_port, [agent.endpoint])
    broker = make_broker({"a": a})
    line = reload(broker, {"a": a, "b": service(b_port, [agent.endpoint])})
    assert "services=2 added=1 removed=0 changed=0" in line
    assert roundtrip(req_socket(zctx, b_port), [b"new"]) == [b"new"]
    assert roundtrip(req_socket(zctx, a_port), [b"old"]) == [b"old"]


def test_removed_service_is_closed_and_its_pending_request_answered(
        zctx, make_agent, make_broker):
    fast, slow = make_agent(), make_agent(delay_ms=5000)
    a_port, b_port = free_port(), free_port()
    a = service(a_port, [fast.endpoint])
    broker = make_broker({"a": a, "b": service(b_port, [slow.endpoint], timeout_ms=30000)})
    pending = req_socket(zctx, b_port)
    pending.send_multipart([b"held by the slow backend"])
    broker.wait_stats("b", lambda st: st["inflight"] == 1, "the request at the backend")
    line = reload(broker, {"a": a})
    assert "services=1 added=0 removed=1 changed=0" in line
    assert_error(recv_reply(pending), "unavailable", "b")
    wait_until(lambda: port_refuses(b_port), f"port {b_port} closed")
    assert roundtrip(req_socket(zctx, a_port), [b"still here"]) == [b"still here"]


def test_bad_file_keeps_the_old_registry(zctx, make_agent, make_broker):
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint])})
    sock = req_socket(zctx, port)
    assert roundtrip(sock, [b"before"]) == [b"before"]
    since = broker.mark()
    broker.registry.write_text("services: [this is: not a registry\n")
    broker.signal(signal.SIGHUP)
    broker.wait_log(r"reload failed", since)
    assert roundtrip(sock, [b"after"]) == [b"after"]
    # An invalid value is as bad as invalid YAML.
    line = reload(broker, {"echo": service(70000, [agent.endpoint])}, expect=r"reload failed")
    assert roundtrip(sock, [b"after again"]) == [b"after again"]
    assert "reload ok" not in broker.log(), line


def test_unchanged_service_keeps_its_connections(zctx, make_agent, make_broker):
    agent, other = make_agent(monitor=True), make_agent()
    a_port, b_port = free_port(), free_port()
    a = service(a_port, [agent.endpoint])
    broker = make_broker({"a": a})
    sock, mon = monitored_req(zctx, a_port)
    assert roundtrip(sock, [b"before"]) == [b"before"]
    line = reload(broker, {"a": a, "b": service(b_port, [other.endpoint])})
    assert "added=1 removed=0 changed=0" in line
    assert roundtrip(sock, [b"after"]) == [b"after"]
    # Neither side of the unchanged service saw its connection drop.
    assert client_events(mon) == [zmq.EVENT_CONNECTED]
    assert agent.events() == ["accepted"]


def test_changed_service_is_counted_and_applied(zctx, make_agent, make_broker):
    agent = make_agent(delay_ms=1000, slow_prefix="slow")
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], timeout_ms=20000)})
    sock = req_socket(zctx, port)
    assert roundtrip(sock, [b"slow-1"]) == [b"slow-1"]
    line = reload(broker, {"echo": service(port, [agent.endpoint], timeout_ms=200)})
    assert "services=1 added=0 removed=0 changed=1" in line
    assert_error(roundtrip(sock, [b"slow-2"]), "timeout", "echo")


def test_host_change_keeps_the_port_and_its_clients(zctx, make_agent, make_broker):
    # The service moves to another host and back: its port never goes
    # offline and the client's connection never drops.
    agent = make_agent()
    port = free_port()
    local = service(port, [agent.endpoint])
    broker = make_broker({"echo": local})
    sock, mon = monitored_req(zctx, port)
    assert roundtrip(sock, [b"here"]) == [b"here"]
    line = reload(broker, {"echo": service(port, [agent.endpoint], host="otherpc",
                                           timeout_ms=300)})
    assert "changed=1 failed=0 binding=0" in line
    assert_error(roundtrip(sock, [b"elsewhere"]), "unavailable", "echo")
    line = reload(broker, {"echo": local})
    assert "changed=1 failed=0 binding=0" in line
    assert roundtrip(sock, [b"back"]) == [b"back"]
    assert client_events(mon) == [zmq.EVENT_CONNECTED]
    assert "errno=" not in broker.log()


def test_port_move_converges_in_one_reload(zctx, make_agent, make_broker):
    agent = make_agent()
    old, new = free_port(), free_port()
    broker = make_broker({"echo": service(old, [agent.endpoint])})
    assert roundtrip(req_socket(zctx, old), [b"old"]) == [b"old"]
    line = reload(broker, {"echo": service(new, [agent.endpoint])})
    assert "services=1 added=0 removed=0 changed=1 failed=0 binding=0" in line
    assert roundtrip(req_socket(zctx, new), [b"new"]) == [b"new"]
    wait_until(lambda: port_refuses(old), f"port {old} closed")


def test_port_swap_keeps_both_sockets_and_clients(zctx, make_agent, make_broker):
    a_agent, b_agent = make_agent(tag="A"), make_agent(tag="B")
    p1, p2 = free_port(), free_port()
    broker = make_broker({"a": service(p1, [a_agent.endpoint]),
                          "b": service(p2, [b_agent.endpoint])})
    s1, mon1 = monitored_req(zctx, p1)
    s2, mon2 = monitored_req(zctx, p2)
    assert roundtrip(s1, [b"x"]) == [b"A", b"x"]
    assert roundtrip(s2, [b"y"]) == [b"B", b"y"]
    line = reload(broker, {"a": service(p2, [a_agent.endpoint]),
                           "b": service(p1, [b_agent.endpoint])})
    assert "services=2 added=0 removed=0 changed=2 failed=0 binding=0" in line
    assert roundtrip(s1, [b"x"]) == [b"B", b"x"]
    assert roundtrip(s2, [b"y"]) == [b"A", b"y"]
    assert client_events(mon1) == [zmq.EVENT_CONNECTED]
    assert client_events(mon2) == [zmq.EVENT_CONNECTED]
    assert "errno=" not in broker.log()


def test_request_pending_when_its_service_moves_gets_its_reply(zctx, make_agent, make_broker):
    # The reply goes back through the port the request came in on, which
    # stays open for it (answering newcomers `unavailable`), then closes.
    agent = make_agent(delay_ms=1500, slow_prefix="slow")
    old, new = free_port(), free_port()
    broker = make_broker({"echo": service(old, [agent.endpoint], timeout_ms=20000)})
    pending = req_socket(zctx, old)
    pending.send_multipart([b"slow request"])
    broker.wait_stats("echo", lambda st: st["inflight"] == 1, "the request at the backend")
    line = reload(broker, {"echo": service(new, [agent.endpoint], timeout_ms=20000)})
    assert "changed=1 failed=0" in line
    err = assert_error(roundtrip(req_socket(zctx, old), [b"late"]), "unavailable", "echo")
    assert f"no service on port {old}" in err["message"]
    assert recv_reply(pending) == [b"slow request"]
    wait_until(lambda: port_refuses(old), f"port {old} closed")
    assert roundtrip(req_socket(zctx, new), [b"fast"]) == [b"fast"]


def test_port_still_held_is_bound_once_released(zctx, make_agent, make_broker):
    # A reload that needs a port something else still holds retries the
    # bind (FRONT_BIND_PATIENCE_MS) instead of giving the service up.
    agent = make_agent()
    a_port = free_port()
    a = service(a_port, [agent.endpoint])
    broker = make_broker({"a": a})
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    b_port = squatter.getsockname()[1]
    since = broker.mark()
    line = reload(broker, {"a": a, "b": service(b_port, [agent.endpoint])})
    assert "added=1 removed=0 changed=0 failed=0 binding=1" in line
    squatter.close()
    broker.wait_log(rf"bind ok service=b port={b_port} after_ms=\d+", since)
    assert roundtrip(req_socket(zctx, b_port), [b"bound"]) == [b"bound"]


def test_raised_limits_apply_to_the_same_socket(zctx, make_agent, make_broker):
    # libzmq's per-socket size option cannot change on a bound port, so the
    # per-service limits are the broker's: a raise takes effect at once,
    # for requests and replies, and every message quotes the new limit.
    agent = make_agent()
    port = free_port()
    small = service(port, [agent.endpoint], max_msg_bytes=1000, max_frames=2)
    broker = make_broker({"echo": small})
    sock = req_socket(zctx, port)
    err = assert_error(roundtrip(sock, [b"x" * 5000]), "too_large", "echo")
    assert "max_msg_bytes is 1000" in err["message"]
    reload(broker, {"echo": service(port, [agent.endpoint], max_msg_bytes=100000,
                                    max_frames=5)})
    assert roundtrip(sock, [b"x" * 5000]) == [b"x" * 5000]
    assert roundtrip(sock, [b"1", b"2", b"3", b"4", b"5"]) == [b"1", b"2", b"3", b"4", b"5"]
    err = assert_error(roundtrip(sock, [b"x" * 100001]), "too_large", "echo")
    assert "max_msg_bytes is 100000" in err["message"]
    err = assert_error(roundtrip(sock, [b"f"] * 6), "too_large", "echo")
    assert "max_frames is 5" in err["message"]


def test_absurdly_deep_file_is_refused_without_stalling(zctx, make_agent, make_broker):
    # 100k levels used to freeze the broker for half a minute on SIGHUP.
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint])})
    sock = req_socket(zctx, port)
    since = broker.mark()
    broker.registry.write_text("hosts: {mainpc: {}}\nservices:\n  a: " + "[" * 100000
                               + "]" * 100000 + "\n")
    broker.signal(signal.SIGHUP)
    broker.wait_log(r"reload failed: .*:3: yaml: nesting is deeper than 16 levels", since)
    assert roundtrip(sock, [b"served"]) == [b"served"]


def test_sighup_storm_ends_with_the_last_file(zctx, make_agent, make_broker):
    # Signals that come while a load runs are coalesced into one more load:
    # however many arrive, the broker ends up serving the file as it is.
    agent = make_agent()
    a_port, b_port = free_port(), free_port()
    a = service(a_port, [agent.endpoint])
    broker = make_broker({"a": a})
    broker.rewrite({"a": a, "b": service(b_port, [agent.endpoint])})
    for _ in range(50):
        broker.signal(signal.SIGHUP)
    broker.wait_log(r"reload ok services=2 added=1 ")
    assert roundtrip(req_socket(zctx, b_port), [b"b"]) == [b"b"]
    assert roundtrip(req_socket(zctx, a_port), [b"a"]) == [b"a"]
    assert "reload failed" not in broker.log()


def test_shutdown_while_a_reload_loads(make_agent, make_broker):
    # The load finishing after SIGTERM is dropped; the exit is clean (the
    # sanitizers check nothing leaks).
    agent = make_agent()
    broker = make_broker({"echo": service(free_port(), [agent.endpoint])})
    broker.rewrite({"echo": service(free_port(), [agent.endpoint])})
    broker.signal(signal.SIGHUP)
    broker.signal(signal.SIGTERM)
    assert broker.wait_exit() == 0
    assert re.search(r"reload (discarded|ok)", broker.log()), broker.log()


CYCLES = 10


def test_closing_ports_with_clients_never_stalls_the_broker(zctx, make_agent, make_broker):
    # Ten moves in a row, each away from a port its clients stay connected
    # to: every old port closes and the broker keeps serving. (Closing a
    # monitor's receiving end before the monitored socket could block
    # libzmq's I/O thread for good on a monitor event sent while the socket
    # terminated: the old port then never closed. zsock.h has the rule.)
    agent = make_agent()
    ports = [free_port() for _ in range(CYCLES + 1)]
    broker = make_broker({"echo": service(ports[0], [agent.endpoint])})
    clients = []
    for i in range(CYCLES):
        clients.append(req_socket(zctx, ports[i]))
        assert roundtrip(clients[-1], [b"on-%d" % i]) == [b"on-%d" % i]
        line = reload(broker, {"echo": service(ports[i + 1], [agent.endpoint])})
        assert "changed=1 failed=0" in line
        wait_until(lambda: port_refuses(ports[i]), f"port {ports[i]} closed")
    assert roundtrip(req_socket(zctx, ports[-1]), [b"last"]) == [b"last"]
