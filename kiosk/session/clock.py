"""Clocks the session engine reads time from (injected, so tests and recorded video control time)."""

from __future__ import annotations

import time


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told: tests, and headless runs where time is frame index / fps."""

    def __init__(self, start: float = 0.0):
        self._t = float(start)

    def now(self) -> float:
        return self._t

    def set(self, t: float) -> None:
        if t < self._t:
            raise ValueError("time cannot go backwards")
        self._t = float(t)

    def advance(self, seconds: float) -> None:
        self.set(self._t + seconds)
