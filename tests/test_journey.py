"""Whole sessions as people with low vision, reading difficulties or limited movement live them:
from the attract screen to the verdict, each driven only by the channels of its profile (keys,
touch, or spoken commands fed as espeak-ng audio through the kiosk's own recogniser), with
scripted observations standing in for the camera. Every step checks what the kiosk said (its
transcript), what it shows, and saves a screenshot: tests/_screenshots/journey_<profile>_<nn>_<step>.png.

Real parts: Qt widgets offscreen, the vision pipeline's challenge pool, espeak-ng speech through
the Speaker, pocketsphinx through the Listener. Time is a ManualClock moved per frame."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from kiosk.commands import Command
from kiosk.session.catalogue import HEAD_POSE_CHALLENGES
from kiosk.session.clock import ManualClock
from kiosk.session.engine import PROFILES, EngineSettings, SessionEngine, State
from kiosk.session.observation import CaptureProblem, Observation
from kiosk.ui import strings as S

from conftest import make_cfg, shown_kiosk, wait_until

ESPEAK = shutil.which("espeak-ng")
DT = 0.04  # 25 frames per second
POSES = {"left": (30.0, 0.0, 0.0), "right": (-30.0, 0.0, 0.0), "up": (0.0, 25.0, 0.0), "down": (0.0, -25.0, 0.0)}


def face(**kw) -> Observation:
    return Observation(**{"face": True, "faces": 1, "track_id": 1, "live": True, "head_pose": (0.0, 0.0, 0.0), **kw})


def showing(challenge) -> Observation:
    """A frame in which the person does what the challenge asks."""
    if challenge.kind == "head_pose":
        return face(head_pose=POSES[challenge.target])
    if challenge.kind == "gesture":
        return face(gesture=challenge.target)
    return face(emotion=challenge.target, emotion_margin=0.9)


class Journey:
    """One person's session, step by step, with the checks every step shares."""

    def __init__(self, kiosk, profile: str, shots: Path, tmp: Path):
        self.k, self.c, self.w = kiosk, kiosk.controller, kiosk.window
        self.engine = self.c.engine
        self.clock: ManualClock = self.engine.clock
        self.profile, self.shots, self.tmp = profile, shots, tmp
        self.seen = 0
        self.step = 0
        self.drawn: list = []
        self.heard: list = []
        if self.c.listener is not None:
            self.c.listener.command.connect(self.heard.append)
            self.c.listener.not_understood.connect(self.heard.append)

    # ------------------------------------------------------------ the camera
    def frames(self, obs: Observation, n: int = 1) -> None:
        for _ in range(n):
            self.clock.advance(DT)
            self.c.on_observation(obs)

    # ---------------------------------------------------------- what was said
    def said(self) -> list[str]:
        """What the kiosk said since the last call."""
        entries = list(self.c.transcript)
        new, self.seen = entries[self.seen :], len(entries)
        return [e.text for e in new]

    def expect(self, *texts: str) -> None:
        said = self.said()
        assert said == list(texts), f"{self.profile} step {self.step}: said {said}, expected {list(texts)}"

    def quiet(self) -> None:
        """Wait until the kiosk has finished speaking (a person waits for the end of a prompt)."""
        assert wait_until(lambda: not self.c.speaker.is_speaking()), "speech never finished"

    def shot(self, name: str) -> None:
        self.step += 1
        for _ in range(5):
            QCoreApplication.sendPostedEvents()
            QCoreApplication.processEvents()
        path = self.shots / f"journey_{self.profile}_{self.step:02d}_{name}.png"
        assert self.w.grab().save(str(path)), path

    # ---------------------------------------------------------- the channels
    def key(self, key) -> None:
        if isinstance(key, str):
            QTest.keyClicks(self.w, key)
        else:
            QTest.keyClick(self.w, key)

    def touch(self, button) -> None:
        assert button.isVisible(), button.accessibleName()
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    def speak(self, words: str) -> None:
        """Say `words` to the kiosk: espeak-ng speech, recognised by the Listener's recogniser,
        which must hear a command in them."""
        wav = self.tmp / f"said-{len(self.heard)}.wav"
        subprocess.run([ESPEAK, "-v", "en-us", "-w", str(wav), words], check=True, capture_output=True)
        n = len(self.heard)
        self.c.listener.recognize_file(wav)
        assert wait_until(lambda: len(self.heard) > n), f"the recogniser never answered for {words!r}"
        got = self.heard[-1]
        assert isinstance(got, Command), f"{words!r} was not understood (heard {got!r})"

    # ------------------------------------------------------------ the steps
    def attract(self) -> None:
        self.c.model_problem = ""  # the screens are driven by scripted observations from here on
        self.c.refresh()
        assert self.w.stack.currentWidget() is self.w.attract
        assert self.w.attract.start_button.isVisible()
        self.expect()
        self.shot("attract")

    def step_up(self, shoot: bool = True) -> None:
        """A face appears: the welcome screen reads out every choice and how to pick it."""
        self.frames(face())
        assert self.engine.state == State.WELCOME and self.w.stack.currentWidget() is self.w.welcome
        said = self.said()
        assert len(said) == 1, said
        welcome = said[0]
        available = self.engine.available_profiles()
        for name in available:
            label = S.PROFILE_LABELS[name]
            key = self.w.welcome.key_of(name)
            assert f"{label}: press {key}, touch the button, or say" in welcome, (name, welcome)
        assert 'To start, press Space, Enter or S, touch Start, or say "start"' in welcome
        assert len(self.w.welcome.profile_keys) == len(available)
        if shoot:
            self.shot("welcome")

    def chosen(self, name: str) -> None:
        assert self.engine.view().profile == name
        assert self.w.welcome.profile_buttons[name].isChecked()
        said = self.said()
        assert said[-1] == f'Chosen: {S.PROFILE_LABELS[name]}. To start, press Space or say "start".', said
        self.shot("chosen")

    def level_1(self, started_by_person: bool = True) -> None:
        assert self.engine.state == State.LIVENESS and self.w.stack.currentWidget() is self.w.session
        look = S.LIVENESS_TITLE + ". " + S.LIVENESS_DETAIL
        if started_by_person:
            self.expect(look)
        else:
            self.expect(S.STARTING_NOW, look)
        self.shot("level1")

    def pass_level_1(self) -> None:
        needed = self.engine.settings.real_frames
        self.frames(face(), needed)
        assert self.engine.state == State.CHALLENGE

    def challenge(self) -> tuple:
        """The challenge on screen, checked against the profile and the last thing said."""
        v = self.engine.view()
        c = v.challenge
        assert c.kind not in PROFILES[self.profile], f"{self.profile} was asked for {c.id}"
        assert self.w.session.title.text() == c.text
        self.drawn.append(c)
        return v, c

    def expect_challenge_prompt(self, before: tuple[str, ...] = ()) -> None:
        v, c = self.challenge()
        step = f"Step {v.index} of {v.total}. {c.instruction}"
        self.expect(*before, step)
        assert self.c._current_prompt() == step

    def hold(self, n: int | None = None) -> list:
        """The person does what is asked, after the pause and after being seen not doing it."""
        _, c = self.challenge()
        while self.engine.view().in_gap:
            self.frames(face())
        self.frames(face(), self.engine.settings.onset_frames)
        self.frames(showing(c), n or self.engine.settings.frames_to_pass)
        return c

    def verdict_passed(self) -> None:
        assert self.engine.state == State.PASSED and self.w.stack.currentWidget() is self.w.result
        self.expect(S.PASSED_DETAIL)
        record = self.engine.last_record
        assert record.result == "passed" and record.profile == self.profile
        assert [c.passed for c in record.challenges].count(True) == self.engine.settings.challenge_count
        assert all(c.kind not in PROFILES[self.profile] for c in record.challenges)
        self.shot("verdict")

    def pass_remaining(self) -> None:
        """Pass every challenge left, checking each prompt; ends on the verdict."""
        while self.engine.state == State.CHALLENGE:
            self.hold()
            if self.engine.state == State.CHALLENGE:
                self.expect_challenge_prompt(before=(S.WELL_DONE,))
                assert self.w.session.detail.text() == S.WELL_DONE  # the pause before the next one
        self.verdict_passed()

    def linger_after_being_verified(self) -> None:
        """The verified person stays in view (reading, packing up): the verdict gives way to the
        attract screen and nothing more is asked of them, however long they stay; the next person
        is welcomed once they have left."""
        self.said()
        self.frames(face(), int((self.engine.settings.result_display_s + 60.0) / DT))
        assert self.engine.state == State.IDLE and self.w.stack.currentWidget() is self.w.attract
        assert S.WELCOME_SPOKEN not in " ".join(self.said()), "welcomed again while still reading the verdict"
        self.shot("lingering")
        self.frames(Observation())
        self.frames(face())
        assert self.engine.state == State.WELCOME

    def nothing_cut_off(self) -> None:
        """No prompt was cut off by the next one: the person waited for every prompt before
        acting, and prompts the session makes queue behind each other."""
        self.quiet()
        cut = [e.text for e in self.c.transcript if getattr(e.utterance, "interrupted", False)]
        assert not cut, f"{self.profile}: cut off: {cut}"
        assert all(getattr(e.utterance, "voiced", True) for e in self.c.transcript), "voice stayed on"


@pytest.fixture()
def journey(app, state_dir, pipeline, screenshot_dir, tmp_path, request):
    from kiosk.reporting import NullReporter

    profile = request.param
    cfg = make_cfg(state_dir, ui={"voice": True})
    with shown_kiosk(cfg, pipeline, rng=random.Random(7), reporter=NullReporter()) as k:
        if profile not in k.controller.engine.available_profiles():
            pytest.skip(f"the shipped models leave no challenge for {profile}")
        yield Journey(k, profile, screenshot_dir, tmp_path)


@pytest.mark.parametrize("journey", ["standard"], indirect=True)
def test_standard_nobody_chooses_then_help_repeat_and_capture_hints_by_keys(journey):
    """Someone who just stands there: the kiosk reads the choices, waits until it has finished
    and a quiet pause has passed, says it is starting, and guides them when the picture is bad.
    Help pauses the countdown; r repeats the instruction, also after m."""
    j = journey
    j.attract()
    j.step_up(shoot=False)
    # The welcome is still being said (its synthesis has not even come back: no Qt events were
    # processed since): however long the face is held, nothing starts.
    j.frames(face(), int(10.0 / DT))
    assert j.engine.state == State.WELCOME and j.c.speaker.is_speaking()
    j.shot("welcome")
    j.quiet()
    pause = j.engine.settings.auto_start_s
    j.frames(face(), int(pause / DT) - 3)
    assert j.engine.state == State.WELCOME, "a quiet pause must pass first"
    j.frames(face(), 4)
    j.level_1(started_by_person=False)

    # too far away for a second: the hint replaces the instruction, and is said once
    j.frames(face(live=None, capture=CaptureProblem.TOO_FAR), int(1.2 / DT))
    hint = S.CAPTURE_HINTS["too_far"][1]
    j.expect(hint)
    assert j.w.session.detail.text() == hint and j.w.session.icon.text() == S.CAPTURE_HINTS["too_far"][0]
    j.shot("too_far")
    j.frames(face(live=None, capture=CaptureProblem.DARK), int(1.2 / DT))
    j.expect(S.CAPTURE_HINTS["dark"][1])
    j.shot("too_dark")
    j.frames(face(), 30)
    assert j.w.session.detail.text() == S.LIVENESS_DETAIL, "the hint goes once the picture is fine"
    j.expect()
    j.pass_level_1()
    j.expect_challenge_prompt()
    j.shot("challenge1")

    # help: read in full with the keys, the countdown stands still until h again
    while j.engine.view().in_gap:
        j.frames(face())
    j.frames(face(), 10)
    j.quiet()
    j.key(Qt.Key.Key_H)
    j.expect(S.HELP_TEXT)
    assert "Press M" in S.HELP_TEXT and "Press C" in S.HELP_TEXT and "Press H" in S.HELP_TEXT
    left = j.engine.view().time_left
    j.frames(face(), int(30.0 / DT))
    v = j.engine.view()
    assert v.state == State.CHALLENGE and v.paused and v.time_left == left
    assert j.w.stack.currentWidget() is j.w.message and j.w.message.detail.text() == S.HELP_TEXT
    assert S.PAUSED in j.w.message.title.text()
    j.shot("help")
    j.quiet()
    j.key(Qt.Key.Key_H)
    prompt = j.c._current_prompt()
    j.expect(prompt)
    assert not j.engine.view().paused and j.engine.view().time_left == left
    # more time, then r: the instruction again, not "You have more time."
    j.quiet()
    j.key(Qt.Key.Key_M)
    j.expect(S.EXTENDED)
    j.quiet()
    j.key(Qt.Key.Key_R)
    j.expect(prompt)
    j.shot("repeat")
    j.pass_remaining()
    j.nothing_cut_off()
    j.linger_after_being_verified()


@pytest.mark.parametrize("journey", ["no_sight"], indirect=True)
@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is needed to speak to the kiosk")
def test_cannot_see_chooses_starts_and_answers_by_voice(journey):
    """Someone who cannot see the screen: everything by voice. The profile word and "start" go
    through the real recogniser; help by voice pauses; "cancel" asks, "no" goes on."""
    j = journey
    j.attract()
    j.step_up()
    j.quiet()
    j.speak("blind")
    j.chosen("no_sight")
    j.quiet()
    j.speak("start")
    j.level_1()
    j.pass_level_1()
    j.expect_challenge_prompt()
    j.shot("challenge1")
    c = j.hold()
    j.expect_challenge_prompt(before=(S.WELL_DONE,))
    assert c.kind not in PROFILES["no_sight"]
    j.quiet()
    j.speak("help")
    j.expect(S.HELP_TEXT)
    assert j.engine.view().paused
    j.quiet()
    j.speak("help")
    prompt = j.c._current_prompt()
    j.expect(prompt)
    assert not j.engine.view().paused
    j.quiet()
    j.speak("cancel")  # by voice too, it asks first
    j.expect(S.CANCEL_CONFIRM)
    assert j.engine.state == State.CHALLENGE and j.engine.view().paused
    j.shot("cancel_question")
    j.quiet()
    j.speak("no")  # Command.DENY
    j.expect(S.CANCEL_KEPT + " " + prompt)
    assert j.engine.state == State.CHALLENGE and not j.engine.view().paused
    j.pass_remaining()
    j.nothing_cut_off()


@pytest.mark.parametrize("journey", ["no_hands"], indirect=True)
@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is needed to speak to the kiosk")
def test_cannot_use_hands_chooses_and_starts_by_voice_and_is_never_asked_for_a_gesture(journey):
    j = journey
    j.attract()
    j.step_up()
    j.quiet()
    j.speak("hands")
    j.chosen("no_hands")
    j.quiet()
    j.speak("start")
    j.level_1()
    j.pass_level_1()
    j.expect_challenge_prompt()
    j.shot("challenge1")
    j.pass_remaining()
    assert all(c.kind != "gesture" for c in j.drawn)
    j.nothing_cut_off()


@pytest.mark.parametrize("journey", ["limited_head"], indirect=True)
def test_cannot_turn_head_by_keys_with_a_second_face_and_a_cancel_declined(journey):
    j = journey
    j.attract()
    j.step_up()
    j.quiet()
    j.key(j.w.welcome.key_of("limited_head"))
    j.chosen("limited_head")
    j.quiet()
    j.key(Qt.Key.Key_Space)
    j.level_1()
    j.frames(face(faces=2), int(1.2 / DT))
    j.expect(S.TWO_FACES)
    assert j.w.session.detail.text() == S.TWO_FACES
    j.shot("two_faces")
    j.frames(face(), 30)
    j.pass_level_1()
    j.expect_challenge_prompt()
    j.shot("challenge1")
    # Space and Enter do nothing during a session; c asks, n goes on
    j.quiet()
    j.key(Qt.Key.Key_Space)
    j.key(Qt.Key.Key_Return)
    assert j.engine.state == State.CHALLENGE
    j.expect()
    j.key(Qt.Key.Key_C)
    j.expect(S.CANCEL_CONFIRM)
    assert j.w.session.detail.text() == S.CANCEL_CONFIRM and j.engine.view().paused
    j.shot("cancel_question")
    prompt = j.c._instruction
    j.quiet()
    j.key(Qt.Key.Key_N)
    j.expect(S.CANCEL_KEPT + " " + prompt)
    j.pass_remaining()
    assert all(c.kind != "head_pose" for c in j.drawn)
    j.nothing_cut_off()


@pytest.mark.parametrize("journey", ["no_expression"], indirect=True)
def test_cannot_make_expressions_by_touch_with_a_failed_challenge(journey):
    """By touch only. A failed challenge says "Not this time", never "Well done"."""
    j = journey
    j.attract()
    j.touch(j.w.attract.start_button)  # Start on the attract screen opens the choices
    assert j.engine.state == State.WELCOME
    said = j.said()
    assert len(said) == 1 and said[0].startswith(S.WELCOME_SPOKEN)
    j.shot("welcome")
    j.quiet()
    j.touch(j.w.welcome.profile_buttons["no_expression"])
    j.chosen("no_expression")
    j.quiet()
    j.touch(j.w.welcome.start_button)
    j.frames(face())
    j.level_1()
    j.pass_level_1()
    j.expect_challenge_prompt()
    # the first challenge runs out of time
    tries = j.engine.view().attempts_left
    limit = j.engine.settings.time_limit_s
    while j.engine.view().in_gap:
        j.frames(face())
    j.frames(face(), int((limit + 0.2) / DT))
    j.expect_challenge_prompt(before=(S.NOT_THIS_TIME,))
    v = j.engine.view()
    assert v.in_gap and v.after_failure and v.attempts_left == tries - 1
    assert j.w.session.detail.text() == S.NOT_THIS_TIME and S.WELL_DONE not in j.w.session.detail.text()
    j.shot("not_this_time")
    # touch Cancel, then "No, go on"
    j.quiet()
    j.touch(j.w.session.cancel_button)
    j.expect(S.CANCEL_CONFIRM)
    assert j.w.session.more_button.text().endswith(S.NO_GO_ON)
    j.shot("cancel_question")
    prompt = j.c._instruction
    j.quiet()
    j.touch(j.w.session.more_button)
    j.expect(S.CANCEL_KEPT + " " + prompt)
    j.pass_remaining()
    assert all(c.kind != "emotion" for c in j.drawn)
    j.nothing_cut_off()


# ------------------------------------------------------- cancel and the lockout
class CountingLimiter:
    def __init__(self):
        self.results: list[bool] = []

    def begin(self, session_id: str) -> None:
        pass

    def record(self, passed: bool) -> None:
        self.results.append(passed)

    def locked(self) -> bool:
        return False

    def remaining_lockout(self) -> float:
        return 0.0


def _engine():
    clock = ManualClock()
    eng = SessionEngine(
        EngineSettings.defaults(gap_s=(0.0, 0.0)),
        HEAD_POSE_CHALLENGES,
        clock,
        rng=random.Random(1),
        limiter=CountingLimiter(),
    )
    return eng, clock


def _feed(eng, clock, obs, n):
    for _ in range(n):
        clock.advance(DT)
        eng.feed(obs)


def test_own_cancel_before_any_failure_is_free_after_a_failure_it_counts():
    eng, clock = _engine()
    eng.start()
    _feed(eng, clock, face(), eng.settings.real_frames)
    assert eng.state == State.CHALLENGE
    eng.cancel()
    assert eng.state == State.IDLE and eng.limiter.results == [True], "changing one's mind is no failure"

    eng.start()
    _feed(eng, clock, face(), eng.settings.real_frames)
    _feed(eng, clock, face(), int((eng.settings.time_limit_s + 0.5) / DT))  # one challenge fails
    assert eng.state == State.CHALLENGE and eng.view().attempts_left == eng.settings.attempts - 1
    eng.cancel()
    assert eng.limiter.results == [True, False], "a cancel after a failure must not buy new tries"


def test_cancel_after_a_run_of_spoof_frames_in_level_1_counts():
    eng, clock = _engine()
    eng.start()
    _feed(eng, clock, face(live=False), eng.settings.spoof_frames // 2)
    eng.cancel()
    assert eng.limiter.results == [False]


@pytest.mark.parametrize("reason", ["cancelled", "camera_lost"])
def test_cancel_after_many_scattered_spoof_frames_counts(reason):
    """A picture the model calls spoof on most frames, broken by a live-scored frame before each run
    reaches half the denial: cancelling (or pulling the camera) before the level 1 timeout must not
    be a free try, or such an attack could be tried again and again without the lockout."""
    eng, clock = _engine()
    run = eng.settings.spoof_frames // 2 - 1
    eng.start()
    for _ in range(eng.settings.spoof_frames // run + 1):  # as many spoof frames as would deny in a row
        _feed(eng, clock, face(live=False), run)
        _feed(eng, clock, face(), 1)
    eng.cancel(reason)
    assert eng.limiter.results == [False]

    eng.start()  # a person the model doubted a few times still cancels for free
    _feed(eng, clock, face(), 30)
    for _ in range(3):
        _feed(eng, clock, face(live=False), 3)
        _feed(eng, clock, face(), 30)
    assert eng.state == State.LIVENESS
    eng.cancel(reason)
    assert eng.limiter.results == [False, True]


def test_pause_stops_the_countdown_and_resume_gives_the_time_back():
    eng, clock = _engine()
    eng.start()
    _feed(eng, clock, face(), eng.settings.real_frames)
    left = eng.view().time_left
    eng.pause()
    _feed(eng, clock, face(), int(30 / DT))  # long past the limit and the face-lost timeout
    assert eng.state == State.CHALLENGE and eng.view().time_left == left and eng.view().streak == 0
    eng.resume()
    assert eng.view().time_left == pytest.approx(left)
    _feed(eng, clock, face(), int((left + 0.2) / DT))
    assert eng.view().attempts_left == eng.settings.attempts - 1, "the countdown runs again"


def test_auto_start_waits_for_the_speech_and_for_a_choice_pause():
    eng, clock = _engine()
    _feed(eng, clock, face(), 1)
    assert eng.state == State.WELCOME
    eng.set_speaking(True)
    _feed(eng, clock, face(), int(20 / DT))
    assert eng.state == State.WELCOME
    eng.set_speaking(False)
    _feed(eng, clock, face(), int(2 / DT))
    eng.set_profile("no_sight")  # choosing restarts the pause
    _feed(eng, clock, face(), int((eng.settings.auto_start_s - 0.2) / DT))
    assert eng.state == State.WELCOME
    events = []
    for _ in range(10):
        clock.advance(DT)
        events += eng.feed(face())
    assert eng.state == State.LIVENESS
    assert [e.name for e in events][:2] == ["auto_start", "state"]


def test_readme_key_table_matches_the_keys():
    from kiosk.ui.window import KEY_COMMANDS, START_KEYS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Keys") : readme.index("## Other commands")]
    for key in KEY_COMMANDS:
        name = key.name.removeprefix("Key_")
        token = f"`{name.lower()}`" if len(name) == 1 else name
        assert token in table, f"{name} ({KEY_COMMANDS[key]}) is missing from the README's key table"
    assert all(k in START_KEYS for k in (Qt.Key.Key_Space, Qt.Key.Key_Return))
    assert "Space, Enter | start, on the welcome screen only" in table


# ------------------------------------------------------------- controller alone
@pytest.fixture()
def kiosk(app, state_dir, pipeline):
    from kiosk.reporting import NullReporter

    with shown_kiosk(
        make_cfg(state_dir, ui={"voice": True}), pipeline, rng=random.Random(3), reporter=NullReporter()
    ) as k:
        k.controller.model_problem = ""
        yield k


def test_transcript_is_logged_at_info_and_holds_only_prompt_texts(kiosk, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="kiosk.transcript")
    c = kiosk.controller
    c.on_observation(face(live_score=0.987654))
    c.handle_command("help")
    c.handle_command("start")
    logged = [r.getMessage() for r in caplog.records if r.name == "kiosk.transcript"]
    said = [e.text for e in c.transcript]
    assert logged == said and len(said) == 3
    assert not any("0.98" in t for t in logged), "no score or measurement reaches the transcript"


def test_voice_off_by_voice_asks_first_and_a_key_does_not(kiosk):
    c = kiosk.controller
    c._voice_command(Command.VOICE_OFF)
    assert c.speaker.enabled and c.transcript[-1].text == S.VOICE_OFF_CONFIRM
    c._voice_command(Command.CONFIRM)
    assert not c.speaker.enabled and c.transcript[-1].text == S.VOICE_OFF
    QTest.keyClick(kiosk.window, Qt.Key.Key_V)
    assert c.speaker.enabled
    QTest.keyClick(kiosk.window, Qt.Key.Key_V)  # a key is deliberate: no question
    assert not c.speaker.enabled


def test_a_microphone_that_cannot_be_used_is_said_not_only_captioned(kiosk, monkeypatch):
    """Someone presses L where the microphone cannot be opened (here: the sound server it came
    from is gone; the same when a microphone pulled out is still listed) or the recogniser
    fails: they heard the listening sound and then nothing, the problem was only put in the
    caption bar. It is said, once per try, and the caption shows what is said."""
    import numpy as np

    from kiosk.speech.qt_audio import AUDIO_SERVER

    c, w = kiosk.controller, kiosk.window
    monkeypatch.setattr(AUDIO_SERVER, "lost", "the audio server went away")
    start = len(c.transcript)
    QTest.keyClick(w, Qt.Key.Key_L)
    said = [e.text for e in list(c.transcript)[start:]]
    assert said == [S.VOICE_INPUT_PROBLEM], said
    assert w.caption.accessibleDescription() == S.VOICE_INPUT_PROBLEM
    monkeypatch.undo()

    class BrokenRecogniser:
        def transcribe(self, audio, language):
            from kiosk.speech.commands import RecognitionError

            raise RecognitionError("the decoder failed")

    c.listener._recognizer = BrokenRecogniser()
    start = len(c.transcript)
    c.listener.recognize(np.zeros(16000, np.int16))  # what the microphone gave
    assert wait_until(lambda: len(c.transcript) > start, 10), "the failure was never said"
    assert [e.text for e in list(c.transcript)[start:]] == [S.VOICE_INPUT_PROBLEM]


def test_nothing_is_said_into_the_open_microphone(kiosk):
    """R pressed while the microphone is open for a command: the instruction was played into
    it, recorded over the person and could be taken for a command. It is captioned at once and
    said once the microphone has closed."""
    c, w = kiosk.controller, kiosk.window
    c.on_observation(face())
    assert wait_until(lambda: not c.speaker.is_speaking())
    c.listener.listening_changed.emit(True)  # what the Listener says when its microphone opens
    QTest.keyClick(w, Qt.Key.Key_R)
    said = c.transcript[-1]
    assert said.text == c._welcome_text() and w.caption.accessibleDescription() == said.text
    assert wait_until(lambda: said.utterance.wav is not None), "never synthesized"
    assert not said.utterance.played and c.speaker.is_speaking(), "played into the open microphone"
    c.listener.listening_changed.emit(False)
    assert wait_until(lambda: not c.speaker.is_speaking())
    assert not said.utterance.interrupted


def test_listen_pressed_again_while_the_microphone_is_open_changes_nothing(kiosk):
    """L pressed twice quickly: the second press played the listening sound into the recording,
    over the person's first word, and cut off what was waiting to be said. The microphone is
    already open: the press does nothing."""
    c, w = kiosk.controller, kiosk.window
    c.on_observation(face())
    assert wait_until(lambda: not c.speaker.is_speaking())
    c.listener.listening_changed.emit(True)  # the first L: the microphone is open
    QTest.keyClick(w, Qt.Key.Key_R)  # waits until the microphone closes
    waiting = c.transcript[-1].utterance
    earcons, said = len(c.speaker.earcons_played), len(c.transcript)
    QTest.keyClick(w, Qt.Key.Key_L)
    assert len(c.speaker.earcons_played) == earcons, "the listening sound went into the recording"
    assert len(c.transcript) == said and not waiting.interrupted
    c.listener.listening_changed.emit(False)
    assert wait_until(lambda: not c.speaker.is_speaking()) and not waiting.interrupted


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is needed to speak to the kiosk")
def test_the_welcome_does_not_start_the_check_while_the_person_speaks_their_choice(kiosk, tmp_path):
    """Someone who cannot see presses L on the welcome screen near the end of its quiet pause
    and says "blind". The check started by itself while the microphone was open ("Starting
    now" into the microphone), and the choice, recognised a moment later, was dropped: a profile
    is only chosen on the welcome screen. The pause waits for the microphone, then for the
    answer."""
    c = kiosk.controller
    clock = c.engine.clock
    c.on_observation(face())
    assert c.engine.state == State.WELCOME
    assert wait_until(lambda: not c.speaker.is_speaking())
    pause = c.engine.settings.auto_start_s
    for _ in range(int((pause - 0.5) / DT)):
        clock.advance(DT)
        c.on_observation(face())
    c.listener.listening_changed.emit(True)  # L: the microphone opens for three seconds
    for _ in range(int(3.0 / DT)):
        clock.advance(DT)
        c.on_observation(face())
    assert c.engine.state == State.WELCOME, "the check started while the person was speaking"
    c.listener.listening_changed.emit(False)
    heard = []
    c.listener.command.connect(heard.append)
    wav = tmp_path / "blind.wav"
    subprocess.run([ESPEAK, "-v", "en-us", "-w", str(wav), "blind"], check=True, capture_output=True)
    clock.advance(1.0)  # what the recogniser takes
    c.listener.recognize_file(wav)  # what the microphone recorded
    assert wait_until(lambda: heard, 20) and heard == [Command.PROFILE_NO_SIGHT]
    assert c.engine.state == State.WELCOME and c.engine.view().profile == "no_sight"


def test_a_cancel_confirmed_on_the_welcome_is_said(kiosk):
    """Someone who cannot see says "cancel" on the welcome screen, is asked, and says "yes":
    the kiosk went back to its attract screen without a word (during a check it says "Session
    cancelled."), so they could not know whether they had been heard."""
    c = kiosk.controller
    c.on_observation(face())
    c._voice_command(Command.CANCEL)
    assert c.transcript[-1].text == S.CANCEL_CONFIRM
    c._voice_command(Command.CONFIRM)
    assert c.engine.state == State.IDLE
    assert c.transcript[-1].text == S.CANCELLED


@pytest.mark.parametrize("asked", [Command.CANCEL, Command.VOICE_OFF])
def test_nothing_understood_as_the_answer_to_a_question_asks_it_again(kiosk, asked):
    """'Cancel the session?' (or 'Switch the voice off?') asked by voice, and the kiosk listens
    for the answer: silence, or words it does not understand, were answered with 'Say start,
    repeat, help, more time or cancel.', which leaves out yes and no, and 'cancel' there
    cancels. The question is asked again, and stays open."""
    import numpy as np

    c = kiosk.controller
    c.on_observation(face())
    c._voice_command(asked)
    question = c._question()[2]
    assert c.transcript[-1].text == question
    start = len(c.transcript)
    c.listener.recognize(np.zeros(3 * 16000, np.int16))  # the microphone heard nothing
    assert wait_until(lambda: len(c.transcript) > start, 10), "nothing was said"
    assert [e.text for e in list(c.transcript)[start:]] == [question]
    assert c._confirming == asked and kiosk.window.stack.currentWidget() is kiosk.window.question


def test_a_missing_microphone_is_said_once_and_the_caption_says_the_same(kiosk):
    c, w = kiosk.controller, kiosk.window
    if c.listener.microphone_available():
        pytest.skip("this machine has a microphone")
    start = len(c.transcript)
    QTest.keyClick(w, Qt.Key.Key_L)
    assert [e.text for e in list(c.transcript)[start:]] == [S.NO_MICROPHONE]
    assert w.caption.accessibleDescription() == S.NO_MICROPHONE


def test_the_welcome_does_not_start_the_check_while_the_cancel_question_waits(kiosk):
    """Someone on the welcome screen presses C and is asked "Cancel the session?". While they
    think, the check must not start by itself (it used to, once the question had been said and
    the welcome's quiet pause had passed); after "no" the usual pause starts again."""
    c, w = kiosk.controller, kiosk.window
    clock = c.engine.clock
    c.on_observation(face())
    assert c.engine.state == State.WELCOME
    assert wait_until(lambda: not c.speaker.is_speaking())
    QTest.keyClick(w, Qt.Key.Key_C)
    assert wait_until(lambda: not c.speaker.is_speaking())
    for _ in range(int((c.CONFIRM_TIMEOUT_S - 1) / DT)):
        clock.advance(DT)
        c.on_observation(face())
    assert c.engine.state == State.WELCOME and w.stack.currentWidget() is w.question
    assert w.question.detail.text() == S.CANCEL_CONFIRM
    QTest.keyClick(w, Qt.Key.Key_N)
    assert c.transcript[-1].text.startswith(S.CANCEL_KEPT) and w.stack.currentWidget() is w.welcome
    assert wait_until(lambda: not c.speaker.is_speaking())
    pause = c.engine.settings.auto_start_s
    for _ in range(int(pause / DT) - 3):
        clock.advance(DT)
        c.on_observation(face())
    assert c.engine.state == State.WELCOME, "a quiet pause after the answer first"
    for _ in range(6):
        clock.advance(DT)
        c.on_observation(face())
    assert c.engine.state == State.LIVENESS


def test_after_a_cancel_the_welcome_waits_until_the_person_has_left(kiosk):
    c, w = kiosk.controller, kiosk.window
    c.on_observation(face())
    assert c.engine.state == State.WELCOME
    QTest.keyClick(w, Qt.Key.Key_C)
    assert c.engine.state == State.WELCOME and w.stack.currentWidget() is w.question
    assert w.question.detail.text() == S.CANCEL_CONFIRM
    QTest.keyClick(w, Qt.Key.Key_C)
    assert c.engine.state == State.IDLE
    for _ in range(10):
        c.on_observation(face())
    assert c.engine.state == State.IDLE, "no new welcome for the person who just cancelled"
    c.on_observation(Observation())
    c.on_observation(face())
    assert c.engine.state == State.WELCOME


def answer_button(window, words: str):
    """The button on the screen now shown whose words are `words` (what a person can touch)."""
    from PySide6.QtWidgets import QPushButton

    shown = [b for b in window.stack.currentWidget().findChildren(QPushButton) if b.isVisible()]
    found = [b for b in shown if b.text().strip() == words]
    assert found, f"no {words!r} button on screen, only {[b.text() for b in shown]}"
    return found[0]


def touch(button) -> None:
    assert button.isVisible(), button.accessibleName()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_cancel_question_on_the_welcome_is_answered_by_touch_and_stops_the_choosing(kiosk, screenshot_dir):
    """ "Cancel the session?" asked on the welcome screen (C, or a spoken "cancel") shows its
    two answers as buttons, as it does during a challenge: a person who can only touch had no
    way to say yes, and "no" only by touching Start, which also started the check. While it is
    open the choices are not on screen, and neither their buttons nor the keys 1-5 choose a
    profile under it (they used to, with the question left open)."""
    c, w = kiosk.controller, kiosk.window
    c.on_observation(face())
    assert c.engine.state == State.WELCOME
    profile = c.engine.view().profile
    QTest.keyClick(w, Qt.Key.Key_C)
    no = answer_button(w, S.NO_GO_ON)
    yes = answer_button(w, S.YES_CANCEL)
    assert not any(b.isVisible() for b in w.welcome.profile_buttons.values())
    assert w.welcome.start_button.isHidden() or not w.welcome.start_button.isVisible()
    assert S.CANCEL_CONFIRM in [lab.text() for lab in w.stack.currentWidget().findChildren(QLabel)]
    assert w.grab().save(str(screenshot_dir / "welcome_cancel_question.png"))
    QTest.keyClicks(w, "2")
    assert c.engine.view().profile == profile and c._confirming == Command.CANCEL
    touch(no)
    assert c.engine.state == State.WELCOME and w.stack.currentWidget() is w.welcome
    assert c._confirming is None and c.transcript[-1].text.startswith(S.CANCEL_KEPT)
    QTest.keyClick(w, Qt.Key.Key_C)
    touch(answer_button(w, S.YES_CANCEL))
    assert c.engine.state == State.IDLE and c._confirming is None
    assert w.stack.currentWidget() is w.attract
    assert yes.isHidden() or not yes.isVisible(), "the question has gone"


@pytest.mark.parametrize("where", ["attract", "welcome", "session"])
def test_voice_off_asked_by_voice_is_answered_by_touch_wherever_it_is_asked(kiosk, screenshot_dir, where):
    """A spoken "voice off" asks first (a misheard word must not silence the kiosk). On the
    attract and welcome screens the question was only in the caption bar, and during a session
    the only button beside it was Cancel, which asked another question: a person who can only
    touch could not answer it. Now it is on screen with a Yes and a No button everywhere."""
    c, w = kiosk.controller, kiosk.window
    if where != "attract":
        c.on_observation(face())
    if where == "session":
        QTest.keyClick(w, Qt.Key.Key_Space)
    screen = w.stack.currentWidget()
    assert screen is {"attract": w.attract, "welcome": w.welcome, "session": w.session}[where]
    state = c.engine.state
    c._voice_command(Command.VOICE_OFF)
    assert c.speaker.enabled and c._confirming == Command.VOICE_OFF
    assert S.VOICE_OFF_CONFIRM in [lab.text() for lab in w.stack.currentWidget().findChildren(QLabel)]
    assert w.grab().save(str(screenshot_dir / f"voice_off_question_{where}.png"))
    touch(answer_button(w, S.NO_KEEP_VOICE))
    assert c.speaker.enabled and c._confirming is None
    assert c.engine.state == state and w.stack.currentWidget() is screen and not c.engine.paused
    c._voice_command(Command.VOICE_OFF)
    touch(answer_button(w, S.YES_VOICE_OFF))
    assert not c.speaker.enabled and c.transcript[-1].text == S.VOICE_OFF
    assert c.engine.state == state and w.stack.currentWidget() is screen


def test_the_failure_that_ends_the_session_promises_no_next_step(kiosk):
    """A failed challenge is followed by "Not this time. Next step coming." only while a next step
    does come: the one that uses up the last try is followed by the verdict alone."""
    c = kiosk.controller
    clock = c.engine.clock
    c.handle_command("start")
    c.handle_command("start")
    for _ in range(c.engine.settings.real_frames):
        clock.advance(DT)
        c.on_observation(face())
    assert c.engine.state == State.CHALLENGE
    n = len(c.transcript)
    while c.engine.state == State.CHALLENGE:  # nothing asked is ever done: every try times out
        clock.advance(0.5)
        c.on_observation(face())
    said = [e.text for e in c.transcript][n:]
    assert c.engine.state == State.DENIED and said[-1] == S.DENIED_DETAIL
    assert said.count(S.NOT_THIS_TIME) == c.engine.settings.attempts - 1, said
    assert said[-2] != S.NOT_THIS_TIME, said


def test_a_denial_that_locks_says_how_long_to_wait(kiosk):
    c, w = kiosk.controller, kiosk.window
    locked = {"on": False}
    c.engine.limiter = type(
        "L",
        (),
        {
            "locked": lambda s: locked["on"],
            "remaining_lockout": lambda s: 299.0,
            "record": lambda s, p: locked.update(on=not p),
            "begin": lambda s, session_id: None,
        },
    )()
    c.handle_command("start")
    c.handle_command("start")
    clock = c.engine.clock
    for _ in range(c.engine.settings.spoof_frames):
        clock.advance(DT)
        c.on_observation(face(live=False))
    assert c.engine.state == State.DENIED
    text = S.DENIED_TITLE + ". " + S.LOCKED_DETAIL.format(minutes=5)
    assert c.transcript[-1].text == text and w.result.detail.text() == text
    assert "try again" not in text


def test_a_missing_sound_file_costs_neither_the_verdict_nor_its_words(app, state_dir, pipeline, tmp_path, monkeypatch):
    import kiosk.speech.earcons as earcons

    monkeypatch.setattr(earcons, "SOUNDS_DIR", tmp_path / "sounds")  # the result's earcon is gone
    reported = []
    reporter = type(
        "Reporter",
        (),
        {"submit": lambda s, r: reported.append(r), "submit_interrupted": lambda s, r: None, "close": lambda s: None},
    )()
    with shown_kiosk(make_cfg(state_dir, ui={"voice": True}), pipeline, rng=random.Random(3), reporter=reporter) as k:
        c = k.controller
        c.model_problem = ""
        c.handle_command("start")
        c.handle_command("start")
        for _ in range(c.engine.settings.spoof_frames):
            c.engine.clock.advance(DT)
            c.on_observation(face(live=False))
        assert c.engine.state == State.DENIED
        assert [r.result for r in reported] == ["denied"]
        assert c.transcript[-1].state == "denied"  # the result was said, and captioned


def test_more_time_that_cannot_be_given_is_answered(kiosk):
    """More time is bounded; once a step's extensions are spent (or on level 1, which has
    none) the person is told so. It used to be silent: a blind person could not tell it from
    time given, and the time ran out."""
    c = kiosk.controller
    clock = c.engine.clock
    c.handle_command("start")
    c.handle_command("start")
    c.on_observation(face())
    c.handle_command("more_time")
    assert c.engine.state == State.LIVENESS and c.transcript[-1].text == S.NO_MORE_TIME
    for _ in range(c.engine.settings.real_frames):
        clock.advance(DT)
        c.on_observation(face())
    while c.engine.view().in_gap:
        clock.advance(DT)
        c.on_observation(face())
    n = c.engine.settings.max_extensions
    for _ in range(n):
        c.handle_command("more_time")
    assert [e.text for e in c.transcript][-n:] == [S.EXTENDED] * n
    c.handle_command("more_time")
    assert c.transcript[-1].text == S.NO_MORE_TIME and c.engine.view().extensions_left == 0


def test_help_left_open_goes_on_by_itself_after_the_pause_limit(kiosk):
    from kiosk.session.engine import MAX_PAUSE_S

    c = kiosk.controller
    c.handle_command("start")
    c.handle_command("start")
    c.on_observation(face())
    c.handle_command("help")
    assert c.engine.paused and kiosk.window.stack.currentWidget() is kiosk.window.message
    c.engine.clock.advance(MAX_PAUSE_S + 1)
    c._tick()
    assert not c.engine.paused and kiosk.window.stack.currentWidget() is kiosk.window.session
    assert c.transcript[-1].text == S.LIVENESS_TITLE + ". " + S.LIVENESS_DETAIL


def test_help_asked_during_the_cancel_question_comes_back_to_the_question(kiosk):
    """Help opened while "Cancel the session?" is open: closing help must bring the question
    back, said again, with the countdown still waiting; reading the help must not answer the
    question for the person either. It used to run the countdown again under the open question
    and say the instruction instead."""
    c, w = kiosk.controller, kiosk.window
    c.handle_command("start")
    c.handle_command("start")
    c.on_observation(face())
    left = c.engine.view().time_left
    c.handle_command("cancel")
    c.handle_command("help")
    assert w.stack.currentWidget() is w.message and c.transcript[-1].text == S.HELP_TEXT
    c.handle_command("repeat")
    assert c.transcript[-1].text == S.HELP_TEXT, "r repeats what is on screen"
    c.engine.clock.advance(c.CONFIRM_TIMEOUT_S + 5)  # the help takes a while to read
    c._tick()
    assert w.stack.currentWidget() is w.message and c.transcript[-1].text == S.HELP_TEXT
    c.handle_command("help")
    assert w.stack.currentWidget() is w.session and w.session.detail.text() == S.CANCEL_CONFIRM
    assert c.transcript[-1].text == S.CANCEL_CONFIRM
    for _ in range(50):
        c.engine.clock.advance(DT)
        c.on_observation(face())
    assert c.engine.state == State.LIVENESS and c.engine.view().time_left == left, "the countdown still waits"
    c.handle_command("deny")
    went_on = S.CANCEL_KEPT + " " + S.LIVENESS_TITLE + ". " + S.LIVENESS_DETAIL
    assert c.transcript[-1].text == went_on
    assert not c.engine.paused
    # answered while the help is still on screen: the help closes with the question
    c.handle_command("cancel")
    c.handle_command("help")
    c.handle_command("deny")
    c._tick()
    assert w.stack.currentWidget() is w.session and not c.engine.paused
    assert [e.text for e in c.transcript][-2:] == [S.HELP_TEXT, went_on], "the instruction once, after 'We go on'"


def test_choosing_cannot_see_with_voice_off_turns_it_on_and_both_prompts_are_heard(kiosk):
    c = kiosk.controller
    c.handle_command("voice")  # off, by key
    assert not c.speaker.enabled
    c.on_observation(face())
    assert wait_until(lambda: not c.speaker.is_speaking())
    QTest.keyClicks(kiosk.window, kiosk.window.welcome.key_of("no_sight"))
    assert c.speaker.enabled
    last = list(c.transcript)[-2:]
    assert [e.text for e in last] == [
        S.VOICE_ON,
        S.PROFILE_CHOSEN.format(label=S.PROFILE_LABELS["no_sight"], word="start"),
    ]
    assert wait_until(lambda: not c.speaker.is_speaking())
    assert not any(e.utterance.interrupted for e in last), "Voice on was cut off by the choice"


def test_a_free_cancel_leaves_no_failure_and_no_session_marked_in_progress(tmp_path):
    from kiosk.ratelimit import RateLimiter

    state = tmp_path / "lockout.json"
    clock = ManualClock()
    limiter = RateLimiter(max_failures=2, state_path=state, clock=clock.now)
    eng = SessionEngine(
        EngineSettings.defaults(gap_s=(0.0, 0.0)), HEAD_POSE_CHALLENGES, clock, rng=random.Random(1), limiter=limiter
    )
    for _ in range(3):  # more cancels than max_failures
        eng.start()
        _feed(eng, clock, face(), 10)
        eng.cancel()
    assert not limiter.locked() and limiter.failures_in_window() == 0
    again = RateLimiter(max_failures=2, state_path=state, clock=clock.now)
    assert again.interrupted == [] and again.failures_in_window() == 0, "a restart finds nothing cut short"


@pytest.mark.parametrize("reason", ["palm turned", "not upright"])
def test_an_asked_gesture_turned_away_for_a_fixable_reason_is_told_how_to_fix_it(
    app, state_dir, pipeline, screenshot_dir, reason
):
    """The person shows the asked gesture but with the palm turned from the camera or the fingers
    not up (a check after the classifier turns it away): after a second the kiosk shows and says
    how to put it right, once, in place of the instruction; when the hand is right the hint goes
    and the hold counts."""
    from kiosk.reporting import NullReporter

    cfg = make_cfg(state_dir, ui={"voice": True}, challenges={"kinds": ["gesture"]})
    # seed 14: the open hand is drawn first (with the shipped models' pool), the one gesture both
    # checks apply to ("palm to the camera", "fingers up")
    with shown_kiosk(cfg, pipeline, rng=random.Random(14), reporter=NullReporter()) as k:
        k.controller.model_problem = ""
        c, eng = k.controller, k.controller.engine
        clock: ManualClock = eng.clock

        def frames(obs: Observation, n: int) -> None:
            for _ in range(n):
                clock.advance(DT)
                c.on_observation(obs)

        c.handle_command(Command.START)  # the choices
        c.handle_command(Command.START)  # the check
        assert eng.state == State.LIVENESS
        frames(face(), eng.settings.real_frames)
        asked = eng.view().challenge
        assert eng.state == State.CHALLENGE and asked.id == "gesture:hi_five", asked.id
        frames(face(gesture="none"), int((eng.settings.gap_s[1] + 0.2) / DT))  # the pause, and the onset
        told = len(c.transcript)
        turned = face(gesture="none", gesture_rejected=(asked.target, reason))
        frames(turned, int(0.5 / DT))
        assert len(c.transcript) == told, "a moment's refusal is not told"
        frames(turned, int(0.8 / DT))
        text = S.GESTURE_HINTS[reason][1]
        assert [e.text for e in list(c.transcript)[told:]] == [text]
        # the words say what to change; the picture stays the asked gesture's
        assert k.window.session.detail.text() == text and k.window.session.icon.text() == asked.icon
        for _ in range(5):  # let the layout settle, as Journey.shot does
            QCoreApplication.sendPostedEvents()
            QCoreApplication.processEvents()
        assert k.window.grab().save(str(screenshot_dir / f"gesture_hint_{reason.replace(' ', '_')}.png"))
        frames(turned, int(2.0 / DT))
        assert len(c.transcript) == told + 1, "said once"
        frames(showing(asked), 3)
        assert eng.view().detected and eng.view().gesture_hint is None
        assert k.window.session.detail.text() != text, "the hint goes once the hand is right"
