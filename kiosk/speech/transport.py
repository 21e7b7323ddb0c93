"""How the speech layer reaches Azure: the deadline-bound POST of `kiosk.net` with the speech
layer's user agent, and the back-off that remembers a failing or slow service.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from ..net import MAX_BODY_BYTES, Deadline, Response
from ..net import TransportError as SpeechTransportError
from ..net import TransportTimeout as SpeechTimeout
from ..net import post as _post

USER_AGENT = "kiosk-speech"


def post(
    url: str, headers: Mapping[str, str], body: bytes, timeout_s: float, max_body: int = MAX_BODY_BYTES
) -> Response:
    """`kiosk.net.post` as the speech layer's client (raises SpeechTimeout / SpeechTransportError)."""
    return _post(url, headers, body, timeout_s, max_body, user_agent=USER_AGENT)


class Backoff:
    """Remembers that an engine failed, or answered so slowly that the next prompt would
    probably wait as long, so that the kiosk does not wait on it again for every prompt."""

    def __init__(self, backoff_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.backoff_s = backoff_s
        self.clock = clock
        self._down_until: dict[str, float] = {}
        # Engines that failed and have not answered since: an outage outlasts its back-offs,
        # so that it is reported when it starts and when it ends, not at every retry.
        self._failing: set[str] = set()
        self._lock = threading.Lock()

    def is_down(self, name: str) -> bool:
        with self._lock:
            return self.clock() < self._down_until.get(name, float("-inf"))

    def mark_down(self, name: str) -> bool:
        """Back ``name`` off; True when this starts an outage (it had answered until now)."""
        with self._lock:
            self._down_until[name] = self.clock() + self.backoff_s
            started = name not in self._failing
            self._failing.add(name)
            return started

    def mark_up(self, name: str) -> bool:
        """``name`` answered; True when this ends an outage."""
        with self._lock:
            self._down_until.pop(name, None)
            ended = name in self._failing
            self._failing.discard(name)
            return ended

    def failing(self, name: str) -> bool:
        with self._lock:
            return name in self._failing

    def answered(self, name: str, took_s: float, slow_after_s: float | None) -> bool:
        """Record an answer; True (and backing off) when it took longer than ``slow_after_s``.
        Any answer, slow or not, ends an outage."""
        slow = slow_after_s is not None and took_s > slow_after_s
        with self._lock:
            self._failing.discard(name)
            if slow:
                self._down_until[name] = self.clock() + self.backoff_s
            else:
                self._down_until.pop(name, None)
        return slow


# An answer that used more than this share of its timeout nearly missed it: the next request
# would likely wait the whole timeout and then fall back anyway, so the engine backs off.
SLOW_SHARE = 0.75


__all__ = [
    "MAX_BODY_BYTES",
    "SLOW_SHARE",
    "USER_AGENT",
    "Backoff",
    "Deadline",
    "Response",
    "SpeechTimeout",
    "SpeechTransportError",
    "post",
]
