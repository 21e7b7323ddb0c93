"""Turns each finished session into a signed verdict for the host system, off the UI thread."""
from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

from .verdict import hook_from_config, load_or_create_device_key, make_record, sign

log = logging.getLogger(__name__)


class VerdictReporter:
    """Signs with the device key and delivers through the configured hook, in order, one at a time
    (a hook can block up to its timeout; failed deliveries are spooled by the hook)."""

    def __init__(self, cfg, model_versions: dict[str, str]):
        key_path = cfg.path(cfg.verdict.key_path)
        self.key = load_or_create_device_key(key_path)  # KeyFileError: the caller reports and exits
        self.hook = hook_from_config({"hook": cfg.verdict.hook, "key_path": str(key_path)})
        self.device_id = cfg.verdict.device_id
        self.model_versions = dict(model_versions)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verdict")

    def record_for(self, session) -> dict:
        """The signed record of a SessionRecord (its times are on the engine's clock)."""
        finished = time.time()
        duration = max(0.0, (session.finished_at or session.started_at) - session.started_at)
        record = make_record(session.session_id, session.result == "passed", session.levels_passed,
                             [c.kind for c in session.challenges], self.model_versions,
                             finished - duration, finished, self.device_id)
        return sign(record, self.key)

    def submit(self, session) -> Future:
        signed = self.record_for(session)
        return self._pool.submit(self._deliver, signed)

    def _deliver(self, signed: dict) -> bool:
        try:
            return self.hook.deliver(signed)
        except Exception:  # delivery must never take the kiosk down
            log.exception("verdict delivery failed")
            return False

    def close(self, timeout_s: float = 10.0) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


class NullReporter:
    """For the self-test and screen reviews: no device key is created, nothing is delivered."""

    def submit(self, session) -> None:
        return None

    def close(self) -> None:
        return None
