"""test_passthrough.py: bodies cross the broker byte for byte, both ways,
and the reply envelope is what the client would get from the REP itself."""
import os

import pytest

from harness import (dealer_roundtrip, dealer_socket, free_port, recv_reply, req_socket, roundtrip,
                     service)

BODIES = {
    "single": [b"hello agent"],
    "multi": [b"first", b"", b"third", b"", b"fifth"],
    "empty": [b""],
    "binary": [bytes(range(256))],
    "one_mib": [os.urandom(1 << 20)],
}


@pytest.fixture
def echo_port(make_agent, make_broker):
    """The port of a service with one plain echo backend."""
    agent = make_agent()
    port = free_port()
    make_broker({"echo": service(port, [agent.endpoint])})
    return port


@pytest.mark.parametrize("name", BODIES)
def test_req_body_passes_unchanged(zctx, echo_port, name):
    sock = req_socket(zctx, echo_port)
    assert roundtrip(sock, BODIES[name]) == BODIES[name]


def test_dealer_client_gets_rep_envelope(zctx, echo_port):
    sock = dealer_socket(zctx, echo_port)
    for body in BODIES.values():
        assert dealer_roundtrip(sock, body) == body


def test_requests_in_sequence_on_one_socket(zctx, echo_port):
    sock = req_socket(zctx, echo_port)
    for i in range(50):
        body = [b"seq", str(i).encode()]
        assert roundtrip(sock, body) == body


def test_dealer_pipelined_requests(zctx, echo_port):
    # A DEALER may have many requests outstanding; each comes back once.
    sock = dealer_socket(zctx, echo_port)
    bodies = [[b"pipelined", b"%d" % i] for i in range(20)]
    for body in bodies:
        sock.send_multipart([b""] + body)
    replies = [recv_reply(sock) for _ in bodies]
    assert sorted(replies) == sorted([b""] + body for body in bodies)


def test_envelope_of_an_intermediate_router_comes_back(zctx, echo_port):
    # A client behind another ROUTER hop: the extra envelope frames in front
    # of the delimiter come back unchanged, as a REP would return them.
    sock = dealer_socket(zctx, echo_port)
    request = [b"hop-2", b"hop-1", b"", b"body", b""]
    sock.send_multipart(request)
    assert recv_reply(sock) == request
