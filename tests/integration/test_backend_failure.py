"""test_backend_failure.py: backends that die (SIGKILL) and come back, and
backends that never answer or live elsewhere."""
import re
import socket
import threading

import zmtp
from harness import (assert_error, error_of, free_port, recv_reply, req_socket, roundtrip,
                     service, tagged_echo_ok, tcp_endpoint, unique_body, wait_until)

CLIENTS = 8
# Requests per phase of the kill test: enough to see the survivor carry on.
PHASE_REQUESTS = 50
# Deadline far beyond any restart, so a request may only end in a reply or
# in `unavailable` (its backend died holding it), never in `timeout`.
PATIENT_TIMEOUT_MS = 20000


class Clients:
    """CLIENTS REQ clients sending unique requests until stopped; every
    (request, reply) pair is recorded in order of arrival."""

    def __init__(self, zctx, port):
        self.results = []  # list.append is atomic: shared by the threads
        self.stopping = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(zctx, port, c))
                        for c in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def run(self, zctx, port, client):
        sock = req_socket(zctx, port)
        try:
            i = 0
            while not self.stopping.is_set():
                body = unique_body(client, i)
                self.results.append((body, roundtrip(sock, body)))
                i += 1
        except AssertionError as e:
            self.errors.append(e)
        finally:
            sock.close()

    def tags_since(self, start, tags):
        return {tagged_echo_ok(rep, req, tags) for req, rep in self.results[start:]}

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()
        assert not self.errors, self.errors[0]


def test_backend_killed_and_restarted_mid_run(zctx, make_agent, make_broker):
    tags = {b"A", b"B"}
    a, b = make_agent(tag="A"), make_agent(tag="B")
    port = free_port()
    broker = make_broker({"echo": service(port, [a.endpoint, b.endpoint],
                                          timeout_ms=PATIENT_TIMEOUT_MS)})
    broker.wait_backends_up(2)
    clients = Clients(zctx, port)
    try:
        wait_until(lambda: tags <= clients.tags_since(0, tags), "both backends serving")
        b.kill()
        killed_at = len(clients.results)
        wait_until(lambda: len(clients.results) >= killed_at + PHASE_REQUESTS,
                   "the survivor serving alone")
        restarted_at = len(clients.results)
        b.start()
        wait_until(lambda: b"B" in clients.tags_since(restarted_at, tags),
                   "the restarted backend serving again")
    finally:
        clients.stop()
    errors = [error_of(rep) for req, rep in clients.results
              if tagged_echo_ok(rep, req, tags) is None]
    assert None not in errors, "a reply is neither the tagged echo nor an error"
    assert {e["error"] for e in errors} <= {"unavailable"}, errors
    # Only requests the dead backend held can fail: at most one per client.
    assert len(errors) <= CLIENTS, errors
    st = broker.stats("echo")
    assert st["requests"] == len(clients.results)
    assert st["unavailable"] == len(errors)


def test_request_waits_for_a_restarting_backend(zctx, make_agent, make_broker):
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint],
                                          timeout_ms=PATIENT_TIMEOUT_MS)})
    sock = req_socket(zctx, port)
    assert roundtrip(sock, [b"before"]) == [b"before"]
    mark = broker.mark()
    agent.kill()
    broker.wait_log(r"\bbackend down service=echo ", since=mark)
    sock.send_multipart([b"while", b"down"])
    broker.wait_stats("echo", lambda st: st["queued"] == 1, "the request queued")
    agent.start()
    assert recv_reply(sock) == [b"while", b"down"]


def test_backend_nobody_listens_on_is_unavailable(zctx, make_broker):
    port = free_port()
    broker = make_broker({"echo": service(port, [tcp_endpoint(free_port())], timeout_ms=300)})
    sock = req_socket(zctx, port)
    assert_error(roundtrip(sock, [b"anyone?"]), "unavailable", "echo")
    assert broker.stats("echo")["unavailable"] == 1


def test_service_of_an_unreachable_host_is_unavailable(zctx, make_agent, make_broker):
    # otherpc's broker never runs: requests wait for the link to it until
    # their deadline, then get unavailable naming the host (the multi-host
    # suite, tests/hosts, has the links that do come up).
    agent = make_agent()
    port = free_port()
    broker = make_broker({"remote": service(port, [agent.endpoint], host="otherpc",
                                            timeout_ms=300)})
    sock = req_socket(zctx, port)
    for _ in range(3):
        err = assert_error(roundtrip(sock, [b"cross-host"]), "unavailable", "remote")
        assert "no link to host otherpc within 300 ms" in err["message"], err
    assert broker.stats("remote")["unavailable"] == 3


def test_absent_backend_is_retried_less_and_less_often(make_broker):
    # libzmq retries an absent backend every 100 ms forever by default (5%
    # CPU with 240 of them). The broker sets ZMQ_RECONNECT_IVL_MAX: waits
    # double up to --reconnect-max-ms. libzmq reports each wait (plus a
    # jitter below the base 100 ms) and the broker logs it at debug level.
    port = free_port()
    broker = make_broker({"echo": service(port, [tcp_endpoint(free_port())])},
                         args=["--reconnect-max-ms", "800", "--log-level", "debug"])

    def six_waits():
        waits = re.findall(r"backend retry service=echo endpoint=\S+ in_ms=(\d+)", broker.log())
        return [int(w) for w in waits] if len(waits) >= 6 else None
    waits = wait_until(six_waits, "six retries logged")
    bases = [w - w % 100 for w in waits]  # drop the jitter (< 100 ms)
    assert bases[:5] == [100, 200, 400, 800, 800], waits
    assert max(waits) < 900, waits


def test_last_reply_of_a_backend_that_exits_is_delivered(zctx, make_broker):
    # An agent that replies and exits at once: its reply and the end of
    # its connection arrive together. With ZMQ_IMMEDIATE libzmq discarded
    # such a reply with the connection's pipe (about half of them here),
    # and the client got `unavailable` for a request its agent had
    # answered. The agent here is ZMTP 3 written by hand (zmtp.py), so the
    # reply and the close leave in one go every time.
    rounds = 20
    agent_port, port = free_port(), free_port()
    listener = socket.create_server(("127.0.0.1", agent_port))
    replied = []

    def agent():
        for _ in range(rounds):
            conn, rd = zmtp.v3_accept(listener)
            with conn:
                request = rd.message()
                conn.sendall(zmtp.message(request))
                replied.append(request[-1])
    t = threading.Thread(target=agent, daemon=True)
    t.start()
    broker = make_broker({"once": service(port, [tcp_endpoint(agent_port)], timeout_ms=5000)})
    for i in range(rounds):
        mark = broker.mark()
        sock = req_socket(zctx, port)
        body = b"only reply %d" % i
        assert roundtrip(sock, [body]) == [body], (i, replied)
        sock.close()
        # The next request is for the agent's next connection.
        broker.wait_log(r"\bbackend down service=once ", since=mark)
    t.join(10)
    listener.close()
