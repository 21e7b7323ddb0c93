"""Is the kiosk doing its job? Heartbeats from the parts that must keep moving, and a watch for
the same exception repeating (an error storm) so a broken kiosk is restarted, not left on screen.

Plain Python, thread-safe and Qt-free: the camera worker beats from its thread, the GUI thread
beats for the session engine, the metrics server reads from its own thread.

Heartbeats
    "frames": the camera worker made progress: a frame analysed, a frame read on the attract
        screen (where only every n-th frame is analysed), or a reconnect attempt while the camera is
        lost. A lost camera is a kiosk still doing its job (it shows the camera screen and retries),
        so it stays healthy; a worker wedged inside the pipeline stops beating. It says nothing
        of the GUI thread: a frame analysed while that thread stalls still beats (its result
        waits, kiosk.ui.worker's Handover), and the stall is the "engine" beat's to tell.
    "engine": the session engine judged an observation or a timer tick without raising.
The systemd watchdog is fed only while every beat is fresh; the pings themselves ride the GUI
loop, so a wedged GUI thread stops them too.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from .config import HealthConfig, shipped_defaults

log = logging.getLogger(__name__)

# The thresholds come from the config's [health] section (health.stale_after_s: a beat older
# than this marks its part as stuck; health.storm_count within health.storm_window_s: the same
# exception that often is a storm, not bad luck); default_config.toml says why they are what they are.


@dataclass
class _Beat:
    max_age_s: float
    last: float | None = None  # None: never beaten (a part that has not started yet)
    started: float = 0.0


class Heartbeats:
    """Named beats with a maximum age each. A part that never beat is given max_age from when it
    was registered, so a kiosk that never gets going is unhealthy too."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._beats: dict[str, _Beat] = {}
        self._lock = threading.Lock()

    def expect(self, name: str, max_age_s: float) -> None:
        with self._lock:
            self._beats[name] = _Beat(max_age_s, None, self._clock())

    def beat(self, name: str) -> None:
        beat = self._beats.get(name)
        if beat is not None:
            beat.last = self._clock()  # one float store: no lock needed on the hot path

    def ages(self) -> dict[str, float]:
        now = self._clock()
        with self._lock:
            return {n: now - (b.last if b.last is not None else b.started) for n, b in self._beats.items()}

    def stale(self) -> list[str]:
        ages = self.ages()
        return [n for n, age in ages.items() if age > self._beats[n].max_age_s]


def error_signature(exc: BaseException) -> tuple:
    """Same type raised from the same lines: the message may differ (it often carries a number)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return (type(exc).__qualname__, tuple((f.filename, f.lineno) for f in frames))


@dataclass
class _Seen:
    count: int = 0
    recent: deque = field(default_factory=deque)


class ErrorStorm:
    """Counts unexpected exceptions by signature. The first of each kind is logged at ERROR with its
    traceback; repeats are only counted. When one kind repeats `count` times within
    `window_s`, `on_storm(summary)` is called once (from the reporting thread)."""

    MAX_KINDS = 256  # distinct signatures remembered; more are counted but not told apart

    def __init__(
        self,
        count: int,
        window_s: float,
        on_storm: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.on_storm = on_storm
        self.count, self.window_s = count, window_s
        self._clock = clock
        self._seen: dict[tuple, _Seen] = {}
        self._lock = threading.Lock()
        self.total = 0
        self.storm: str = ""  # the summary once a storm was declared

    def report(self, where: str, exc: BaseException) -> bool:
        """Returns True when this report started a storm."""
        from . import metrics

        sig = error_signature(exc)
        now = self._clock()
        with self._lock:
            self.total += 1
            known = self._seen.get(sig)
            first = known is None
            seen = known if known is not None else _Seen()
            if first and len(self._seen) < self.MAX_KINDS:
                self._seen[sig] = seen
            seen.count += 1
            seen.recent.append(now)
            while seen.recent and now - seen.recent[0] > self.window_s:
                seen.recent.popleft()
            started = not self.storm and len(seen.recent) >= self.count
            if started:
                self.storm = f"{where}: {type(exc).__name__}: {exc} ({len(seen.recent)} times in {self.window_s:.0f} s)"
        metrics.errors.labels(where=where).inc()
        if first:
            log.error(
                "unexpected error in %s (reported once; repeats are counted)",
                where,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
        if started:
            metrics.error_storms.inc()
            log.critical("error storm: %s; the kiosk goes out of service and exits for a restart", self.storm)
            if self.on_storm is not None:
                self.on_storm(self.storm)
        return started

    def excepthook(
        self, where: str | None = None
    ) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
        """For sys.excepthook: exceptions escaping Qt slots arrive here (PySide prints them otherwise).
        With no `where`, the thread the slot ran on says it: "gui" on the main thread, "worker" on
        a QThread (the camera worker's slots end up here too)."""

        def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            if issubclass(exc_type, KeyboardInterrupt):
                return
            if exc.__traceback__ is None:
                exc = exc.with_traceback(tb)
            on_main = threading.current_thread() is threading.main_thread()
            self.report(where or ("gui" if on_main else "worker"), exc)

        return hook


class Health:
    """Heartbeats + error storm, the one object the worker, the app, the watchdog and /health share.

    `settings` is the config's [health] section (None: the shipped defaults); keyword overrides
    replace single thresholds of it (tests)."""

    def __init__(
        self,
        settings: HealthConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        **overrides: Any,
    ):
        s = dataclasses.replace(settings or shipped_defaults().health, **overrides)
        self.beats = Heartbeats(clock)
        self.stale_after_s = s.stale_after_s
        self.errors = ErrorStorm(count=s.storm_count, window_s=s.storm_window_s, clock=clock)
        self.camera = "starting"  # ok | lost | frozen | starting (shown by /health and /metrics)
        self.camera_reason = ""
        # Why the kiosk shows "out of service" (a model or config problem, an error storm), or "".
        # Not unhealthy by itself: the process does its job (shows the screen, tells staff); a
        # restart would not mend a missing model, and restarting in a loop would hide the screen.
        self.out_of_service = ""

    def beat(self, name: str) -> None:
        self.beats.beat(name)

    def report_error(self, where: str, exc: BaseException) -> bool:
        return self.errors.report(where, exc)

    def set_camera(self, state: str, reason: str = "") -> None:
        from . import metrics

        self.camera, self.camera_reason = state, reason
        metrics.camera_state.state(state)

    def healthy(self) -> bool:
        return not self.errors.storm and not self.beats.stale()

    def status(self) -> dict:
        stale = self.beats.stale()
        return {
            "healthy": not self.errors.storm and not stale,
            "stale": stale,
            "beat_age_s": {n: round(a, 3) for n, a in self.beats.ages().items()},
            "error_storm": self.errors.storm,
            "errors": self.errors.total,
            "camera": self.camera,
            "camera_reason": self.camera_reason,
            "out_of_service": self.out_of_service,
        }
