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

from .. import metrics
from .transport import Backoff, SpeechTimeout

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

    An engine's outage is logged once when it starts and once when it ends; each request
    a later candidate served counts the tracked ones passed over in kiosk_speech_fallbacks.
    """
    failures: list[str] = []
    passed_over: list[tuple[str, str]] = []  # (tracked engine, why): what this request fell back from
    for candidate in candidates:
        if candidate.tracked and backoff.is_down(candidate.name):
            failures.append(f"{candidate.name}: backing off")
            passed_over.append((candidate.name, "backoff"))
            continue
        started = clock()
        try:
            value = candidate.run()
        except Skip as exc:
            failures.append(f"{candidate.name}: {exc}")
            if candidate.tracked:
                passed_over.append((candidate.name, "skipped"))
            continue
        except Exception as exc:  # any engine failure means: fall back now
            failures.append(f"{candidate.name}: {exc}")
            if candidate.tracked:
                passed_over.append((candidate.name, _reason(exc)))
                # An outage is logged when it starts; its retries every back-off would
                # otherwise repeat the same warning for as long as it lasts.
                if backoff.mark_down(candidate.name):
                    log.warning(
                        "speech: %s failed (%s): the next engine serves until it answers again (retried every %.0f s)",
                        candidate.name,
                        exc,
                        backoff.backoff_s,
                    )
                else:
                    log.debug("speech: %s still failing: %s", candidate.name, exc)
            continue
        took = clock() - started
        if candidate.tracked:
            recovered = backoff.failing(candidate.name)
            if backoff.answered(candidate.name, took, candidate.slow_after_s):
                log.warning(
                    "speech: %s answered in %.2f s (slow): backing off for %.0f s",
                    candidate.name,
                    took,
                    backoff.backoff_s,
                )
            elif recovered:
                log.info("speech: %s answers again", candidate.name)
        for name, reason in passed_over:  # the operator's view of how often the next engine stood in
            metrics.speech_fallbacks.labels(engine=name, reason=reason).inc()
        return Outcome(value, candidate.name, tuple(failures))
    raise AllFailed(failures)


def _reason(exc: BaseException) -> str:
    """'timeout' when a deadline ran out anywhere in the exception's chain, else 'error'."""
    link: BaseException | None = exc
    seen: set[int] = set()
    while link is not None and id(link) not in seen:  # a chain can be made to loop
        if isinstance(link, SpeechTimeout):
            return "timeout"
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return "error"


__all__ = ["AllFailed", "Candidate", "Outcome", "Skip", "first_success"]
