"""A finished session becomes a signed verdict delivered by the configured hook."""

import json
import random
from pathlib import Path

from kiosk.reporting import VerdictReporter
from kiosk.session.catalogue import HEAD_POSE_CHALLENGES
from kiosk.session.clock import ManualClock
from kiosk.session.engine import EngineSettings, SessionEngine, State
from kiosk.session.observation import Observation
from kiosk.verdict import load_or_create_device_key, verify

from conftest import make_cfg, shown_kiosk


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


def test_a_session_cut_short_is_reported_once_the_device_key_is_back(app, pipeline, tmp_path):
    # The marker of a session cut by a crash used to go at the next start, before its "fail"
    # verdict was signed: a start that cannot sign (the key missing) or that dies again lost it.
    from kiosk.ratelimit import RateLimiter

    out = tmp_path / "verdicts.jsonl"
    cfg = make_cfg(tmp_path, verdict={"hook": f"file:{out}"})
    key_path, state = tmp_path / "device.key", Path(cfg.security.state_path)
    load_or_create_device_key(key_path)
    saved = key_path.read_bytes()
    RateLimiter(state_path=state).begin("sess-cut")  # the kiosk dies mid-session
    key_path.unlink()  # and starts again without its key: out of service, nothing can be signed
    with shown_kiosk(cfg, pipeline) as k:
        k.reporter.close()
        assert k.reporter.problem
    assert not out.exists()
    key_path.write_bytes(saved)  # the operator restores the key
    key_path.chmod(0o600)
    with shown_kiosk(cfg, pipeline) as k:
        k.reporter.close()  # waits for the delivery
        assert k.controller.engine.limiter.failures_in_window() == 1, "counted once, not at every start"
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["session_id"], r["verdict"]) for r in records] == [("sess-cut", "fail")]
    assert RateLimiter(state_path=state).interrupted == [], "reported once, not at every start"


def test_verdicts_the_host_has_not_got_are_in_the_metrics(tmp_path):
    """An operator alerts on verdicts waiting for the host: the log alone says it to nobody."""
    from kiosk import metrics

    def sample(name, **labels):
        return metrics.REGISTRY.get_sample_value(name, labels or None) or 0.0

    out = tmp_path / "verdicts.jsonl"
    # the host's end cannot be written for now (a folder where the file should be)
    out.mkdir()
    cfg = make_cfg(tmp_path, verdict={"hook": f"file:{out}"})
    reporter = VerdictReporter(cfg, {})
    not_delivered = sample("kiosk_verdicts_total", result="not_delivered")
    delivered = sample("kiosk_verdicts_total", result="delivered")
    try:
        assert reporter.submit(_denied_session()).result(timeout=10) is False
        assert reporter.submit(_denied_session()).result(timeout=10) is False
        assert sample("kiosk_verdicts_waiting") == 2
        assert sample("kiosk_verdicts_total", result="not_delivered") == not_delivered + 2
        metrics.verdicts_waiting.set(0)
        VerdictReporter(cfg, {}).close()  # a restart: the spool's records are counted at once
        assert sample("kiosk_verdicts_waiting") == 2
        out.rmdir()  # the host's end is back: the next verdict takes the waiting ones with it
        assert reporter.submit(_denied_session()).result(timeout=10) is True
        assert sample("kiosk_verdicts_waiting") == 0
        assert sample("kiosk_verdicts_total", result="delivered") == delivered + 1
    finally:
        reporter.close()
    assert len(out.read_text().splitlines()) == 3
