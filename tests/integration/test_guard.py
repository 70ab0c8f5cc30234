"""test_guard.py: the memory bounds that hold for messages that never end.

libzmq buffers the frames of an incomplete message without limit, where the
broker cannot see them; the guard compares the kernel's byte counts with
the messages the broker read, and cuts connections holding a partial
message over the per-message bound (reason=too_large), one pending longer
than --partial-ms (too_slow), or the largest ones when the total passes
--max-memory (memory). Peers here speak ZMTP by hand (zmtp.py) so they can
misbehave; pyzmq clients show who must not be cut.
"""
import re
import select
import socket
import threading
import time

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

import zmtp
from harness import (HANG_GUARD_S, assert_error, free_port, req_socket, roundtrip,
                     service, wait_until)

MIB = 1 << 20
# Fast guard for tests; the bounds are what is tested, not the speed.
GUARD_ARGS = ["--guard-ms", "20", "--partial-ms", "1000"]


def cuts(broker, reason):
    return len(re.findall(rf"\bguard cut .* reason={reason}\b", broker.log()))


def closed(sock):
    """Read what is there; True once the broker has closed the connection.
    (A peer that only sends may never learn it otherwise: the broker's
    socket can close while advertising a zero window, and then no send
    fails; the FIN is there to read.)"""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.settimeout(timeout)


def send_until_cut(sock, chunks):
    """Send chunks until the broker closes the connection; True if it did.
    Each send waits for room (or the close) for at most the hang guard."""
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            readable, writable, _ = select.select([sock], [sock], [], HANG_GUARD_S)
            if readable and closed(sock):
                return True
            if not (readable or writable):
                raise AssertionError("the connection neither took data nor closed")
            try:
                view = view[sock.send(view, socket.MSG_DONTWAIT):] if writable else view
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                return True
    return closed(sock)


def endless_more(first=b""):
    """A message that never ends: an empty frame with MORE, then 1 MiB
    frames with MORE, forever (bounded here only by the caller)."""
    yield zmtp.frame(first, more=True)
    body = zmtp.frame(b"x" * MIB, more=True)
    while True:
        yield body


def bounded(gen, n):
    for i, chunk in enumerate(gen):
        if i >= n:
            return
        yield chunk


@pytest.fixture
def small_service(make_agent, make_broker):
    """(broker, port) of a 1 MiB service behind a fast guard."""
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], max_msg_bytes=MIB)},
                         args=GUARD_ARGS)
    return broker, port


def test_endless_multipart_message_is_cut(zctx, small_service):
    # Without the guard libzmq buffered all of it: 2 GB in 9 s. The client
    # would send 4 GiB; the broker cuts it once more than the bound is held.
    broker, port = small_service
    with zmtp.v3_peer(port) as s:
        assert send_until_cut(s, bounded(endless_more(), 4096)), "never cut"
    broker.wait_log(r"guard cut service=echo port=\d+ peer=127\.0\.0\.1:\d+ reason=too_large")
    assert roundtrip(req_socket(zctx, port), [b"others fine"]) == [b"others fine"]
    assert broker.stats("echo")["cuts_too_large"] == 1


def test_one_huge_frame_is_cut_too(zctx, small_service):
    # One frame announced as 1 GiB (the libzmq ceiling), sent slowly enough
    # that it is never complete: cut on bytes, not on its announcement.
    broker, port = small_service
    with zmtp.v3_peer(port) as s:
        chunks = [zmtp.frame(b"", more=True), zmtp.frame_header(1 << 30)]
        chunks += [b"y" * MIB] * 1024
        assert send_until_cut(s, chunks), "never cut"
    broker.wait_log(r"guard cut service=echo .* reason=too_large")


def test_trickle_is_cut_after_partial_ms(zctx, small_service):
    # One byte at a time of a 200-byte frame: far below any size bound, but
    # a message may take at most --partial-ms to arrive whole.
    broker, port = small_service
    with zmtp.v3_peer(port) as s:
        s.sendall(zmtp.frame(b"", more=True) + zmtp.frame_header(200))
        trickle = (b"z" for _ in range(200))
        # 0.1 s apart: the frame would take 20 s, --partial-ms is 1 s.
        assert send_until_cut(s, paced(trickle, 0.1)), "never cut"
    broker.wait_log(r"guard cut service=echo .* reason=too_slow partial_bytes=\d+ bound=1000")
    assert broker.stats("echo")["cuts_too_slow"] == 1


def paced(chunks, interval_s):
    """The chunks, one per interval: a slow peer (not a timing check)."""
    for chunk in chunks:
        yield chunk
        time.sleep(interval_s)


def test_idle_heartbeating_client_is_not_cut(zctx, small_service):
    # A pyzmq REQ with ZMTP heartbeats sends PINGs that no message explains;
    # the PONGs the broker's libzmq writes back explain them. Idle over many
    # guard periods and several --partial-ms, it keeps its connection.
    broker, port = small_service
    sock = zctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, int(HANG_GUARD_S * 1000))
    sock.setsockopt(zmq.HEARTBEAT_IVL, 50)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 2000)
    mon = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
    sock.connect(f"tcp://127.0.0.1:{port}")
    assert roundtrip(sock, [b"before"]) == [b"before"]
    time.sleep(3.0)  # idle: ~60 PINGs, 150 guard ticks, 3 x --partial-ms
    assert roundtrip(sock, [b"after"]) == [b"after"]
    events = []
    while mon.poll(0):
        events.append(recv_monitor_message(mon)["event"])
    assert events == [zmq.EVENT_CONNECTED], events
    assert "guard cut" not in broker.log()


def test_partial_messages_over_max_memory_are_cut_largest_first(zctx, make_agent,
                                                                make_broker):
    # Each connection holds a partial frame under its per-message bound;
    # together they pass --max-memory: the largest are cut until it holds.
    # 2+3+4+5+6+7 = 27 MiB: whenever the total first passes 24 MiB, the
    # largest partial is at least 5 MiB, so the three smallest never go.
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint], max_msg_bytes=16 * MIB)},
                         args=["--guard-ms", "20", "--partial-ms", "60000",
                               "--max-memory", str(24 * MIB)])
    sizes = (2, 3, 4, 5, 6, 7)
    peers = []
    try:
        for size in sizes:
            s = zmtp.v3_peer(port)
            s.sendall(zmtp.frame(b"", more=True) + zmtp.frame_header(16 * MIB)
                      + b"p" * (size * MIB))
            peers.append(s)
        broker.wait_log(rf"guard cut service=echo .* reason=memory partial_bytes=\d+ "
                        rf"bound={24 * MIB}")
        assert roundtrip(req_socket(zctx, port), [b"served"]) == [b"served"]
        n = cuts(broker, "memory")

        def all_cut_closed():
            gone = [size for size, s in zip(sizes, peers) if closed(s)]
            return gone if len(gone) == n else None
        gone = wait_until(all_cut_closed, f"{n} connections closed")
        assert not {2, 3, 4} & set(gone), gone
        assert sum(sizes) - sum(gone) <= 24, gone
        assert broker.stats("echo")["cuts_memory"] == n
    finally:
        for s in peers:
            s.close()


def test_backend_endless_reply_is_cut_and_answered(zctx, make_broker):
    # A backend that answers with a reply that never ends: its connection
    # is cut and the client gets `unavailable` instead of waiting forever.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    endpoint = "tcp://127.0.0.1:%d" % server.getsockname()[1]
    port = free_port()
    broker = make_broker({"echo": service(port, [endpoint], max_msg_bytes=MIB,
                                          timeout_ms=20000)}, args=GUARD_ARGS)

    def backend():
        conn, rd = zmtp.v3_accept(server)
        with conn:
            request_id = rd.message()[0]    # [id][""][body]
            send_until_cut(conn, [zmtp.frame(request_id, more=True)] +
                           list(bounded(endless_more(), 4096)))

    t = threading.Thread(target=backend, daemon=True)
    t.start()
    try:
        err = assert_error(roundtrip(req_socket(zctx, port), [b"q"]), "unavailable", "echo")
        assert "disconnected before replying" in err["message"]
        broker.wait_log(r"guard cut service=echo backend=tcp://127\.0\.0\.1:\d+ .* "
                        r"reason=too_large")
    finally:
        t.join(HANG_GUARD_S)
        server.close()
