"""test_load.py: many concurrent clients, several backends per service, and
every reply checked against its own request."""
from harness import (free_port, req_socket, roundtrip, run_concurrently, service,
                     tagged_echo_ok, unique_body)

CLIENTS = 50
REQUESTS_PER_CLIENT = 20


def session(zctx, port, client, count):
    """One client's run on its own REQ socket: [(request, reply), ...]."""
    sock = req_socket(zctx, port)
    try:
        return [(body, roundtrip(sock, body))
                for body in (unique_body(client, i) for i in range(count))]
    finally:
        sock.close()


def test_fifty_concurrent_clients(zctx, make_agent, make_broker):
    agents = [make_agent(), make_agent()]
    port = free_port()
    make_broker({"echo": service(port, [a.endpoint for a in agents])})
    runs = run_concurrently(lambda c: session(zctx, port, c, REQUESTS_PER_CLIENT), CLIENTS)
    pairs = [p for run in runs for p in run]
    assert len(pairs) == CLIENTS * REQUESTS_PER_CLIENT
    wrong = [(req, rep) for req, rep in pairs if rep != req]
    assert not wrong, f"{len(wrong)} replies differ from their request, e.g. {wrong[0]!r}"


def test_several_backends_share_the_load(zctx, make_agent, make_broker):
    # Each agent takes a moment per request, so with 12 clients several
    # requests are always outstanding and fewest-outstanding must spread them.
    tags = [b"b0", b"b1", b"b2"]
    agents = [make_agent(tag=t.decode(), delay_ms=20) for t in tags]
    port = free_port()
    broker = make_broker({"echo": service(port, [a.endpoint for a in agents])})
    broker.wait_backends_up(len(agents))
    runs = run_concurrently(lambda c: session(zctx, port, c, 10), 12)
    served = [tagged_echo_ok(rep, req, tags) for run in runs for req, rep in run]
    assert None not in served, "a reply is not the tagged echo of its request"
    assert set(served) == set(tags), f"backends that served: {sorted(set(served))}"
    st = broker.stats("echo")
    assert st["requests"] == len(served)
    assert st["inflight"] == 0 and st["queued"] == 0
