import socket

from kiosk.session.clock import ManualClock
from kiosk.watchdog import Watchdog


def test_outside_systemd_it_does_nothing():
    w = Watchdog(env={})
    assert not w.enabled and not w.ready() and not w.ping()


def test_ready_and_rate_limited_watchdog_pings(tmp_path):
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(2)
    clock = ManualClock(100.0)
    w = Watchdog(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"}, clock=clock.now)
    try:
        assert w.interval_s == 1.0
        assert w.ready()
        assert server.recv(64) == b"READY=1"
        assert w.ping() and not w.ping()  # the second one within the interval is skipped
        clock.advance(1.0)
        assert w.ping()
        assert [server.recv(64), server.recv(64)] == [b"WATCHDOG=1", b"WATCHDOG=1"]
    finally:
        server.close()
