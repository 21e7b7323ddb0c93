"""Lock the kiosk after repeated failed sessions (brute-force / attack-iteration defence).

After `max_failures` failed sessions within `window_s` seconds the kiosk locks for `lockout_s`
seconds, as commercial liveness services advise. A passed session does not erase earlier
failures: one success must not launder an attacker's failed tries. The clock is injected
(monotonic by default) so wall-clock changes cannot shorten a lockout and tests need no sleep.

With a `state_path`, failures and a running lockout are saved (wall-clock times, written
atomically, mode 0600) and reloaded at start, so pulling the plug or crashing the process does not
clear a lockout. A reloaded lockout never lasts longer than `lockout_s` from now, whatever the wall
clock did meanwhile, and saved failures are not forgotten because the clock was set back (they
count as of the restart); an unreadable or unwritable file is logged and the kiosk goes on without it.

A session in progress is marked in the same file (`begin`) and unmarked when it is counted. A
marker found at start belongs to a session cut by a crash, a power cut or a kill (a stop ends and
reports its session itself): it is logged as abandoned and counted as one failure, so killing
the kiosk mid-session is no free retry. It then stays in the file as unreported (`interrupted`)
until `reported` says its "fail" verdict is safely in the spool or with the host: a kiosk that
dies again first, or cannot sign (no device key), reports it at a later start instead of losing
it, and counts it only the first time.

`PinGate` applies the same idea to the administrator PIN.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .files import write_atomically

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 180.0,
        lockout_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        state_path: str | Path | None = None,
        wall: Callable[[], float] = time.time,
    ):
        if max_failures < 1:
            raise ValueError(f"max_failures must be at least 1, got {max_failures!r}")
        if window_s <= 0:
            raise ValueError(f"window_s must be greater than 0, got {window_s!r}")
        if lockout_s < 0:
            raise ValueError(f"lockout_s must be 0 or more, got {lockout_s!r}")
        self.max_failures = int(max_failures)
        self.window_s = float(window_s)
        self.lockout_s = float(lockout_s)
        self._clock = clock
        self._failures: deque[float] = deque()
        self._locked_until: float | None = None
        self._wall = wall
        self._state_path = Path(state_path).expanduser() if state_path else None
        self._in_progress: dict | None = None
        # Sessions cut short (counted), whose verdict is not yet in the spool or with the host.
        self._unreported: list[dict] = []
        # `reported` comes from the verdict thread: one snapshot-and-write at a time, so an older
        # snapshot never overwrites a newer one (a session marked in progress meanwhile).
        self._save_lock = threading.Lock()
        self._load()
        self.interrupted: list[dict] = list(self._unreported)  # to report now: {"session_id", "started_at"}

    def begin(self, session_id: str) -> None:
        """A session started: saved as in progress until `record` counts it."""
        self._in_progress = {"session_id": str(session_id), "started_at": self._wall()}
        self._save()

    def record(self, passed: bool) -> None:
        """Count one finished session. Sessions ending while locked do not count again."""
        now = self._clock()
        finished, self._in_progress = self._in_progress, None
        if passed or self._is_locked(now):
            if finished is not None:
                self._save()
            return
        self._failures.append(now)
        self._forget_old(now)
        if len(self._failures) >= self.max_failures:
            self._failures.clear()  # after the lockout the count starts afresh
            if self.lockout_s > 0:
                self._locked_until = now + self.lockout_s
        self._save()

    def reported(self, session_id: str) -> None:
        """The verdict of an interrupted session is in the spool or with the host: its marker goes."""
        with self._save_lock:
            self._unreported = [c for c in self._unreported if str(c.get("session_id")) != str(session_id)]
        self._save()

    def locked(self) -> bool:
        return self._is_locked(self._clock())

    def remaining_lockout(self) -> float:
        """Seconds until the lockout ends; 0.0 when not locked."""
        now = self._clock()
        if not self._is_locked(now) or self._locked_until is None:
            return 0.0
        return max(0.0, self._locked_until - now)

    def failures_in_window(self) -> int:
        self._forget_old(self._clock())
        return len(self._failures)

    def reset(self) -> None:
        """Clear failures and any lockout (e.g. an administrator's action)."""
        self._failures.clear()
        self._locked_until = None
        self._save()

    def _is_locked(self, now: float) -> bool:
        if self._locked_until is None:
            return False
        if now >= self._locked_until:
            self._locked_until = None
            return False
        return True

    def _forget_old(self, now: float) -> None:
        while self._failures and now - self._failures[0] >= self.window_s:
            self._failures.popleft()

    # ------------------------------------------------------------------ persistence
    def _save(self) -> None:
        if self._state_path is None:
            return
        with self._save_lock:
            now, wall = self._clock(), self._wall()
            state = {
                "version": 1,
                "locked_until": None if self._locked_until is None else wall + (self._locked_until - now),
                "failures": [wall - (now - t) for t in list(self._failures)],
                "in_progress": self._in_progress,
                "unreported": list(self._unreported),
            }
            try:
                self._state_path.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(self._state_path, json.dumps(state).encode("utf-8"))
            except OSError as exc:  # disk full, read-only: the limits still hold in memory
                log.warning("cannot save the lockout state to %s: %s", self._state_path, exc)

    def _load(self) -> None:
        if self._state_path is None or not self._state_path.exists():
            return
        try:
            state = json.loads(self._state_path.read_text(encoding="utf-8"))
            locked_until = state.get("locked_until")
            failures = [float(w) for w in state.get("failures", [])]
            locked_until = None if locked_until is None else float(locked_until)
            if not all(math.isfinite(t) for t in [*failures, *([] if locked_until is None else [locked_until])]):
                raise ValueError("times must be finite numbers")
            interrupted = state.get("in_progress")
            if interrupted is not None and not isinstance(interrupted, dict):
                raise ValueError(f"in_progress must be an object, got {interrupted!r}")
            unreported = state.get("unreported", [])
            if not isinstance(unreported, list) or not all(isinstance(c, dict) for c in unreported):
                raise ValueError(f"unreported must be a list of objects, got {unreported!r}")
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable lockout state %s: %s", self._state_path, exc)
            return
        now, wall = self._clock(), self._wall()
        if locked_until is not None:
            left = min(locked_until - wall, self.lockout_s)  # a clock set back cannot lengthen it
            if left > 0:
                self._locked_until = now + left
        # A failure stamped after `wall` is from before a clock set back (a kiosk without a
        # battery clock boots behind until NTP answers): counted as just now, not dropped, which
        # would hand out fresh tries for pulling the plug.
        for age in sorted((max(0.0, wall - w) for w in failures), reverse=True):
            if age < self.window_s:
                self._failures.append(now - age)
        for cut in unreported:  # counted at an earlier start; its verdict never reached the spool
            self._unreported.append(cut)
            log.warning(
                "the verdict of session %s, cut short before an earlier start, was not reported yet: reporting it now",
                cut.get("session_id", "?"),
            )
        if interrupted is not None:
            self._unreported.append(interrupted)
            log.warning(
                "session %s (started at wall time %s) was interrupted by a kill, crash or power "
                "cut: recorded as abandoned and counted as one failure",
                interrupted.get("session_id", "?"),
                interrupted.get("started_at", "?"),
            )
            self.record(False)  # counted now, whatever the clock did while the kiosk was down
            self._save()  # in the file as unreported, not in progress, even when record() did not count it (locked)


@dataclass(frozen=True)
class PinResult:
    accepted: bool
    locked_s: float = 0.0  # > 0: the admin exit is locked for this long (this entry was not checked)
    tries_left: int = 0  # wrong entries left before the lock


class PinGate:
    """The administrator PIN: constant-time comparison, and `max_wrong` wrong entries in a row
    lock it for `lockout_s` seconds (an entry while locked is not even compared). Every attempt
    is logged, never the PIN. The clock is injected (monotonic by default)."""

    def __init__(
        self, pin: str, max_wrong: int = 5, lockout_s: float = 300.0, clock: Callable[[], float] = time.monotonic
    ):
        self._pin = pin.encode("utf-8")
        self.max_wrong = int(max_wrong)
        self.lockout_s = float(lockout_s)
        self._clock = clock
        self._wrong = 0
        self._locked_until: float | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._pin)

    def locked_for(self) -> float:
        """Seconds the admin exit stays locked; 0.0 when it is not."""
        if self._locked_until is None:
            return 0.0
        left = self._locked_until - self._clock()
        if left <= 0:
            self._locked_until = None
            return 0.0
        return left

    def check(self, entered: str) -> PinResult:
        if not self.enabled:
            log.warning("admin PIN entered, but no admin PIN is configured")
            return PinResult(False)
        left = self.locked_for()
        if left > 0:
            log.warning("admin PIN entry refused: locked for %.0f s more", left)
            return PinResult(False, locked_s=left)
        if hmac.compare_digest(entered.encode("utf-8"), self._pin):
            self._wrong = 0
            log.warning("admin PIN accepted: admin exit")
            return PinResult(True)
        self._wrong += 1
        if self._wrong >= self.max_wrong:
            self._wrong = 0
            self._locked_until = self._clock() + self.lockout_s
            log.warning("wrong admin PIN (%d in a row): admin exit locked for %.0f s", self.max_wrong, self.lockout_s)
            return PinResult(False, locked_s=self.lockout_s)
        log.warning("wrong admin PIN (%d of %d before a %.0f s lock)", self._wrong, self.max_wrong, self.lockout_s)
        return PinResult(False, tries_left=self.max_wrong - self._wrong)
