"""Connects the camera worker, the session engine, the window and the voice.

Runs in the GUI thread: observations arrive as signals, the engine decides, the window shows
`engine.view()`, and events become spoken prompts, earcons and captions.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ..ratelimit import PinGate
from ..session.engine import SessionEngine, State
from ..session.events import (ChallengeFailed, ChallengePassed, ChallengeStarted, Detected, Event, Extended,
                              SessionEnded, StateChanged)
from ..session.observation import Observation
from . import strings as S
from .strings import tr

log = logging.getLogger(__name__)


class CaptionOnlySpeaker(QObject):
    """Used when no speech engine is available: captions still show every prompt."""

    caption = Signal(str)

    def __init__(self):
        super().__init__()
        self.enabled = False
        self.utterances: list[str] = []

    def say(self, text: str, language=None, interrupt: bool = True) -> None:
        self.utterances.append(text)
        self.caption.emit(text)

    def set_enabled(self, on: bool) -> None:
        self.enabled = on

    def stop(self) -> None:
        pass

    def play_earcon(self, name: str) -> None:
        pass


class KioskController(QObject):
    quit_requested = Signal()

    def __init__(self, cfg, engine: SessionEngine, window, worker_thread=None, speaker=None, listener=None,
                 on_result=None, model_problem: str = ""):
        super().__init__()
        self.cfg = cfg
        self.engine = engine
        self.window = window
        self.worker_thread = worker_thread
        self.speaker = speaker or CaptionOnlySpeaker()
        self.listener = listener
        self.on_result = on_result
        self.model_problem = model_problem
        self.camera_problem = ""
        self._last_prompt = ""
        self.speaker.caption.connect(window.show_caption)
        self.speaker.set_enabled(cfg.ui.voice)
        window.set_voice(cfg.ui.voice)
        window.command.connect(self.handle_command)
        window.exit_requested.connect(self._exit_requested)
        self.pin_gate = PinGate(cfg.ui.admin_pin, clock=engine.clock.now)
        window.admin_pin.connect(self._admin_pin)
        window.welcome.profile.connect(self.choose_profile)
        window.welcome.set_available(engine.available_profiles())
        if listener is not None:
            listener.command.connect(self._voice_command)
            listener.listening_changed.connect(window.set_listening)
            listener.error.connect(lambda text: window.show_caption(tr(S.VOICE_INPUT_PROBLEM)))
            listener.no_microphone.connect(lambda: self.say(tr(S.NO_MICROPHONE)))
            listener.not_understood.connect(lambda heard: self.say(tr(S.NOT_UNDERSTOOD)))
        if worker_thread is not None:
            w = worker_thread.worker
            w.observed.connect(self.on_observation)
            w.frame.connect(window.session.camera.show_frame)
            w.camera_lost.connect(self.on_camera_lost)
            w.camera_ok.connect(self.on_camera_ok)
            w.crashed.connect(self.on_worker_crash)
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.refresh()
        if model_problem:
            self.say(tr(S.MODEL_TITLE) + ". " + tr(S.MODEL_DETAIL).format(what=model_problem))

    # ----------------------------------------------------------------- events
    @Slot(object)
    def on_observation(self, obs: Observation) -> None:
        if self.model_problem:
            return
        self._handle(self.engine.feed(obs))

    def _tick(self) -> None:
        self._handle(self.engine.tick())

    def _handle(self, events: list[Event]) -> None:
        for e in events:
            self._announce(e)
        if self.worker_thread is not None:
            self.worker_thread.worker.set_needs(self.engine.needs())
        self.refresh()

    def _announce(self, e: Event) -> None:
        sp = self.speaker
        match e:
            case StateChanged(state=State.IDLE):
                if self.worker_thread is not None:
                    self.worker_thread.worker.reset_session()
            case StateChanged(state=State.WELCOME):
                self.say(tr(S.WELCOME_TITLE) + ". " + tr(S.WELCOME_DETAIL))
            case StateChanged(state=State.LIVENESS):
                self.say(tr(S.LIVENESS_TITLE) + ". " + tr(S.LIVENESS_DETAIL))
            case StateChanged(state=State.LOCKED):
                self.say(self._locked_text())
            case ChallengeStarted():
                step = tr(S.CHALLENGE_OF).format(index=e.index, total=e.total)
                self.say(f"{step}. {tr(e.challenge.instruction)}")
            case Detected():
                sp.play_earcon("detected")
            case ChallengePassed():
                sp.play_earcon("step")
            case ChallengeFailed():
                self.say(tr(S.TRY_ANOTHER))
            case Extended():
                self.say(tr(S.EXTENDED))
            case SessionEnded(result="passed" | "denied"):
                passed = e.result == "passed"
                sp.play_earcon("pass" if passed else "fail")
                self.say(tr(S.PASSED_DETAIL if passed else S.DENIED_DETAIL))
                if self.on_result:
                    self.on_result(e.record)
            case SessionEnded(result="abandoned"):
                if e.reason == "face_lost":
                    self.say(tr(S.FACE_LOST))
                if self.on_result:
                    self.on_result(e.record)

    def say(self, text: str) -> None:
        self._last_prompt = text
        self.speaker.say(text)

    def _locked_text(self) -> str:
        minutes = max(1, int(self.engine.view().lockout_left / 60 + 0.999))
        return tr(S.LOCKED_DETAIL).format(minutes=minutes)

    # ------------------------------------------------------------------ input
    @Slot(str)
    def handle_command(self, name: str) -> None:
        e = self.engine
        if name == "start":
            self._handle(e.start())
        elif name == "cancel":
            self._handle(e.cancel())
        elif name == "more_time":
            self._handle(e.more_time())
        elif name == "repeat":
            if self._last_prompt:
                self.speaker.say(self._last_prompt)
        elif name == "help":
            self.say(tr(S.HELP_TEXT))
        elif name in ("voice", "voice_on", "voice_off"):
            on = {"voice": not self.speaker.enabled, "voice_on": True, "voice_off": False}[name]
            if not on:
                self.speaker.stop()
            self.speaker.set_enabled(on)
            self.window.set_voice(on)
            self.say(tr(S.VOICE_ON if on else S.VOICE_OFF))
        elif name == "listen":
            if self.listener is None:
                self.say(tr(S.NO_MICROPHONE))
            else:
                self.speaker.stop()  # do not record our own voice
                self.speaker.play_earcon("listening")
                self.listener.listen()
        self.refresh()

    @Slot(object)
    def _voice_command(self, command) -> None:
        self.handle_command(getattr(command, "value", str(command)))

    @Slot(str)
    def choose_profile(self, name: str) -> None:
        self._handle(self.engine.set_profile(name))
        self.window.welcome.select(name)
        if name == "no_sight" and not self.speaker.enabled:
            self.handle_command("voice_on")

    def _exit_requested(self) -> None:
        if self.cfg.ui.allow_exit:
            self.quit_requested.emit()

    def _admin_pin(self, pin: str) -> None:
        result = self.pin_gate.check(pin)  # constant-time, 5 wrong = locked 5 min, logged without the PIN
        if result.accepted:
            self.quit_requested.emit()
        elif self.pin_gate.enabled:
            self.window.show_pin_feedback(result.tries_left, result.locked_s)

    # ------------------------------------------------------------ camera state
    def abandon(self, reason: str) -> None:
        """A session in progress ends as abandoned, reported through on_result like any other."""
        self._handle(self.engine.cancel(reason))

    @Slot(str)
    def on_camera_lost(self, reason: str) -> None:
        log.warning("camera lost: %s", reason)
        self.abandon("camera_lost")
        if not self.camera_problem:
            self.camera_problem = reason or "no camera"
            self.window.session.camera.clear_frame()
            self.say(tr(S.CAMERA_TITLE) + ". " + tr(S.CAMERA_DETAIL))
        self.refresh()

    @Slot()
    def on_camera_ok(self) -> None:
        self.camera_problem = ""
        self.refresh()

    @Slot(str)
    def on_worker_crash(self, reason: str) -> None:
        # Reported by the worker; the session restarts rather than freezing on a half-done state.
        self.abandon("vision_error")

    # ---------------------------------------------------------------- display
    def refresh(self) -> None:
        w = self.window
        v = self.engine.view()
        if self.model_problem:
            w.message.show_message("🛠️", tr(S.MODEL_TITLE), tr(S.MODEL_DETAIL).format(what=self.model_problem))
            w.show_screen(w.message)
        elif self.camera_problem:
            w.message.show_message("📷", tr(S.CAMERA_TITLE), tr(S.CAMERA_DETAIL))
            w.show_screen(w.message)
        elif v.state == State.IDLE:
            w.show_screen(w.attract)
        elif v.state == State.WELCOME:
            w.welcome.select(v.profile)
            w.show_screen(w.welcome)
        elif v.state in (State.LIVENESS, State.CHALLENGE):
            w.session.show_view(v)
            w.show_screen(w.session)
        elif v.state in (State.PASSED, State.DENIED):
            w.result.show_result(v.state == State.PASSED)
            w.show_screen(w.result)
        elif v.state == State.LOCKED:
            w.message.show_message("⏳", tr(S.LOCKED_TITLE), self._locked_text())
            w.show_screen(w.message)

    def shutdown(self) -> None:
        self.timer.stop()
        self.speaker.stop()
        for part in (self.speaker, self.listener):
            if hasattr(part, "shutdown"):
                part.shutdown()
        if self.worker_thread is not None:
            self.worker_thread.shutdown()
