"""zmtp.py: ZMTP spoken by hand over plain TCP sockets, for peers no
installable library provides: hostile ones (partial messages that never
end, trickles) and legacy ones (ZMTP/2.0, libzmq 3.x, RFC 15).

Framing is the same in ZMTP/2.0 and 3.x: a flags octet (bit 0 MORE, bit 1
LONG, bit 2 COMMAND in 3.x) then the size in 1 octet, or 8 (network order)
when LONG, then the body.
"""
import socket
import struct

MORE, LONG, COMMAND = 0x01, 0x02, 0x04

# ZMTP/2.0 socket types (RFC 15), the same numbers libzmq uses.
REQ, REP, DEALER = 0x03, 0x04, 0x05


def frame(body, more=False, command=False):
    """One frame: short (1-octet size) up to 255 octets, long beyond."""
    flags = (MORE if more else 0) | (COMMAND if command else 0)
    if len(body) <= 255:
        return bytes([flags, len(body)]) + body
    return bytes([flags | LONG]) + struct.pack(">Q", len(body)) + body


def frame_header(size, more=False):
    """The header of a frame of `size` octets whose body follows later."""
    if size <= 255:
        return bytes([MORE if more else 0, size])
    return bytes([(MORE if more else 0) | LONG]) + struct.pack(">Q", size)


def message(frames):
    """A multipart message: every frame but the last has MORE."""
    return b"".join(frame(f, more=i < len(frames) - 1) for i, f in enumerate(frames))


# ---- ZMTP 3.0, NULL mechanism (RFC 23) -------------------------------------

def greeting_v3(as_server=False):
    """64 octets: signature, version 3.0, mechanism NULL, as-server, filler."""
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00")
            + bytes([1 if as_server else 0]) + b"\x00" * 31)


def ready(socket_type):
    """The READY command announcing our socket type (b"DEALER", b"REP")."""
    name = b"Socket-Type"
    body = (b"\x05READY" + bytes([len(name)]) + name + struct.pack(">I", len(socket_type))
            + socket_type)
    return frame(body, command=True)


def v3_peer(port, socket_type=b"DEALER", timeout=30.0):
    """A TCP connection to port that has done a ZMTP 3.0 NULL handshake:
    our greeting and READY sent, the broker's read (libzmq refuses a
    message that comes before it has sent its own READY)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(greeting_v3() + ready(socket_type))
    rd = Reader(s)
    rd.exactly(64)
    flags, body = rd.frame()
    assert flags & COMMAND and body.startswith(b"\x05READY"), (flags, body)
    return s


def v3_accept(listener, socket_type=b"REP"):
    """The next connection on listener (a backend's, from the broker's
    DEALER) after a ZMTP 3.0 NULL handshake as a server: (connection,
    Reader positioned at the broker's first message)."""
    conn, _ = listener.accept()
    conn.sendall(greeting_v3(as_server=True) + ready(socket_type))
    rd = Reader(conn)
    rd.exactly(64)
    flags, body = rd.frame()
    assert flags & COMMAND and body.startswith(b"\x05READY"), (flags, body)
    return conn, rd


# ---- ZMTP/2.0 (RFC 15) -----------------------------------------------------

def greeting_v2(socket_type, identity=b""):
    """signature (%xFF 8%x00 %x7F), revision %x01, socket type, and the
    identity as a final-short frame."""
    assert len(identity) <= 255
    return b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x01" + bytes([socket_type]) + \
        bytes([0x00, len(identity)]) + identity


class Reader:
    """Reads ZMTP/2.0 framing from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def exactly(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("peer closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        """(flags, body) of the next frame."""
        flags = self.exactly(1)[0]
        size = struct.unpack(">Q", self.exactly(8))[0] if flags & LONG else self.exactly(1)[0]
        return flags, self.exactly(size)

    def message(self):
        frames = []
        while True:
            flags, body = self.frame()
            frames.append(body)
            if not flags & MORE:
                return frames


def v2_handshake(sock, socket_type, identity=b""):
    """Send our ZMTP/2.0 greeting and read the peer's, which must be a
    libzmq 3.x/4.x one: signature, then revision (libzmq 4 sends 3, the
    highest it speaks, and downgrades to ours), socket type, identity.
    Returns (reader, peer revision, peer socket type, peer identity)."""
    sock.sendall(greeting_v2(socket_type, identity))
    rd = Reader(sock)
    signature = rd.exactly(10)
    assert signature[0] == 0xFF and signature[9] & 0x01, signature
    revision, peer_type = rd.exactly(2)
    flags, peer_identity = rd.frame()
    assert flags == 0, flags
    return rd, revision, peer_type, peer_identity
