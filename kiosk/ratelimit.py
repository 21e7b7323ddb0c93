"""Lock the kiosk after repeated failed sessions (brute-force / attack-iteration defence).

After `max_failures` failed sessions within `window_s` seconds the kiosk locks for `lockout_s`
seconds, as commercial liveness services advise. A passed session does not erase earlier
failures: one success must not launder an attacker's failed tries. The clock is injected
(monotonic by default) so wall-clock changes cannot shorten a lockout and tests need no sleep.

Not persisted: a process restart clears the state. The kiosk runs under systemd and offers no
exit to the user, so a restart is not something an attacker at the screen can trigger.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Callable


class RateLimiter:
    def __init__(self, max_failures: int = 5, window_s: float = 180.0, lockout_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
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
