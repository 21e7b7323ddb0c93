"""Is there a screen Qt can draw on? Asked before the first window is made: without one, Qt
aborts the process (SIGABRT) with "no Qt platform plugin could be initialized", a message that
names neither the cause nor the fix, and systemd would restart it into the same abort every few
seconds. The kiosk says instead which screen it looked for, why it is not there and what to
set, and under systemd waits a while for it (a display server or GPU driver still starting)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

SCREEN_WAIT_S = 30.0  # under systemd: well inside its start timeout (90 s), one log line a cycle
NO_SCREEN_EXIT = 69  # EX_UNAVAILABLE: systemd restarts it (Restart=always) and it looks again

_KMS = ("eglfs", "eglfs_kms", "vkkhrdisplay", "minimalegl")  # draw through DRM/KMS: /dev/dri
_FIX = (
    "start it from a desktop session, put DISPLAY=:0 and QT_QPA_PLATFORM=xcb into "
    "/etc/kiosk/kiosk.env for an X11 session, or QT_QPA_PLATFORM=eglfs on a machine without one"
)


def _candidates(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order (QT_QPA_PLATFORM may list several, ';' between;
    ':' starts a plugin's options)."""
    value = env.get("QT_QPA_PLATFORM", "").strip()
    if value:
        return [part.split(":", 1)[0].strip().lower() for part in value.split(";") if part.strip()]
    # Unset: Qt's default on Linux is xcb; in a Wayland session Qt 6 tries Wayland first.
    return ["wayland", "xcb"] if env.get("XDG_SESSION_TYPE") == "wayland" else ["xcb"]


def _problem(platform: str, env: Mapping[str, str], dev: Path) -> str | None:
    if platform == "xcb":
        # Not the socket file: under systemd's PrivateTmp /tmp/.X11-unix is empty, and the X
        # server is reached through its abstract socket.
        return None if env.get("DISPLAY") else "no X11 display (DISPLAY is not set)"
    if platform.startswith("wayland"):
        return None if env.get("WAYLAND_DISPLAY") else "no Wayland display (WAYLAND_DISPLAY is not set)"
    if platform in _KMS:
        if any((dev / "dri").glob("card*")):
            return None
        return f"no graphics device for {platform} ({dev / 'dri'} has no card: is the GPU driver loaded?)"
    if platform == "linuxfb":
        return None if any(dev.glob("fb[0-9]*")) else f"no framebuffer for linuxfb ({dev}/fb0 is missing)"
    return None  # offscreen, minimal, vnc, ...: nothing outside the process to find


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
