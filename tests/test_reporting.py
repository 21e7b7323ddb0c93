"""A finished session becomes a signed verdict delivered by the configured hook."""

import json
import random

from kiosk.reporting import VerdictReporter
from kiosk.session.catalogue import HEAD_POSE_CHALLENGES
from kiosk.session.clock import ManualClock
from kiosk.session.engine import EngineSettings, SessionEngine, State
from kiosk.session.observation import Observation
from kiosk.verdict import verify

from conftest import make_cfg


def _denied_session():
    clock = ManualClock()
    eng = SessionEngine(EngineSettings.defaults(), HEAD_POSE_CHALLENGES, clock, rng=random.Random(0))
    eng.start()
    for _ in range(25):
        clock.advance(0.04)
        eng.feed(Observation(face=True, faces=1, track_id=1, live=False))
    assert eng.state == State.DENIED
    return eng.last_record


def test_session_verdict_is_signed_delivered_and_tamper_evident(tmp_path):
    out = tmp_path / "verdicts.jsonl"
    cfg = make_cfg(tmp_path, verdict={"hook": f"file:{out}", "device_id": "kiosk-7"})
    reporter = VerdictReporter(cfg, {"liveness": "1.0"})
    try:
        assert reporter.submit(_denied_session()).result(timeout=10) is True
    finally:
        reporter.close()
    line = json.loads(out.read_text().splitlines()[0])
    assert line["verdict"] == "fail" and line["levels_passed"] == 0 and line["device_id"] == "kiosk-7"
    assert line["model_versions"] == {"liveness": "1.0"}
    assert not any("score" in k for k in line)
    assert verify(line, reporter.key)
    line["verdict"] = "pass"
    assert not verify(line, reporter.key)


def test_a_key_folder_that_cannot_be_made_puts_the_kiosk_out_of_service_with_a_reason(tmp_path):
    (tmp_path / "state").write_text("a file where the key's folder should be")
    cfg = make_cfg(tmp_path, verdict={"key_path": str(tmp_path / "state" / "device.key")})
    reporter = VerdictReporter(cfg, {"liveness": "1.0"})  # used to raise NotADirectoryError at start
    try:
        assert reporter.key is None and "device key" in reporter.problem
        assert "cannot create device key" in reporter.key_error
    finally:
        reporter.close()
