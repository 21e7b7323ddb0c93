"""Clock faults: the wall clock jumps (NTP step, an admin setting the date, a dead RTC battery
at boot) while people use the kiosk. Session timers, heartbeats and the watchdog run on the
monotonic clock, so whole sessions still finish with sane durations and the watchdog is fed
throughout. Real Qt offscreen, the real pipeline and worker thread, a photo for a camera."""

from __future__ import annotations

import time

import pytest
from fault_harness import ListReporter, NotifySocket, face_folder, serve_with, session_cfg

from kiosk.health import Health, Heartbeats
from kiosk.session.engine import State
from kiosk.ui.controller import CaptionOnlySpeaker
from kiosk.vision.pipeline import VisionPipeline
from kiosk.watchdog import Watchdog

DAY = 86_400.0


@pytest.fixture(scope="module")
def app():
    from kiosk.ui.app import qt_app

    return qt_app()


class JumpingWallClock:
    """time.time with an offset that the test moves: forward a day, then back two."""

    def __init__(self):
        self.real = time.time
        self.offset = 0.0

    def __call__(self) -> float:
        return self.real() + self.offset


def test_wall_clock_jumps_during_sessions_do_not_break_them(app, state_dir, tmp_path, photos, monkeypatch):
    from kiosk.ui.app import build_kiosk

    wall = JumpingWallClock()
    monkeypatch.setattr(time, "time", wall)
    cfg = session_cfg(state_dir, liveness={"timeout_s": 5.0})
    reporter = ListReporter()
    health = Health()
    kiosk = build_kiosk(
        cfg,
        source=str(face_folder(tmp_path, photos)),
        pipeline=VisionPipeline(cfg),
        speaker=CaptionOnlySpeaker(),
        reporter=reporter,
        health=health,
    )
    notify = NotifySocket(tmp_path)
    seen: dict = {"jumps": []}

    def step(quit):
        notify.drain()
        state = kiosk.controller.engine.state
        if state == State.LIVENESS and not seen["jumps"]:
            wall.offset += DAY  # forward a day in level 1
            seen["jumps"].append(("forward", time.monotonic()))
        elif (
            state in (State.LIVENESS, State.CHALLENGE)
            and len(seen["jumps"]) == 1
            and time.monotonic() - seen["jumps"][0][1] > 0.5
        ):
            wall.offset -= 2 * DAY  # back two days, still in the same session
            seen["jumps"].append(("back", time.monotonic()))
        seen.setdefault("unhealthy", 0)
        seen["unhealthy"] += not health.healthy()
        if len(reporter.records) >= 2:  # the jumped session and the next one both finished
            quit(0)

    try:
        code = serve_with(kiosk, step, timeout_s=120, watchdog=Watchdog(env=notify.env), health_interval_ms=50)
        pings_after_jump = notify.pings(since=seen["jumps"][0][1]) if seen["jumps"] else 0
    finally:
        notify.close()
    assert code == 0, seen
    assert [j for j, _ in seen["jumps"]] == ["forward", "back"], "both jumps happened mid-session"
    first = reporter.records[0]
    # The session ran to a verdict through both jumps: no timeout fired, none was skipped.
    assert first.result in ("passed", "denied"), (first.result, first.reason)
    # A timer on the wall clock would have fired at once (+1 day) or never (-2 days); the level 1
    # timeout (5 s here) fires on time, and durations come from the monotonic clock.
    if first.reason == "liveness_timeout":
        assert 4.5 <= first.liveness_seconds or 4.5 <= first.to_dict()["duration_s"]
    assert 0.0 < first.to_dict()["duration_s"] < 60.0
    assert all(r.result in ("passed", "denied") for r in reporter.records[:2])
    assert seen["unhealthy"] == 0 and pings_after_jump > 0, "the watchdog was fed throughout"


def test_heartbeats_age_on_the_monotonic_clock_only(monkeypatch):
    beats = Heartbeats()
    beats.expect("engine", 5.0)
    beats.beat("engine")
    wall = JumpingWallClock()
    monkeypatch.setattr(time, "time", wall)
    wall.offset = 365 * DAY  # a year ahead: nothing may look stale
    assert beats.stale() == []
    wall.offset = -365 * DAY  # a year back
    assert beats.stale() == [] and beats.ages()["engine"] < 5.0
