"""The one fallback loop of the speech layer: try candidates in order, keep the first answer.

Speech out (Azure, its cache, espeak-ng) and speech in (Azure, pocketsphinx) both run it, so
back-off, skipping and error reporting behave the same for both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .transport import Backoff

T = TypeVar("T")
log = logging.getLogger(__name__)


class Skip(Exception):
    """The candidate cannot serve this request (no voice for the language, no time left):
    the next one is tried, and the engine is not counted as failing."""


@dataclass(frozen=True)
class Candidate(Generic[T]):
    name: str  # the engine's name: back-off key and log label
    run: Callable[[], T]
    tracked: bool = True  # failures and slow answers count toward back-off
    slow_after_s: float | None = None  # an answer taking longer than this backs the engine off


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T
    name: str
    failures: tuple[str, ...]  # why the candidates before it were not used


class AllFailed(Exception):
    def __init__(self, failures: list[str]):
        super().__init__("; ".join(failures) or "no candidate")
        self.failures = tuple(failures)


def first_success(
    candidates: Iterable[Candidate[T]], backoff: Backoff, clock: Callable[[], float] = time.monotonic
) -> Outcome[T]:
    """The first candidate that answers. Candidates may be a generator: each is built only
    when the ones before it have failed (so it can take the time that is left then).

    A tracked candidate that is backing off is passed over; one that raises is backed off;
    one that answers is marked up, unless its answer was slow (then it is used, and backed
    off). Raises AllFailed with every reason when none answered.
    """
    failures: list[str] = []
    for candidate in candidates:
        if candidate.tracked and backoff.is_down(candidate.name):
            failures.append(f"{candidate.name}: backing off")
            continue
        started = clock()
        try:
            value = candidate.run()
        except Skip as exc:
            failures.append(f"{candidate.name}: {exc}")
            continue
        except Exception as exc:  # any engine failure means: fall back now
            if candidate.tracked:
                backoff.mark_down(candidate.name)
            failures.append(f"{candidate.name}: {exc}")
            continue
        took = clock() - started
        if candidate.tracked and backoff.answered(candidate.name, took, candidate.slow_after_s):
            log.warning(
                "speech: %s answered in %.2f s (slow): backing off for %.0f s", candidate.name, took, backoff.backoff_s
            )
        return Outcome(value, candidate.name, tuple(failures))
    raise AllFailed(failures)


__all__ = ["AllFailed", "Candidate", "Outcome", "Skip", "first_success"]
