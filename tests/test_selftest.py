"""The self-test's screen check: each file shows the screen it is named after, and a screen that
shows the wrong page (what the controller's refresh timer used to cause) is reported."""

import dataclasses

import pytest

from kiosk.reporting import NullReporter

from conftest import shown_kiosk


@pytest.fixture(scope="module")
def pipeline(cfg):
    from kiosk.vision.pipeline import VisionPipeline

    p = VisionPipeline(cfg)
    yield p
    p.close()


def test_every_screen_is_saved_under_its_own_name(cfg, pipeline, tmp_path):
    from kiosk.selftest import render_and_check

    with shown_kiosk(cfg, pipeline, reporter=NullReporter()) as k:
        k.controller.timer.stop()
        assert render_and_check(k.window, tmp_path) == []
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(
        ["attract", "welcome", "liveness", "challenge", "passed", "denied", "camera", "locked"]
    )


def test_a_screen_showing_the_attract_page_is_reported(cfg, pipeline, tmp_path, monkeypatch):
    from kiosk import selftest
    from kiosk.ui import gallery

    real = gallery.scenes

    def attract_instead_of_camera(window):
        return [
            dataclasses.replace(s, show=lambda: window.show_screen(window.attract)) if s.name == "camera" else s
            for s in real(window)
        ]

    monkeypatch.setattr(gallery, "scenes", attract_instead_of_camera)
    with shown_kiosk(cfg, pipeline, reporter=NullReporter()) as k:
        k.controller.timer.stop()
        problems = selftest.render_and_check(k.window, tmp_path)
    assert problems and all(p.startswith("screen camera:") for p in problems)
    assert any("AttractScreen shown instead of MessageScreen" in p for p in problems)
    assert any("the same picture as attract" in p for p in problems)


def test_the_self_test_leaves_the_kiosks_lockout_state_alone(tmp_path, capsys):
    """An operator runs the installed kiosk's self-test beside the running service: it must not
    read the service's running session as one cut by a crash (a failure counted, a "fail"
    verdict owed for a session that is still going) nor write to its lockout state at all."""
    import json
    import time

    from kiosk.selftest import self_test

    from conftest import make_cfg

    cfg = make_cfg(tmp_path)
    state = cfg.path(cfg.security.state_path)
    running = {"session_id": "s-running", "started_at": time.time() - 5}
    state.write_text(json.dumps({"version": 1, "locked_until": None, "failures": [], "in_progress": running}))
    before = state.read_bytes()
    self_test(cfg, str(tmp_path / "screens"))
    capsys.readouterr()
    assert state.read_bytes() == before
