"""The screen the kiosk draws on, looked at before the first window is made.

Is there one? Without one, Qt aborts the process (SIGABRT) with "no Qt platform plugin could be
initialized", a message that names neither the cause nor the fix, and systemd would restart it
into the same abort every few seconds. The kiosk says instead which screen it looked for, why it
is not there and what to set, and under systemd waits a while for it (a display server or GPU
driver still starting).

Is it large enough? Every screen is laid out for 1280x800 and checked there (tests/test_ui.py);
on a smaller panel (1024x600 and 800x480 are common kiosk sizes) titles and instructions were cut
off. There the whole interface is drawn smaller by Qt's own scale factor (QT_SCALE_FACTOR, set
before Qt starts, so the process starts itself again once), so the layout has its 1280x800 and
touch targets keep their physical size."""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

SCREEN_WAIT_S = 30.0  # under systemd: well inside its start timeout (90 s), one log line a cycle
NO_SCREEN_EXIT = 69  # EX_UNAVAILABLE: systemd restarts it (Restart=always) and it looks again

_KMS = ("eglfs", "eglfs_kms", "vkkhrdisplay", "minimalegl")  # draw through DRM/KMS: /dev/dri
_FIX = (
    "start it from a desktop session, put DISPLAY=:0 and QT_QPA_PLATFORM=xcb into "
    "/etc/kiosk/kiosk.env for an X11 session, or, at a text console, load the GPU driver "
    "(eglfs draws through /dev/dri/card*)"
)


def _candidates(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order (QT_QPA_PLATFORM may list several, ';' between;
    ':' starts a plugin's options)."""
    value = env.get("QT_QPA_PLATFORM", "").strip()
    if value:
        return [part.split(":", 1)[0].strip().lower() for part in value.split(";") if part.strip()]
    # Unset: Qt's default on Linux is xcb; in a Wayland session Qt 6 tries Wayland first.
    return ["wayland", "xcb"] if env.get("XDG_SESSION_TYPE") == "wayland" else ["xcb"]


def _has_gpu(dev: Path) -> bool:
    """A DRM card to draw through (eglfs and its kin)."""
    return any((dev / "dri").glob("card*"))


def _problem(platform: str, env: Mapping[str, str], dev: Path) -> str | None:
    if platform == "xcb":
        # Not the socket file: under systemd's PrivateTmp /tmp/.X11-unix is empty, and the X
        # server is reached through its abstract socket.
        return None if env.get("DISPLAY") else "no X11 display (DISPLAY is not set)"
    if platform.startswith("wayland"):
        return None if env.get("WAYLAND_DISPLAY") else "no Wayland display (WAYLAND_DISPLAY is not set)"
    if platform in _KMS:
        if _has_gpu(dev):
            return None
        return f"no graphics device for {platform} ({dev / 'dri'} has no card: is the GPU driver loaded?)"
    if platform == "linuxfb":
        return None if any(dev.glob("fb[0-9]*")) else f"no framebuffer for linuxfb ({dev}/fb0 is missing)"
    return None  # offscreen, minimal, vnc, ...: nothing outside the process to find


def console_platform(env: Mapping[str, str] | None = None, dev: Path = Path("/dev")) -> str | None:
    """ "eglfs" when nothing chose a platform and there is no desktop session to draw in, but a
    GPU device: a machine at its text console, as a kiosk usually is. Qt would try xcb there and
    abort; the service draws through DRM/KMS the same way (packaging/kiosk.service). None when a
    platform is chosen, a desktop session is there, or there is no GPU device."""
    env = os.environ if env is None else env
    if env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return "eglfs" if _has_gpu(dev) else None


def screen_problem(env: Mapping[str, str] | None = None, dev: Path = Path("/dev")) -> str | None:
    """None when one of the platforms Qt will try has its screen; otherwise why none has."""
    env = os.environ if env is None else env
    problems = []
    for platform in _candidates(env):
        problem = _problem(platform, env, dev)
        if problem is None:
            return None
        problems.append(problem)
    return "no screen to draw on: " + "; ".join(problems) + "; " + _FIX


def wait_for_screen(
    env: Mapping[str, str] | None = None,
    dev: Path = Path("/dev"),
    wait_s: float = 0.0,
    status: Callable[[str], object] = lambda _text: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """screen_problem(), looked at again every second for up to wait_s (the problem is logged
    once and shown as the service's status meanwhile); None as soon as the screen is there."""
    problem = screen_problem(env, dev)
    if problem is None or wait_s <= 0:
        return problem
    log.warning("%s; waiting up to %.0f s for it", problem, wait_s)
    status("waiting for a screen: " + problem)
    end = clock() + wait_s
    while clock() < end:
        sleep(1.0)
        problem = screen_problem(env, dev)
        if problem is None:
            log.info("the screen is there")
            return None
    return problem


LAYOUT_SIZE = (1280, 800)  # what every screen is laid out for and checked at
MIN_SCALE = 0.5  # below this the text would be too small to read: the layout is cut instead


def scale_for(width: int, height: int) -> float | None:
    """The scale factor that gives a width x height screen (device-independent pixels) at least
    LAYOUT_SIZE of room; None when it has that already. Rounded down to a hundredth, so the
    room is never short by a rounding."""
    fit = min(width / LAYOUT_SIZE[0], height / LAYOUT_SIZE[1])
    if fit >= 1:
        return None
    return max(MIN_SCALE, math.floor(fit * 100) / 100)


def fit_layout_to_screen() -> None:
    """Called before anything else is built: when the primary screen is smaller than the layout
    and no QT_SCALE_FACTOR is set (the site's choice, or this process's after its new start),
    starts this process again (same pid, same arguments: nothing is open yet) with the factor
    that fits. Does nothing on a large enough screen or without a physical one."""
    from PySide6.QtWidgets import QApplication

    from .logging_setup import install_qt_message_handler

    if os.environ.get("QT_SCALE_FACTOR"):
        return
    install_qt_message_handler()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    screen = app.primaryScreen()
    if app.platformName() in ("offscreen", "minimal") or screen is None:
        return
    size = screen.size()
    factor = scale_for(size.width(), size.height())
    if factor is None:
        return
    log.warning(
        "the screen (%dx%d) is smaller than the layout (%dx%d): drawn at scale %g (QT_SCALE_FACTOR); "
        "set QT_SCALE_FACTOR in the environment to choose another",
        size.width(),
        size.height(),
        *LAYOUT_SIZE,
        factor,
    )
    os.environ["QT_SCALE_FACTOR"] = f"{factor:g}"
    # Qt reads the factor only when it starts. The frozen bundle is started by its own path.
    argv = [sys.executable, *sys.argv[1:]] if getattr(sys, "frozen", False) else list(sys.orig_argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
