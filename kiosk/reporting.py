"""Turns each finished session into a signed verdict for the host system, off the UI thread."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from . import metrics
from .verdict import (
    KeyFileError,
    VerdictError,
    hook_from_config,
    hook_problems,
    load_or_create_device_key,
    make_record,
    read_nonce,
    sign,
)

log = logging.getLogger(__name__)


class VerdictReporter:
    """Signs with the device key and delivers through the configured hook, in order, one at a time
    (a hook can block up to its timeout; failed deliveries are spooled by the hook).

    Without a usable device key (`problem` says why) nothing can be signed: the kiosk shows
    "out of service" with that reason instead of restarting in a loop or signing with a new key
    the host does not know.
    """

    def __init__(self, cfg: Any, model_versions: dict[str, str]):
        key_path = cfg.path(cfg.verdict.key_path)
        self.problem = ""  # short, for the out-of-service screen the visitor sees
        self.key_error = ""  # the whole story, for the log and the tests
        self.key: bytes | None = None
        try:
            self.key = load_or_create_device_key(key_path)
        except KeyFileError as exc:
            self.key_error = str(exc)
            self.problem = "the device key is missing or unusable (details in the log)"
            log.error("verdicts cannot be signed, out of service: %s", exc)
        self.hook = hook_from_config({"hook": cfg.verdict.hook, "key_path": str(key_path)})
        for problem in hook_problems(cfg.verdict.hook):
            log.warning("%s", problem)
        self._count_waiting()  # records a stop or an outage left in the spool
        self.device_id = cfg.verdict.device_id
        self.valid_s = cfg.verdict.valid_s
        self.nonce_file = cfg.path(cfg.verdict.nonce_file) if cfg.verdict.nonce_file else None
        self.model_versions = dict(model_versions)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verdict")

    def unsigned_record_for(self, session: Any) -> dict:
        """The record of a SessionRecord (its times are on the engine's clock), without a nonce."""
        finished = time.time()
        duration = max(0.0, (session.finished_at or session.started_at) - session.started_at)
        return make_record(
            session.session_id,
            session.result == "passed",
            session.levels_passed,
            [c.kind for c in session.challenges],
            self.model_versions,
            finished - duration,
            finished,
            self.device_id,
            valid_s=self.valid_s,
        )

    def record_for(self, session: Any) -> dict:
        """The signed record of a SessionRecord, carrying the host's nonce if one is waiting."""
        return self._sign(self.unsigned_record_for(session))

    def submit_interrupted(self, cut: dict, on_safe: Callable[[], None] | None = None) -> Future | None:
        """A "fail" record for a session found cut short at start (stop, crash, power cut), so the
        host hears of every session that began. `cut` is the rate limiter's marker:
        {"session_id", "started_at" (wall-clock epoch seconds)}. `on_safe` is called once the
        record is with the host or in the spool (not when it could not be signed, or only memory
        holds it), so the marker can go: until then a restart reports it again."""
        try:
            started = float(cut.get("started_at", 0.0))
            record = make_record(
                str(cut.get("session_id", "")),
                False,
                0,
                [],
                self.model_versions,
                started,
                max(time.time(), started),
                self.device_id,
                valid_s=self.valid_s,
            )
        except (VerdictError, TypeError, ValueError, AttributeError) as exc:
            log.error("interrupted session %r cannot be reported (its marker is dropped): %s", cut, exc)
            if on_safe is not None:  # no later start could report it either
                on_safe()
            return None
        return self._pool.submit(self._sign_and_deliver, record, on_safe)

    def _sign(self, record: dict) -> dict:
        if self.key is None:
            raise KeyFileError(self.key_error)
        nonce = read_nonce(self.nonce_file) if self.nonce_file else None
        if nonce is not None:
            record = {**record, "nonce": nonce}
        return sign(record, self.key)

    def submit(self, session: Any) -> Future:
        record = self.unsigned_record_for(session)  # the finish time is now, not when the worker gets to it
        return self._pool.submit(self._sign_and_deliver, record)

    def _sign_and_deliver(self, record: dict, on_safe: Callable[[], None] | None = None) -> bool:
        try:
            signed = self._sign(record)
        except Exception:
            log.exception("verdict for session %s could not be signed", record.get("session_id"))
            metrics.verdicts.labels(result="unsigned").inc()
            return False
        try:
            delivered = self.hook.deliver(signed)
        except Exception:  # delivery must never take the kiosk down
            log.exception("verdict delivery failed")
            metrics.verdicts.labels(result="not_delivered").inc()
            return False
        finally:
            self._count_waiting()
        metrics.verdicts.labels(result="delivered" if delivered else "not_delivered").inc()
        if on_safe is not None and str(record.get("session_id")) not in self.hook.held_in_memory():
            try:
                on_safe()
            except Exception:
                log.exception("could not clear the marker of session %s", record.get("session_id"))
        return delivered

    def _count_waiting(self) -> None:
        try:
            metrics.verdicts_waiting.set(self.hook.pending())
        except OSError as exc:  # an unreadable spool: its own error is logged by the delivery
            log.debug("cannot count the waiting verdicts: %s", exc)

    def close(self, timeout_s: float = 10.0) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
        lost = self.hook.held_in_memory()
        if lost:  # the disk stayed full until the end: say exactly which verdicts go with the process
            log.error(
                "stopping with %d verdict(s) that could not be delivered or spooled (disk full?): sessions %s",
                len(lost),
                ", ".join(lost),
            )


class NullReporter:
    """For the self-test and screen reviews: no device key is created, nothing is delivered."""

    problem = ""

    def submit(self, session: Any) -> None:
        return None

    def submit_interrupted(self, cut: dict, on_safe: Callable[[], None] | None = None) -> None:
        return None  # on_safe is not called: the marker stays for the kiosk that reports it

    def close(self) -> None:
        return None
