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


def test_an_unhealthy_kiosk_withholds_the_ping(tmp_path):
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(0.2)
    w = Watchdog(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"})
    try:
        assert not w.ping(healthy=False) and w.withheld == 1
        assert w.ping(healthy=True)
        assert server.recv(64) == b"WATCHDOG=1"
    finally:
        server.close()


def test_a_receiver_that_does_not_read_never_blocks_the_gui_thread(tmp_path):
    """The datagram queue of a Unix socket is short; a blocking send would freeze the GUI loop."""
    import time

    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    w = Watchdog(env={"NOTIFY_SOCKET": path})
    try:
        t0 = time.monotonic()
        sent = [w.status(f"busy {i}") for i in range(2000)]
        assert time.monotonic() - t0 < 5.0
        assert sent[0] and not all(sent), "the queue filled and later messages were dropped, not waited on"
    finally:
        server.close()
