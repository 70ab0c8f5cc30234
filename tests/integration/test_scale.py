"""test_scale.py: a registry of 1,000 services with 2 backends each on one
broker (9,000 ZMQ sockets, 13,122 file descriptors: docs/operations.md
#sizing; plus the 4 sockets and 6 fds of the link server every registry of
the harness has, with its second host), and the clear refusals when the
process's limits are too small."""
import random
import resource
import signal

import pytest

from harness import (READY_WAIT_S, free_port, free_ports, req_socket, roundtrip, service,
                     tcp_endpoint)

SERVICES = 1000
HTTP_FDS = 32 + 2  # the harness's HTTP endpoint: --http-max-conns, listener, poller
LINK_FDS = 6  # the link server: 4 sockets, a listener, a peer connection
FDS_NEEDED = SERVICES * 12 + 64 + 1024 + HTTP_FDS + LINK_FDS


def many(n, backends, prefix="svc"):
    return {f"{prefix}-{i:04d}": service(port, backends)
            for i, port in enumerate(free_ports(n))}


def test_a_thousand_services_with_two_backends(zctx, make_agent, make_broker):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < FDS_NEEDED + 4096:
        pytest.skip(f"the hard RLIMIT_NOFILE ({hard}) is below what 1,000 services and "
                    f"their two agents need ({FDS_NEEDED + 4096})")
    agents = [make_agent(tag="A"), make_agent(tag="B")]
    services = many(SERVICES, [a.endpoint for a in agents])
    broker = make_broker(services, start=False)
    broker.start()
    broker.wait_log(r"\bready host=\S+ services=1000 .* sockets=9004 ", timeout=READY_WAIT_S)
    names = sorted(services)
    for name in [names[0], names[-1]] + random.Random(6).sample(names, 8):
        sock = req_socket(zctx, services[name]["port"])
        assert roundtrip(sock, [name.encode()])[1:] == [name.encode()]
        sock.close()


def test_too_few_file_descriptors_is_refused_naming_what_to_raise(make_broker):
    broker = make_broker(many(30, [tcp_endpoint(free_port())]), start=False)
    broker.nofile = (300, 300)
    assert broker.run_to_exit() == 1
    log = broker.log()
    # 30 x 8 + 1024 for clients + 64 for the process + HTTP_FDS + LINK_FDS.
    assert ("registry needs 1368 file descriptors (30 services and their backends, the "
            "links, plus 1024 kept for client connections and 34 for HTTP and Redis); "
            "RLIMIT_NOFILE is 300 (hard limit 300): service 'svc-0000' is the first that "
            "does not fit. Raise the hard limit to at least 1368") in log, log


def test_soft_limit_is_raised_to_fit(zctx, make_agent, make_broker):
    agent = make_agent()
    services = many(30, [agent.endpoint])
    broker = make_broker(services, start=False)
    broker.nofile = (300, 4096)
    broker.start()
    assert "raised RLIMIT_NOFILE soft limit from 300 to 1368" in broker.log()
    sock = req_socket(zctx, services["svc-0029"]["port"])
    assert roundtrip(sock, [b"fits"]) == [b"fits"]


def test_reload_beyond_the_context_size_is_refused(zctx, make_agent, make_broker):
    # The context was sized for 1 service and the link server (10 sockets:
    # 2 x 10 + 1024 = 1044); 200 services with a backend each need 1,204:
    # refused, nothing changes.
    agent = make_agent()
    services = many(200, [agent.endpoint])
    first = {"svc-0000": services["svc-0000"]}
    broker = make_broker(first)
    since = broker.mark()
    broker.rewrite(services)
    broker.signal(signal.SIGHUP)
    line = broker.wait_log(r"reload failed: .*", since).group(0)
    assert ("registry needs 1204 ZMQ sockets for 200 services; this broker's context "
            "holds at most 1044 (ZMQ_MAX_SOCKETS, sized from the registry at start): "
            "service 'svc-0173' is the first that does not fit") in line, line
    sock = req_socket(zctx, first["svc-0000"]["port"])
    assert roundtrip(sock, [b"still"]) == [b"still"]
