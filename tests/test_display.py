"""`kiosk run` with no screen to draw on (no X11 or Wayland session, no GPU device for eglfs):
one line that names the missing screen and what to set, and exit code 69, instead of Qt's abort
("no Qt platform plugin could be initialized", SIGABRT) that systemd would restart every 3 s."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kiosk.display import NO_SCREEN_EXIT, screen_problem, wait_for_screen

from conftest import (
    ROOT,
    child_result,
    kiosk_process_env,
    read_until_camera_lost,
    start_kiosk_without_a_camera,
    stop_on_sigterm,
)


def _dev(tmp_path, *files: str):
    dev = tmp_path / "dev"
    (dev / "dri").mkdir(parents=True)
    for name in files:
        (dev / name).touch()
    return dev


def test_each_platform_looks_for_its_own_screen(tmp_path):
    bare, kms, fb = _dev(tmp_path / "a"), _dev(tmp_path / "b", "dri/card0"), _dev(tmp_path / "c", "fb0")
    x11 = {"DISPLAY": ":0"}
    assert screen_problem({}, bare) is not None  # Qt's default, xcb, needs a display
    assert screen_problem(x11, bare) is None
    assert "DISPLAY is not set" in screen_problem({"QT_QPA_PLATFORM": "xcb"}, kms)
    assert screen_problem({"QT_QPA_PLATFORM": "eglfs"}, kms) is None
    assert "GPU driver" in screen_problem({"QT_QPA_PLATFORM": "eglfs"}, bare)
    assert screen_problem({"QT_QPA_PLATFORM": "linuxfb:fb=/dev/fb0"}, fb) is None
    assert screen_problem({"QT_QPA_PLATFORM": "linuxfb"}, bare) is not None
    assert screen_problem({"QT_QPA_PLATFORM": "wayland"}, bare) is not None
    assert screen_problem({"QT_QPA_PLATFORM": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, bare) is None
    # a list is tried in order: one usable entry is enough
    assert screen_problem({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":1"}, bare) is None
    both = screen_problem({"QT_QPA_PLATFORM": "wayland;eglfs"}, bare)
    assert "Wayland" in both and "graphics device" in both
    # in a Wayland session Qt tries Wayland before xcb
    assert screen_problem({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, bare) is None
    for nothing_outside in ("offscreen", "minimal", "vnc"):
        assert screen_problem({"QT_QPA_PLATFORM": nothing_outside}, bare) is None


def test_at_a_text_console_with_a_gpu_it_draws_straight_to_the_screen(tmp_path):
    """`bash scripts/run-kiosk.sh` on a kiosk machine with no desktop: eglfs, as the service,
    instead of Qt's default xcb and its abort. Whatever was chosen or is there comes first."""
    from kiosk.display import console_platform

    kms, bare = _dev(tmp_path / "a", "dri/card0"), _dev(tmp_path / "b")
    assert console_platform({}, kms) == "eglfs" and screen_problem({"QT_QPA_PLATFORM": "eglfs"}, kms) is None
    assert console_platform({}, bare) is None  # no GPU device: the no-screen message says what to set
    assert console_platform({"DISPLAY": ":0"}, kms) is None
    assert console_platform({"WAYLAND_DISPLAY": "wayland-0"}, kms) is None
    assert console_platform({"QT_QPA_PLATFORM": "linuxfb"}, kms) is None


def test_under_systemd_it_waits_for_a_screen_that_is_still_coming(tmp_path):
    """A GPU driver or display server still starting at boot: the service's status says what it
    waits for, and the kiosk goes on once the screen is there (no restart needed)."""
    dev = _dev(tmp_path)
    now = [0.0]
    statuses: list[str] = []

    def sleep(s: float) -> None:
        now[0] += s
        if now[0] >= 5:
            (dev / "dri" / "card0").touch()  # the driver is loaded

    env = {"QT_QPA_PLATFORM": "eglfs"}
    assert wait_for_screen(env, dev, wait_s=30, status=statuses.append, clock=lambda: now[0], sleep=sleep) is None
    assert now[0] == 5 and len(statuses) == 1 and "graphics device" in statuses[0]
    (dev / "dri" / "card0").unlink()
    now[0] = 0.0
    gone = wait_for_screen(env, dev, wait_s=3, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert gone is not None and now[0] == 3  # it gives up after wait_s


def _bare_env(tmp_path, **extra: str) -> dict:
    env = kiosk_process_env(tmp_path, KIOSK_LOG="INFO")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "NOTIFY_SOCKET"):
        env.pop(name, None)
    env.update(extra)
    return env


def test_run_by_hand_with_no_screen_says_so_and_exits(tmp_path):
    """What `bash scripts/run-kiosk.sh` met on a machine with no desktop session: Qt's abort."""
    if any(Path("/dev/dri").glob("card*")):
        pytest.skip("this machine has a GPU device: at a text console the kiosk draws through it (eglfs)")
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "run"],
        cwd=ROOT,
        env=_bare_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == NO_SCREEN_EXIT, done.stderr[-2000:]
    assert "kiosk: not started: no screen to draw on: no X11 display (DISPLAY is not set)" in done.stderr
    assert "QT_QPA_PLATFORM=xcb" in done.stderr and "/dev/dri/card*" in done.stderr  # what to set
    assert "platform plugin" not in done.stderr and "Traceback" not in done.stderr


def test_the_service_says_what_it_waits_for(tmp_path):
    """Under systemd (NOTIFY_SOCKET) the wait shows in `systemctl status kiosk`; systemd's stop
    ends the wait at once."""
    address = str(tmp_path / "notify")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(address)
    receiver.settimeout(60)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run"],
        cwd=ROOT,
        env=_bare_env(tmp_path, QT_QPA_PLATFORM="wayland", NOTIFY_SOCKET=address),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr or ()), daemon=True)
    reader.start()
    try:
        message = receiver.recv(4096).decode()
        assert message.startswith("STATUS=waiting for a screen: no screen to draw on: no Wayland display")
        time.sleep(0.5)  # it is waiting, not gone
        assert proc.poll() is None
        proc.terminate()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.close()
    reader.join(10)
    assert not any("Traceback" in line for line in err), "".join(err)[-2000:]


def test_a_smaller_screen_is_given_the_scale_that_fits_the_layout():
    from kiosk.display import scale_for

    assert scale_for(1280, 800) is None and scale_for(1920, 1080) is None and scale_for(2560, 1600) is None
    assert scale_for(1024, 600) == 0.75  # the common 7" and 10" kiosk panels
    assert scale_for(800, 480) == 0.6
    assert scale_for(1366, 768) == 0.96  # a laptop: the height is short
    assert scale_for(1280, 720) == 0.9
    for w, h in ((1024, 600), (800, 480), (1366, 768), (1280, 720), (1023, 599)):
        s = scale_for(w, h)
        assert w / s >= 1280 and h / s >= 800, (w, h, s)  # never short of room by a rounding
    assert scale_for(320, 240) == 0.5  # the floor: smaller text would not be read


def _xvfb(size: str):
    """A private X server with one screen of `size` (scripts/bootstrap.sh installs xvfb). Xvfb picks
    a free display itself (-displayfd) and says so once it listens: a number chosen here by looking
    for lock files ran out on a machine where killed servers had left 50 of them behind."""
    import shutil

    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb not installed (scripts/bootstrap.sh)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as announced:
        number = announced.readline().strip()  # empty if the server exited without a display
    assert number, f"Xvfb did not start (exit status {server.wait()})"
    return server, f":{number}"


def _stop_xvfb(server: subprocess.Popen) -> None:
    """Stopped, not killed: a terminated X server removes its lock file, a killed one leaves it."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _run_on_screen(tmp_path, size: str, **extra: str) -> tuple[int, str]:
    """`kiosk run` without a camera on an X screen of `size`, until it is up (its camera screen),
    then stopped as systemd stops it: (exit status, its log)."""
    server, display = _xvfb(size)
    proc = start_kiosk_without_a_camera(_bare_env(tmp_path, DISPLAY=display, QT_QPA_PLATFORM="xcb", **extra))
    try:
        lines, reader = read_until_camera_lost(proc)
        assert proc.poll() is None, "".join(lines)[-3000:]
        stop_on_sigterm(proc, reader)
    finally:
        if proc.poll() is None:
            proc.kill()
        _stop_xvfb(server)
    return proc.returncode, "".join(lines)


def test_on_a_1024x600_panel_the_kiosk_draws_itself_to_fit(tmp_path):
    """On a 1024x600 panel titles and instructions were cut off ("Look at the" without "camera"):
    the layout needs 1280x800. The kiosk now starts itself again, once, at the scale that gives
    it that room (Qt's own scale factor: text, icons and spacing alike)."""
    code, log = _run_on_screen(tmp_path, "1024x600")
    assert code == 0 and "Traceback" not in log, log[-3000:]
    assert log.count("the screen (1024x600) is smaller than the layout (1280x800): drawn at scale 0.75") == 1, log[
        -3000:
    ]
    assert log.count("created device key") == 1, "the start before the scale built nothing"


def test_a_scale_the_site_chose_is_kept(tmp_path):
    code, log = _run_on_screen(tmp_path, "1024x600", QT_SCALE_FACTOR="0.7")
    assert code == 0 and "Traceback" not in log, log[-3000:]
    assert "drawn at scale" not in log


SEVEN_INCH_PANEL = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtTest import QTest
from conftest import make_cfg
from kiosk.reporting import NullReporter
from kiosk.session.clock import ManualClock
from kiosk.session.observation import Observation
from kiosk.ui.app import build_kiosk, qt_app
from kiosk.vision.pipeline import VisionPipeline

cfg = make_cfg(Path(sys.argv[2]), ui={"language": "de"})
k = build_kiosk(cfg, pipeline=VisionPipeline(cfg), start_worker=False, clock=ManualClock(), reporter=NullReporter())
w, c = k.window, k.controller
w.setGeometry(qt_app().primaryScreen().geometry())
w.showFullScreen()

def settle():
    for _ in range(40):
        QCoreApplication.processEvents()

def measure(name, label):
    settle()
    w.grab().save(str(Path(sys.argv[3]) / f"seven_inch_de_{name}.png"))
    px = label.text_px()
    return {"what": name, "height": label.height(), "needs": label.needed_height(px), "px": px,
            "styled": label.font().pixelSize(), "text": label.text()}

c.model_problem = ""
c.refresh()
c.on_observation(Observation(face=True, faces=1, track_id=1, live=True, head_pose=(0.0, 0.0, 0.0)))
found = [measure("welcome", w.welcome.detail)]
QTest.keyClick(w, Qt.Key.Key_Space)
c.handle_command("help")
found.append(measure("help", w.message.detail))
c.handle_command("help")
c.handle_command("cancel")
found.append(measure("cancel_question", w.session.detail))
print("RESULT " + json.dumps({"window": [w.width(), w.height()], "labels": found}), flush=True)
c.shutdown()
"""


def test_on_a_7_inch_800x480_panel_the_longest_german_texts_are_drawn_whole(tmp_path):
    """The common 7-inch 800x480 touch panel at the scale the kiosk gives it (0.6): its 2 cm touch
    targets take more of the height, and German help and the cancel question lost their first and
    last lines. Such text is now drawn a little smaller, never under the kiosk's 32 px minimum."""
    from kiosk.display import scale_for
    from kiosk.ui.theme import MIN_TEXT_PX

    from conftest import SCREENSHOTS

    server, display = _xvfb("800x480")
    SCREENSHOTS.mkdir(exist_ok=True)
    state = tmp_path / "state"
    state.mkdir()
    try:
        env = _bare_env(tmp_path, DISPLAY=display, QT_QPA_PLATFORM="xcb", QT_SCALE_FACTOR=str(scale_for(800, 480)))
        argv = [sys.executable, "-c", SEVEN_INCH_PANEL, str(ROOT / "tests"), str(state), str(SCREENSHOTS)]
        result, _ = child_result(argv, ROOT, env, timeout_s=120)
    finally:
        _stop_xvfb(server)
    assert result["window"] == [1333, 800], result["window"]  # 800x480 at 0.6: the layout's room
    for found in result["labels"]:
        assert found["needs"] <= found["height"], f"{found['what']}: cut ({found})"
        assert found["px"] >= MIN_TEXT_PX, found
    assert any(f["px"] < f["styled"] for f in result["labels"]), "nothing needed to be drawn smaller here"
