"""Shared parts of the fault-injection suite: a real kiosk (Qt offscreen, real pipeline, real
worker thread) served in-process, with fakes only at the edges: frame sources instead of a
camera, a datagram socket in place of systemd, a list in place of the verdict hook."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from PySide6.QtCore import QTimer

from conftest import camera_like_frames, make_cfg


def session_cfg(state_dir: Path, **sections):
    """Short sessions (like the UI soak): a photo with camera-like noise passes level 1,
    challenges time out."""
    base = {
        "liveness": {"real_frames": 15},
        "challenges": {"time_limit_s": 1.2, "gap_s": [0.0, 0.0]},
        "session": {"result_display_s": 1.0, "auto_start_s": 0.5},
        "camera": {"reconnect_s": 0.3},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return make_cfg(state_dir, **base)


def face_folder(tmp_path: Path, photos: Path) -> Path:
    return camera_like_frames(photos / "business_person.png", tmp_path / "faces")


class ListReporter:
    """Stands in for the verdict hook: every record the kiosk reports, in order."""

    def __init__(self):
        self.records = []

    def submit(self, record) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass


class NotifySocket:
    """systemd's side of sd_notify: a datagram socket; `env` goes into the Watchdog."""

    def __init__(self, tmp_path: Path, watchdog_usec: int = 300_000):
        self.path = str(tmp_path / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.env = {"NOTIFY_SOCKET": self.path, "WATCHDOG_USEC": str(watchdog_usec)}
        self.messages: list[tuple[float, str]] = []

    def drain(self) -> list[tuple[float, str]]:
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return self.messages
            self.messages.append((time.monotonic(), data.decode()))

    def pings(self, since: float = 0.0) -> int:
        return sum(1 for t, m in self.drain() if m == "WATCHDOG=1" and t >= since)

    def close(self) -> None:
        self.sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def health_json(port: int) -> tuple[int, dict]:
    code, body = http_get(port, "/health")
    return code, json.loads(body)


def serve_with(kiosk, step, timeout_s: float = 60.0, **serve_kwargs) -> int:
    """Runs kiosk.ui.app.serve (the real loop: watchdog, storm exit, metrics) and calls
    step(quit) every 50 ms on the GUI thread until something quits. Past the deadline the loop
    is ended with 99 so a failing test cannot hang."""
    from kiosk.ui.app import serve

    def quit(code: int = 0) -> None:
        kiosk.window.allow_close = True
        kiosk.app.exit(code)

    ticker = QTimer()
    ticker.timeout.connect(lambda: step(quit))
    ticker.start(50)
    deadline = QTimer()  # an object, not singleShot(): it must not outlive this test
    deadline.setSingleShot(True)
    deadline.timeout.connect(lambda: quit(99))
    deadline.start(int(timeout_s * 1000))
    try:
        return serve(kiosk, **serve_kwargs)
    finally:
        ticker.stop()
        deadline.stop()
