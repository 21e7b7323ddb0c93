"""The admin exit on the real window: Ctrl+Alt+A, the PIN, Enter; wrong PINs are answered on
screen and five of them lock the exit for five minutes (on the engine's injected clock)."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from kiosk.reporting import NullReporter
from kiosk.session.clock import ManualClock

from conftest import make_cfg, shown_kiosk

PIN = "271828"


@pytest.fixture(scope="module")
def pipeline(cfg):
    from kiosk.vision.pipeline import VisionPipeline

    p = VisionPipeline(cfg)
    yield p
    p.close()


def enter(window, digits: str) -> None:
    QTest.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    QTest.keyClicks(window, digits)
    QTest.keyClick(window, Qt.Key.Key_Return)


def test_wrong_pins_lock_the_admin_exit_with_feedback(state_dir, pipeline, caplog):
    clock = ManualClock()
    cfg = make_cfg(state_dir, ui={"admin_pin": PIN, "allow_exit": False})
    with shown_kiosk(cfg, pipeline, clock=clock, reporter=NullReporter()) as k:
        w = k.window
        quits = []
        k.controller.quit_requested.connect(lambda: quits.append(1))
        QTest.keyClick(w, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        QTest.keyClicks(w, "271")
        assert w.caption.text() == "Admin PIN: ●●●", "dots, never the digits"
        QTest.keyClick(w, Qt.Key.Key_Escape)  # leaves the entry, does not exit
        assert quits == []
        for n in range(4):
            enter(w, "000000")
            assert w.caption.text() == f"Wrong PIN. {4 - n} tries left before the admin exit locks."
        enter(w, "999999")
        assert w.caption.text() == "Too many wrong PINs. The admin exit is locked for 5 min."
        enter(w, PIN)
        assert quits == [], "locked: even the right PIN is refused"
        assert "locked for" in w.caption.text()
        clock.advance(301)
        enter(w, PIN)
        assert quits == [1]
    assert PIN not in caplog.text and "000000" not in caplog.text
    assert "wrong admin PIN" in caplog.text and "admin PIN accepted" in caplog.text
