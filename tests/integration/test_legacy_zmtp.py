"""test_legacy_zmtp.py: peers speaking ZMTP/2.0 (libzmq 3.x, JeroMQ before
0.4, NetMQ 3), written by hand after RFC 15 (zmtp.py): no ZMTP/2.0 library
can be installed here. libzmq never reports a completed handshake for such
a peer, so a backend must be marked up by another signal (the DEALER can
send)."""
import socket
import threading

import zmtp
from harness import HANG_GUARD_S, free_port, req_socket, roundtrip, service, tcp_endpoint


def test_greeting_bytes_follow_rfc15():
    # signature %xFF 8%x00 %x7F, revision %x01, socket type, identity as a
    # final-short frame (%x00, length, body).
    assert zmtp.greeting_v2(zmtp.REP) == bytes(
        [0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 0x01, 0x04, 0x00, 0x00])
    assert zmtp.greeting_v2(zmtp.REQ, b"me") == bytes(
        [0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 0x01, 0x03, 0x00, 0x02]) + b"me"
    # Frames: MORE is bit 0, LONG bit 1 with an 8-octet network-order size.
    assert zmtp.frame(b"ab", more=True) == b"\x01\x02ab"
    assert zmtp.frame(b"x" * 256) == b"\x02" + (256).to_bytes(8, "big") + b"x" * 256


class V2Rep:
    """A ZMTP/2.0 REP agent on a thread: accepts connections and echoes
    every request, envelope included, as a REP does on the wire."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.endpoint = tcp_endpoint(self.listener.getsockname()[1])
        self.peers = []  # (revision, socket type, identity) of each handshake
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            while True:
                conn, _ = self.listener.accept()
                self.conns.append(conn)
                threading.Thread(target=self.echo, args=(conn,), daemon=True).start()
        except OSError:
            return  # closed

    def echo(self, conn):
        try:
            rd, revision, peer_type, identity = zmtp.v2_handshake(conn, zmtp.REP)
            self.peers.append((revision, peer_type, identity))
            while True:
                conn.sendall(zmtp.message(rd.message()))
        except (OSError, ConnectionError):
            return

    def close(self):
        self.listener.close()
        for c in self.conns:
            c.close()


def test_zmtp2_rep_backend_is_served(zctx, make_broker):
    rep = V2Rep()
    try:
        port = free_port()
        broker = make_broker({"legacy": service(port, [rep.endpoint], timeout_ms=20000)})
        broker.wait_log(r"backend up service=legacy ")
        sock = req_socket(zctx, port)
        for body in ([b"hello"], [b"multi", b"", b"part"], [b"x" * 300]):
            assert roundtrip(sock, body) == body
        # libzmq (a DEALER, type 5) announced ZMTP 3 and spoke ZMTP/2.0 to us.
        assert rep.peers and rep.peers[0][:2] == (3, 0x05), rep.peers
    finally:
        rep.close()


def test_zmtp2_req_client_is_served(make_agent, make_broker):
    # The same hand-written peer as a client of the broker's front.
    agent = make_agent()
    port = free_port()
    make_broker({"echo": service(port, [agent.endpoint])})
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S) as s:
        rd, revision, peer_type, _ = zmtp.v2_handshake(s, zmtp.REQ, b"old-client")
        assert (revision, peer_type) == (3, 0x06)  # the broker's ROUTER
        s.sendall(zmtp.message([b"", b"from", b"zmtp2"]))
        assert rd.message() == [b"", b"from", b"zmtp2"]
