"""Lock the kiosk after repeated failed sessions (brute-force / attack-iteration defence).

After `max_failures` failed sessions within `window_s` seconds the kiosk locks for `lockout_s`
seconds, as commercial liveness services advise. A passed session does not erase earlier
failures: one success must not launder an attacker's failed tries. The clock is injected
(monotonic by default) so wall-clock changes cannot shorten a lockout and tests need no sleep.

With a `state_path`, failures and a running lockout are saved (wall-clock times, written
atomically, mode 0600) and reloaded at start, so pulling the plug or crashing the process does not
clear a lockout. A reloaded lockout never lasts longer than `lockout_s` from now, whatever the wall
clock did meanwhile; an unreadable or unwritable file is logged and the kiosk goes on without it.
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, max_failures: int = 5, window_s: float = 180.0, lockout_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, state_path: str | Path | None = None,
                 wall: Callable[[], float] = time.time):
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
        self._load()

    def record(self, passed: bool) -> None:
        """Count one finished session. Sessions ending while locked do not count again."""
        now = self._clock()
        if passed or self._is_locked(now):
            return
        self._failures.append(now)
        self._forget_old(now)
        if len(self._failures) >= self.max_failures:
            self._failures.clear()  # after the lockout the count starts afresh
            if self.lockout_s > 0:
                self._locked_until = now + self.lockout_s
        self._save()

    def locked(self) -> bool:
        return self._is_locked(self._clock())

    def remaining_lockout(self) -> float:
        """Seconds until the lockout ends; 0.0 when not locked."""
        now = self._clock()
        return max(0.0, self._locked_until - now) if self._is_locked(now) else 0.0

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
        now, wall = self._clock(), self._wall()
        state = {"version": 1,
                 "locked_until": None if self._locked_until is None else wall + (self._locked_until - now),
                 "failures": [wall - (now - t) for t in self._failures]}
        tmp = self._state_path.with_name(self._state_path.name + ".tmp")
        try:
            self._state_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(state, f)
            os.replace(tmp, self._state_path)
        except OSError as exc:
            log.warning("cannot save the lockout state to %s: %s", self._state_path, exc)

    def _load(self) -> None:
        if self._state_path is None or not self._state_path.exists():
            return
        try:
            state = json.loads(self._state_path.read_text(encoding="utf-8"))
            locked_until = state.get("locked_until")
            failures = [float(w) for w in state.get("failures", [])]
            locked_until = None if locked_until is None else float(locked_until)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable lockout state %s: %s", self._state_path, exc)
            return
        now, wall = self._clock(), self._wall()
        if locked_until is not None:
            left = min(locked_until - wall, self.lockout_s)  # a clock set back cannot lengthen it
            if left > 0:
                self._locked_until = now + left
        for age in sorted((wall - w for w in failures), reverse=True):
            if 0 <= age < self.window_s:
                self._failures.append(now - age)
