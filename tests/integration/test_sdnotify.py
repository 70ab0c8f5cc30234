"""test_sdnotify.py: readiness for service managers (systemd Type=notify):
agentbusd sends READY=1 on $NOTIFY_SOCKET once every port is bound, sends
nothing when it cannot start, and keeps serving (with a warning) when the
notification cannot be delivered."""
import socket

import pytest

from harness import HANG_GUARD_S, free_port, req_socket, roundtrip, service


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    """A datagram socket where a service manager would listen; brokers
    started by the test inherit $NOTIFY_SOCKET naming it."""
    path = tmp_path / "notify"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(HANG_GUARD_S)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield s
    s.close()


def test_ready_is_notified(notify_socket, make_agent, make_broker, zctx):
    agent = make_agent()
    port = free_port()
    make_broker({"echo": service(port, [agent.endpoint])})
    assert notify_socket.recv(256) == b"READY=1\nSTATUS=serving"
    assert roundtrip(req_socket(zctx, port), [b"hi"]) == [b"hi"]


def test_no_notification_when_startup_fails(notify_socket, make_broker):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = make_broker({"echo": service(port, ["tcp://127.0.0.1:1"])}, start=False)
        assert broker.run_to_exit() == 1
    notify_socket.settimeout(0)
    with pytest.raises(BlockingIOError):
        notify_socket.recv(256)


def test_undeliverable_notification_only_warns(tmp_path, monkeypatch, make_agent,
                                               make_broker, zctx):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    agent = make_agent()
    port = free_port()
    broker = make_broker({"echo": service(port, [agent.endpoint])})
    broker.wait_log(r"warn  sd_notify failed: NOTIFY_SOCKET=\S+nobody-listens: "
                    r"No such file or directory")
    assert roundtrip(req_socket(zctx, port), [b"still"]) == [b"still"]
