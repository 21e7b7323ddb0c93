"""Keeps the C heap from creeping up over months of sessions (glibc only; elsewhere a no-op).

Measured with benchmarks/soak_ui.py --memprobe: over whole sessions the memory the kiosk's
native parts (Qt, MediaPipe, TFLite, the audio stack) hold in use stays flat, but the memory
glibc keeps after they free it grows, because every thread that allocates may get an arena of
its own (up to 8 per core) and a freed hole in one arena is of no use to a thread in another.
Two remedies, both standard: cap the number of arenas before the threads start, and hand the
free pages back to the system after each session (malloc_trim).
"""

from __future__ import annotations

import ctypes
import logging
import os
import time
from typing import Any

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt() parameter number
ARENA_MAX = 2  # the common setting for long-running, many-threaded services


def _glibc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()


def limit_arenas(arenas: int = ARENA_MAX) -> bool:
    """Cap glibc's malloc arenas; call before the threads start (arenas made earlier stay).
    An operator's MALLOC_ARENA_MAX in the environment wins. True when the cap was set here."""
    if _LIBC is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(_LIBC.mallopt(M_ARENA_MAX, arenas))


def release_free_heap() -> float:
    """Give the heap's free pages back to the system; the seconds it took (0 without glibc)."""
    if _LIBC is None:
        return 0.0
    t0 = time.perf_counter()
    _LIBC.malloc_trim(0)
    took = time.perf_counter() - t0
    log.debug("malloc_trim took %.1f ms", took * 1000)
    return took
