"""Real Qt widgets offscreen: the camera worker in its thread, every screen, keys and the lock-down.
A screenshot of each screen is saved in tests/_screenshots/."""

import random

import cv2
import pytest
from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

from kiosk.session.clock import ManualClock
from kiosk.session.engine import State
from kiosk.session.observation import Observation
from kiosk.ui import strings as S
from kiosk.vision.sources import SourceError, open_source

from conftest import shown_kiosk, wait_until


def spin(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def settle(window, rounds=10) -> None:
    """Let Qt finish laying out: word-wrapped labels need a pass per width change, and a loaded
    machine may not get through them in a fixed few milliseconds."""

    def geometry():
        return [w.geometry().getRect() for w in window.findChildren(QWidget) if w.isVisible()]

    before = None
    for _ in range(rounds):
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        now = geometry()
        if now == before:
            return
        before = now


def test_worker_thread_emits_observations_and_stops_cleanly(app, cfg, photos):
    from kiosk.ui.worker import CameraWorker, WorkerThread
    from kiosk.vision.pipeline import VisionPipeline

    # The worker builds its pipeline in its own thread and closes it when it stops.
    worker = CameraWorker(lambda: open_source(str(photos), fps=25, loop=True), lambda: VisionPipeline(cfg), fps=25)
    got, frames = [], []
    worker.observed.connect(got.append)
    worker.frame.connect(frames.append)
    thread = WorkerThread(worker)
    thread.start()
    try:
        assert wait_until(lambda: len(got) >= 8)
        assert any(o.face for o in got), "the photos hold faces"
        assert frames and frames[0].width() > 0
        assert thread.thread.isRunning()
    finally:
        assert thread.shutdown(), "quit() + wait() must return"
    assert not thread.thread.isRunning()


def test_worker_reports_a_lost_camera_and_recovers(app, cfg, photos):
    from kiosk.ui.worker import CameraWorker, WorkerThread
    from kiosk.vision.pipeline import VisionPipeline

    state = {"plugged": False}

    def factory():
        if not state["plugged"]:
            raise SourceError("camera 0 is not available")
        return open_source(str(photos), loop=True)

    worker = CameraWorker(factory, lambda: VisionPipeline(cfg), fps=25, reconnect_s=0.2)
    events = []
    worker.camera_lost.connect(lambda r: events.append(("lost", r)))
    worker.camera_ok.connect(lambda: events.append(("ok", "")))
    thread = WorkerThread(worker)
    thread.start()
    try:
        assert wait_until(lambda: events[:1] == [("lost", "camera 0 is not available")])
        state["plugged"] = True
        assert wait_until(lambda: ("ok", "") in events)
    finally:
        assert thread.shutdown()


@pytest.fixture()
def kiosk(app, cfg, pipeline):
    with shown_kiosk(cfg, pipeline, rng=random.Random(4)) as k:
        yield k


def shot(k, directory, name):
    spin(30)
    img = k.window.grab()
    path = directory / f"{name}.png"
    assert img.save(str(path)) and path.stat().st_size > 1000
    return path


def face(**kw):
    return Observation(**{"face": True, "faces": 1, "track_id": 1, "live": True, "head_pose": (0.0, 0.0, 0.0), **kw})


def test_every_screen_renders(kiosk, screenshot_dir):
    k, c = kiosk, kiosk.controller
    w = k.window
    if c.model_problem:  # the liveness model is not shipped: that screen first
        c.refresh()
        assert w.stack.currentWidget() is w.message
        assert "liveness" in w.message.detail.text()
        shot(k, screenshot_dir, "out_of_service")
        c.model_problem = ""  # from here on the screens are driven by hand-made observations
    clock = c.engine.clock
    c.refresh()
    assert w.stack.currentWidget() is w.attract
    shot(k, screenshot_dir, "attract")

    clock.advance(0.04)
    c.on_observation(face())
    assert w.stack.currentWidget() is w.welcome
    shot(k, screenshot_dir, "welcome")

    QTest.keyClick(w, Qt.Key.Key_S)
    assert c.engine.state == State.LIVENESS and w.stack.currentWidget() is w.session
    import numpy as np

    from kiosk.ui.worker import to_qimage

    frame = np.zeros((480, 640, 3), np.uint8)
    cv2.circle(frame, (320, 220), 120, (140, 170, 210), -1)  # stands in for the mirror view
    w.session.camera.show_frame(to_qimage(frame))
    for _ in range(40):
        clock.advance(0.04)
        c.on_observation(face())
    assert w.session.progress.value() == 40
    shot(k, screenshot_dir, "liveness")

    for _ in range(60):
        clock.advance(0.04)
        c.on_observation(face())
    assert c.engine.state == State.CHALLENGE
    ch = c.engine.view().challenge
    assert w.session.icon.text() == ch.icon and w.session.title.text() == ch.text
    shot(k, screenshot_dir, "challenge")

    pose = {"left": (30, 0, 0), "right": (-30, 0, 0), "up": (0, 25, 0), "down": (0, -25, 0)}
    if ch.kind == "head_pose":
        for _ in range(10):
            clock.advance(0.04)
            c.on_observation(face(head_pose=pose[ch.target]))
        assert w.session.detected.text() and w.session.progress.value() == 10
        shot(k, screenshot_dir, "challenge_detected")

    QTest.keyClick(w, Qt.Key.Key_C)  # asks first
    assert c.engine.state == State.CHALLENGE and "Press C again" in w.session.detail.text()
    shot(k, screenshot_dir, "cancel_question")
    QTest.keyClick(w, Qt.Key.Key_C)
    assert c.engine.state == State.IDLE
    c.handle_command("start")
    assert c.engine.state == State.WELCOME, "Start on the attract screen opens the choices"
    c.handle_command("start")
    for _ in range(25):
        clock.advance(0.04)
        c.on_observation(face(live=False))
    assert c.engine.state == State.DENIED and w.stack.currentWidget() is w.result
    assert w.result.icon.text() == "❌"
    shot(k, screenshot_dir, "denied")

    c.engine._enter_idle()
    c.handle_command("start")
    c.handle_command("start")
    for _ in range(100):
        clock.advance(0.04)
        c.on_observation(face())
    shown: dict[tuple[int, str], int] = {}
    while c.engine.state == State.CHALLENGE:
        v = c.engine.view()
        clock.advance(0.04)
        step = (v.index, v.challenge.id)
        shown[step] = shown.get(step, 0) + 1
        if shown[step] <= 5:  # a person first reacts to the prompt: seen not doing it yet
            obs = face(gesture="none", emotion="neutral", emotion_margin=0.9)
        else:
            obs = face(
                head_pose=pose.get(v.challenge.target, (0, 0, 0)),
                gesture=v.challenge.target,
                emotion=v.challenge.target,
                emotion_margin=0.9,
            )
        c.on_observation(obs)
    assert c.engine.state == State.PASSED and w.result.icon.text() == "✅"
    shot(k, screenshot_dir, "passed")

    c.on_camera_lost("camera 0 is not available")
    assert w.stack.currentWidget() is w.message and "📷" in w.message.icon.text()
    shot(k, screenshot_dir, "camera_missing")
    c.on_camera_ok()
    assert w.stack.currentWidget() is w.result


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_screen_fits_1280x800_and_nothing_is_squeezed(app, state_dir, pipeline, screenshot_dir, language):
    """At 1280x800, in English and in German: the window is not forced wider or taller than the
    screen, the welcome screen's profile buttons show their whole labels, and on level 1 and for
    every challenge the kiosk can draw no text is cut and the emoji is drawn whole (a squeezed
    QLabel used to clip its top and bottom; German labels used to force a 1886 px wide window)."""
    from kiosk.reporting import NullReporter
    from kiosk.session.catalogue import every_challenge
    from kiosk.session.engine import SessionView

    from conftest import make_cfg

    with shown_kiosk(make_cfg(state_dir, ui={"language": language}), pipeline, reporter=NullReporter()) as k:
        k.controller.model_problem = ""
        k.controller.refresh()
        k.controller.on_observation(face())
        assert k.window.stack.currentWidget() is k.window.welcome
        settle(k.window)
        assert (k.window.width(), k.window.height()) == (1280, 800)
        welcome = k.window.welcome
        for b in [*welcome.profile_buttons.values(), welcome.start_button]:
            if b.isVisible():
                assert b.width() >= b.sizeHint().width(), f"{language}: {b.text()!r} cut"
                assert b.height() >= b.sizeHint().height(), f"{language}: {b.text()!r} squeezed"
        for w in (welcome.title, welcome.detail):
            assert w.height() >= w.heightForWidth(w.width()), f"{language}: {w.text()!r} squeezed"
        shot(k, screenshot_dir, f"welcome_{language}")

        # the questions that can be asked here, with their answers as buttons as large as the others
        from kiosk.commands import Command
        from kiosk.ui.screens import touch_px

        q = k.window.question
        for ask, name in (
            (lambda: QTest.keyClick(k.window, Qt.Key.Key_C), "cancel"),
            (lambda: k.controller._voice_command(Command.VOICE_OFF), "voice_off"),
        ):
            ask()
            settle(k.window)
            assert k.window.stack.currentWidget() is q, name
            assert (k.window.width(), k.window.height()) == (1280, 800), name
            for w in (q.title, q.detail):
                assert w.height() >= w.heightForWidth(w.width()), f"{language} {name}?: {w.text()!r} squeezed"
            for b in (q.no_button, q.yes_button):
                assert b.isVisible() and b.width() >= b.sizeHint().width(), f"{language}: {b.text()!r} cut"
                assert b.height() >= b.sizeHint().height(), f"{language}: {b.text()!r} squeezed"
                assert b.height() >= touch_px(b) and b.height() >= welcome.start_button.height()
            assert q.icon.glyph_px() >= 64, f"{language} {name}?: icon drawn at {q.icon.glyph_px()} px"
            shot(k, screenshot_dir, f"{name}_question_welcome_{language}")
            QTest.keyClick(k.window, Qt.Key.Key_N)
            assert k.window.stack.currentWidget() is welcome

        s = k.window.session
        QTest.keyClick(k.window, Qt.Key.Key_Space)
        assert k.window.stack.currentWidget() is s
        views = [SessionView(State.LIVENESS, streak=40, needed=100, time_left=39.0)]
        pool = every_challenge()
        views += [
            SessionView(
                State.CHALLENGE,
                challenge=c,
                index=7,
                total=7,
                streak=10,
                needed=25,
                time_left=9.0,
                attempts_left=3,
                detected=True,
                extensions_left=1,
            )
            for c in pool
        ]
        for v in views:
            s.show_view(v)
            settle(k.window)
            where = f"{language} {v.challenge.id if v.challenge else 'liveness'}"
            assert (k.window.width(), k.window.height()) == (1280, 800), where
            for w in (s.step, s.title, s.detail):  # text is never cut
                if w.isVisible():
                    assert w.height() >= w.heightForWidth(w.width()), f"{where}: {w.objectName()} squeezed"
            for w in (s.countdown, s.progress_text, s.detected, s.more_button, s.cancel_button):
                if w.isVisible():
                    assert w.width() >= w.sizeHint().width(), f"{where}: {w.objectName()} cut"
            # the icon may shrink to half its styled size, and draws a glyph that fits its height
            assert s.icon.height() >= s.icon.minimumSizeHint().height(), f"{where}: icon {s.icon.height()} px"
            font = QFont(s.icon.font())
            font.setPixelSize(s.icon.glyph_px())
            assert QFontMetrics(font).height() <= s.icon.height(), where
            assert s.icon.glyph_px() >= 64, f"{where}: icon drawn at {s.icon.glyph_px()} px (2x body text)"
            if v.challenge is not None and v.challenge.id == "head_pose:left":  # a two-line title
                shot(k, screenshot_dir, f"challenge_detected_{language}")

        # the longest texts: help (full width, keys included), the cancel question, capture and gesture hints
        c = k.controller
        c.handle_command("help")
        settle(k.window)
        m = k.window.message
        assert k.window.stack.currentWidget() is m
        for w in (m.title, m.detail):
            assert w.height() >= w.heightForWidth(w.width()), f"{language} help: {w.text()!r} squeezed"
        shot(k, screenshot_dir, f"help_{language}")
        c.handle_command("help")
        c.handle_command("cancel")
        settle(k.window)
        assert k.window.stack.currentWidget() is s
        for w in (s.title, s.detail):
            assert w.height() >= w.heightForWidth(w.width()), f"{language} cancel?: {w.text()!r} squeezed"
        for w in (s.more_button, s.cancel_button):
            assert w.width() >= w.sizeHint().width(), f"{language}: {w.text()!r} cut"
        shot(k, screenshot_dir, f"cancel_question_{language}")
        c.handle_command("deny")
        for key, (_icon, text) in {**S.CAPTURE_HINTS, **S.GESTURE_HINTS}.items():
            s.show_view(
                SessionView(State.LIVENESS, streak=40, needed=100, time_left=39.0),
                (_icon, S.tr(S.LIVENESS_TITLE), S.tr(text)),
            )
            settle(k.window)
            assert s.detail.height() >= s.detail.heightForWidth(s.detail.width()), f"{language} {key} squeezed"


@pytest.mark.parametrize("problem", ["out_of_service", "no_camera"])
def test_a_kiosk_that_cannot_verify_tells_why_and_starts_nothing(kiosk, problem):
    """Out of service, or no camera: r, h, S, Space and a spoken choice all get the reason the
    screen shows. They used to get "Step in front of the camera, or press S", and S opened a
    spoken welcome and a session that could see nobody (the screen still saying out of service),
    ended as 'We lost sight of your face' and counted toward the lockout."""
    from kiosk.commands import Command

    c, w = kiosk.controller, kiosk.window
    if problem == "out_of_service":
        c.model_problem = "the liveness model is missing"
        told = S.MODEL_TITLE + ". " + S.MODEL_DETAIL.format(what=c.model_problem)
    else:
        c.model_problem = ""
        c.on_camera_lost("camera 0 is not available")
        told = S.CAMERA_TITLE + ". " + S.CAMERA_DETAIL
    c.refresh()
    n = len(c.transcript)
    for key in (Qt.Key.Key_R, Qt.Key.Key_H, Qt.Key.Key_S, Qt.Key.Key_S, Qt.Key.Key_Space):
        QTest.keyClick(w, key)
    c.handle_command(Command.PROFILE_NO_SIGHT, by_voice=True)
    c.handle_command(Command.START, by_voice=True)
    c.engine.clock.advance(c.engine.settings.face_lost_timeout_s + 1)
    c._tick()
    assert c.engine.state == State.IDLE and w.stack.currentWidget() is w.message
    assert [e.text for e in c.transcript][n:] == [told] * 6
    assert c.engine.last_record is None, "no session was begun, none reported"


def test_locked_screen(kiosk, screenshot_dir):
    c = kiosk.controller
    c.model_problem = ""
    c.engine.limiter = type(
        "L", (), {"locked": lambda s: True, "remaining_lockout": lambda s: 250.0, "record": lambda s, p: None}
    )()
    c.handle_command("start")
    assert c.engine.state == State.LOCKED
    assert "5 min" in kiosk.window.message.detail.text()
    shot(kiosk, screenshot_dir, "locked")


def test_the_lockout_and_verdict_screens_say_their_own_words_on_r_and_h(kiosk):
    """r on the lockout screen says the wait as the screen shows it now (it said the minutes of
    the moment the screen opened); h there and on the verdict says what the screen says, not the
    in-session help about holding poses and a countdown that waits."""
    c, w = kiosk.controller, kiosk.window
    c.model_problem = ""
    left = {"s": 250.0}
    c.engine.limiter = type(
        "L",
        (),
        {
            "locked": lambda s: left["s"] > 0,
            "remaining_lockout": lambda s: left["s"],
            "record": lambda s, p: None,
            "begin": lambda s, session_id: None,
        },
    )()
    c.handle_command("start")
    assert c.engine.state == State.LOCKED and "5 min" in w.message.detail.text()
    left["s"] = 70.0
    c.engine.clock.advance(180)
    c._tick()
    now = S.LOCKED_DETAIL.format(minutes=2)
    assert w.message.detail.text() == now
    c.handle_command("repeat")
    c.handle_command("help")
    assert [e.text for e in c.transcript][-2:] == [now, now]

    left["s"] = 0.0
    c._tick()
    assert c.engine.state == State.IDLE
    c.handle_command("start")
    c.handle_command("start")
    for _ in range(c.engine.settings.spoof_frames):
        c.engine.clock.advance(0.04)
        c.on_observation(face(live=False))
    assert c.engine.state == State.DENIED
    c.handle_command("help")
    assert c.transcript[-1].text == S.DENIED_DETAIL == w.result.detail.text()


def test_lockout_is_shown_and_said_on_the_attract_screen(kiosk, screenshot_dir):
    """Nobody is invited to press Start while the kiosk is locked: the attract screen says how
    long to wait, and says it aloud to whoever steps up, once per visit."""
    c, w = kiosk.controller, kiosk.window
    c.model_problem = ""
    left = {"s": 250.0}
    c.engine.limiter = type(
        "L",
        (),
        {"locked": lambda s: left["s"] > 0, "remaining_lockout": lambda s: left["s"], "record": lambda s, p: None},
    )()
    c.refresh()
    assert w.stack.currentWidget() is w.attract
    assert "5 min" in w.attract.detail.text() and not w.attract.start_button.isVisible()
    shot(kiosk, screenshot_dir, "attract_locked")
    c.on_observation(face())
    c.on_observation(face())
    said = [e.text for e in c.transcript]
    assert said.count("Too many attempts. Please wait 5 min, then step in front of the camera again.") == 1, said
    assert c.engine.state == State.IDLE, "a locked kiosk does not open a session"
    c.handle_command("help")
    c.handle_command("repeat")
    assert [e.text for e in c.transcript][-2:] == [said[-1]] * 2, "help and r say the wait too"
    left["s"] = 0.0
    c.refresh()
    assert w.attract.start_button.isVisible() and "press Start" in w.attract.detail.text()


def test_keys_and_lock_down(kiosk):
    w, c = kiosk.window, kiosk.controller
    quits = []
    c.quit_requested.connect(lambda: quits.append(1))
    QTest.keyClick(w, Qt.Key.Key_Escape)
    QTest.keyClick(w, Qt.Key.Key_Q)
    assert quits == [], "q / Esc must not leave the kiosk unless the admin allows it"
    w.close()
    assert w.isVisible(), "closing the window is refused"
    voice = c.speaker.enabled
    QTest.keyClick(w, Qt.Key.Key_V)
    assert c.speaker.enabled != voice and w.voice_button.isChecked() == c.speaker.enabled
    assert w.caption.text()  # the toggle is also captioned


def hold_key(widget, key, text: str, repeats: int = 3) -> None:
    """A key held down: one press, then the auto-repeated presses the keyboard sends while it is
    held (a tremor, a slow release), then the release."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent

    none = Qt.KeyboardModifier.NoModifier
    QCoreApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, key, none, text, False))
    for _ in range(repeats):
        QCoreApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, key, none, text, True))
    QCoreApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyRelease, key, none, text, False))


def test_a_held_key_acts_once(kiosk):
    """Holding S on the attract screen must open the choices, not also start the check before
    anyone could choose; holding C must ask, not also answer its own question; holding M must
    not spend every extension at once."""
    c, w = kiosk.controller, kiosk.window
    c.model_problem = ""
    c.refresh()
    hold_key(w, Qt.Key.Key_S, "s")
    assert c.engine.state == State.WELCOME, "the choices, and nothing started"
    hold_key(w, Qt.Key.Key_S, "s")
    assert c.engine.state == State.LIVENESS
    hold_key(w, Qt.Key.Key_C, "c")
    assert c.engine.state == State.LIVENESS and "Press C again" in w.session.detail.text(), "asked, not cancelled"
    hold_key(w, Qt.Key.Key_N, "n")
    clock = c.engine.clock
    while c.engine.state != State.CHALLENGE or c.engine.view().in_gap:
        clock.advance(0.04)
        c.on_observation(face())
    left = c.engine.view().extensions_left
    hold_key(w, Qt.Key.Key_M, "m")
    assert c.engine.view().extensions_left == left - 1


def test_admin_pin_and_allow_exit(app, state_dir, pipeline):
    from kiosk.ui.app import build_kiosk

    from conftest import make_cfg

    c2 = make_cfg(state_dir, ui={"admin_pin": "471100", "allow_exit": False})
    k = build_kiosk(c2, pipeline=pipeline, start_worker=False, clock=ManualClock())
    quits = []
    k.controller.quit_requested.connect(lambda: quits.append(1))
    QTest.keyClick(k.window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    QTest.keyClicks(k.window, "1234")
    QTest.keyClick(k.window, Qt.Key.Key_Return)
    assert quits == []
    QTest.keyClick(k.window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    QTest.keyClicks(k.window, "471100")
    QTest.keyClick(k.window, Qt.Key.Key_Return)
    assert quits == [1]
    k.controller.shutdown()
    c3 = make_cfg(state_dir, ui={"allow_exit": True})
    k3 = build_kiosk(c3, pipeline=pipeline, start_worker=False, clock=ManualClock())
    k3.controller.quit_requested.connect(lambda: quits.append(3))
    QTest.keyClick(k3.window, Qt.Key.Key_Escape)
    assert quits == [1, 3]
    k3.controller.shutdown()


def test_controls_have_accessible_names_and_touch_size(kiosk):
    from PySide6.QtWidgets import QPushButton

    from kiosk.ui.screens import touch_px

    kiosk.window.show()
    spin(20)
    buttons = kiosk.window.findChildren(QPushButton)
    assert len(buttons) >= 8
    for b in buttons:
        assert b.accessibleName(), b.text()
        assert b.minimumHeight() >= touch_px(b) and b.minimumWidth() >= touch_px(b)


def test_idle_analyses_fewer_frames_until_a_session_needs_more(app, cfg, photos):
    from kiosk.ui.worker import CameraWorker, WorkerThread
    from kiosk.vision.pipeline import VisionPipeline

    worker = CameraWorker(
        lambda: open_source(str(photos), fps=50, loop=True), lambda: VisionPipeline(cfg), fps=50, idle_fps=10
    )
    got = []
    worker.observed.connect(got.append)
    thread = WorkerThread(worker)
    thread.start()
    try:
        assert wait_until(lambda: len(got) >= 6)
        assert worker._frame_no >= 5 * len(got) - 5, "idle: one frame in five is analysed"
        worker.set_needs(frozenset({"face", "head_pose"}))
        n0, f0 = len(got), worker._frame_no
        assert wait_until(lambda: len(got) >= n0 + 10)
        assert (worker._frame_no - f0) <= (len(got) - n0) + 2, "in a session every frame is analysed"
    finally:
        assert thread.shutdown()


def test_a_spoken_choice_this_site_cannot_serve_is_answered_not_raised(app, pipeline, state_dir):
    """With head pose and emotions only (and no emotion validated), "I can't turn my head" would
    leave nothing to ask: the screen and the keys do not offer it, and saying "head" gets an answer
    instead of an exception in the voice slot."""
    from kiosk.commands import Command

    from conftest import make_cfg

    cfg = make_cfg(state_dir, challenges={"kinds": ["head_pose", "emotion"]})
    with shown_kiosk(cfg, pipeline, rng=random.Random(4)) as k:
        c = k.controller
        c.model_problem = ""
        assert "limited_head" not in c.engine.available_profiles()
        assert "limited_head" not in k.window.welcome.profile_keys.values()
        c.handle_command(Command.PROFILE_LIMITED_HEAD, by_voice=True)
        said = [e.text for e in c.transcript]
        assert said[-1] == S.PROFILE_UNAVAILABLE
        assert c.engine.view().profile == "standard"
