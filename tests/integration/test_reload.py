"""test_reload.py: SIGHUP reloads the registry: added services are bound,
removed ones closed, unchanged ones keep their connections, and a bad file
changes nothing."""
import signal
import socket

import zmq
from zmq.utils.monitor import recv_monitor_message

from harness import (assert_error, free_port, recv_reply, req_socket, roundtrip, service,
                     wait_until)


def reload(broker, services, expect=r"reload ok "):
    """Rewrite the registry, SIGHUP, and return the matching log line."""
    since = broker.mark()
    broker.rewrite(services)
    broker.signal(signal.SIGHUP)
    return broker.wait_log(expect + r".*", since).group(0)


def port_refuses(port):
    """True when nothing accepts TCP connections on the port any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True


def client_events(mon):
    """Every event the client's socket monitor has queued, by number."""
    events = []
    while mon.poll(0):
        events.append(recv_monitor_message(mon)["event"])
    return events


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
    sock = req_socket(zctx, a_port)
    mon = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
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
