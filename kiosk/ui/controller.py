"""Connects the camera worker, the session engine, the window and the voice.

Runs in the GUI thread: observations arrive as signals, the engine decides, the window shows
`engine.view()`, and events become spoken prompts, earcons and captions.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ..commands import Command
from ..ratelimit import PinGate
from ..session.engine import SessionEngine, State
from ..session.events import (
    AutoStarted,
    ChallengeFailed,
    ChallengePassed,
    ChallengeStarted,
    Detected,
    Event,
    Extended,
    SessionEnded,
    StateChanged,
)
from ..session.observation import Observation
from ..speech.qt_audio import HISTORY, NO_MICROPHONE
from . import strings as S
from .strings import tr

log = logging.getLogger(__name__)
# Everything the kiosk says or captions, one INFO line per prompt: what a blind person would
# have heard, even on a kiosk without an audio device. Only the prompt texts: never a score, a
# frame or anything else measured about the person.
transcript_log = logging.getLogger("kiosk.transcript")
if transcript_log.level == logging.NOTSET:
    # on by default, also under the default KIOSK_LOG=WARNING: the record of what a blind person
    # heard is the point of it (setting this logger to WARNING silences it)
    transcript_log.setLevel(logging.INFO)


@dataclass(frozen=True)
class Said:
    """One transcript entry."""

    text: str
    state: str  # the engine state it was said in
    utterance: object = None  # the speaker's own record of it (kiosk.speech Utterance), if any


def _spoken_word(command: Command, language: str) -> str:
    """The word a person says for a command, as the recogniser knows it (first phrase)."""
    try:
        from ..speech.commands import phrases_for

        word = phrases_for(command, language)[0]
    except (ImportError, KeyError):
        word = command.value.split(":")[-1].replace("_", " ")
    # the tables are lower case; German writes its nouns capitalised („Hände“, „Start“)
    return word[:1].upper() + word[1:] if language.startswith("de") else word


class CaptionOnlySpeaker(QObject):
    """Used when no speech engine is available: captions still show every prompt."""

    caption = Signal(str)

    def __init__(self):
        super().__init__()
        self.enabled = False
        self.utterances: deque[str] = deque(maxlen=HISTORY)  # bounded like the real Speaker's

    def say(self, text: str, language=None, interrupt: bool = True) -> None:
        self.utterances.append(text)
        self.caption.emit(text)

    def is_speaking(self) -> bool:
        return False

    def set_enabled(self, on: bool) -> None:
        self.enabled = on

    def stop(self) -> None:
        pass

    def play_earcon(self, name: str) -> None:
        pass


class KioskController(QObject):
    quit_requested = Signal()

    TRANSCRIPT_LENGTH = 500
    HINT_AFTER_S = 1.0  # a capture problem or a second face must last this long to be told
    CONFIRM_TIMEOUT_S = 20.0  # an unanswered "Cancel the session?" means no

    def __init__(
        self,
        cfg,
        engine: SessionEngine,
        window,
        worker_thread=None,
        speaker=None,
        listener=None,
        on_result=None,
        model_problem: str = "",
    ):
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
        self.transcript: deque[Said] = deque(maxlen=self.TRANSCRIPT_LENGTH)
        self._instruction = ""  # what `r` repeats: the current step's instruction
        self._interrupt_next = False  # the next prompt answers the person: cut what is said
        self._confirming: Command | None = None  # CANCEL or VOICE_OFF while the question is open
        self._confirm_asked_at = 0.0
        self._listen_after_speech = False
        self._microphone_open = False  # the listener records a command
        self._help_open = False
        self._hint: str | None = None  # the capture problem / two faces / gesture hint being told
        self._hint_candidate: str | None = None
        self._hint_since = 0.0
        self._locked_told = False  # the lockout was told to the person now at the kiosk
        self._caption_read_by: float | None = None  # when the last prompt's caption has been read
        self.language = getattr(cfg.ui, "language", "en")
        self.speaker.caption.connect(window.show_caption)
        if hasattr(self.speaker, "finished"):  # auto-start may go once the speech has ended
            self.speaker.finished.connect(self._sync_speaking)
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
            listener.listening_changed.connect(self._listening_changed)
            listener.recording.connect(self._microphone_hears)
            listener.error.connect(self._voice_input_failed)
            listener.no_microphone.connect(lambda: self.say(tr(S.NO_MICROPHONE)))
            listener.not_understood.connect(self._not_understood)
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
        self._sync_speaking()
        self._tell_lockout(obs)
        self._handle(self.engine.feed(obs))

    def _tick(self) -> None:
        self._sync_speaking()
        if self._listen_after_speech and not self._speaking():
            self._listen_after_speech = False
            self.handle_command(Command.LISTEN)
        # help opened over a question is being read: the question waits, it is asked again after
        if (
            self._confirming
            and not self._help_open
            and self.engine.clock.now() - self._confirm_asked_at > self.CONFIRM_TIMEOUT_S
        ):
            self.handle_command(Command.DENY)
        self._handle(self.engine.tick())
        self._clear_read_caption()
        if self._help_open and not self.engine.paused:  # the engine's pause ran out: go on
            self._help_open = False
            self._confirming = None  # a question under the help ran out with it
            self.say(self._instruction)
            self.refresh()

    def at_rest(self) -> bool:
        """Nobody is being served: the attract screen with no face in view, nothing being said,
        no question or help open. A restart now (to get the audio back) cuts no one off: not
        even someone still standing there after their verdict, who would be welcomed again."""
        return (
            self.engine.state == State.IDLE
            and not self.engine.view().face
            and not self._speaking()
            and self._confirming is None
            and not self._help_open
        )

    def _speaking(self) -> bool:
        return bool(getattr(self.speaker, "is_speaking", lambda: False)())

    def _sync_speaking(self) -> None:
        # An open question is still the kiosk talking with the person: on the welcome screen
        # (where nothing pauses) auto-start waits for the answer, then for its quiet pause. So
        # does an open microphone: a choice said into it must find the welcome still there.
        self.engine.set_speaking(self._speaking() or self._confirming is not None or self._microphone_open)

    def _handle(self, events: list[Event], by_person: bool = False) -> None:
        """Announce the engine's events. `by_person`: they answer a key, touch or voice
        command, so the first prompt may cut off what was being said; prompts that follow from
        the session itself queue behind it and are never cut."""
        self._interrupt_next = by_person
        for e in events:
            self._announce(e)
        self._interrupt_next = False
        if self.worker_thread is not None:
            self.worker_thread.worker.set_needs(self.engine.needs())
        self._update_hint()
        self.refresh()

    def _announce(self, e: Event) -> None:
        sp = self.speaker
        match e:
            case StateChanged(state=State.IDLE):
                if self.worker_thread is not None:
                    self.worker_thread.worker.reset_session()
                self._close_questions()
                self._instruction = ""
                if self._lockout_minutes() is not None:
                    self._locked_told = False  # told on the attract screen to whoever is there
            case StateChanged(state=State.WELCOME):
                self._instruction = self._welcome_text()
                self.say(self._instruction)
            case StateChanged(state=State.LIVENESS):
                self._close_questions()
                self._instruction = tr(S.LIVENESS_TITLE) + ". " + tr(S.LIVENESS_DETAIL)
                self.say(self._instruction)
            case StateChanged(state=State.LOCKED):
                self._instruction = self._locked_text()
                self.say(self._instruction)
            case AutoStarted():
                self.say(tr(S.STARTING_NOW))
            case ChallengeStarted():
                self._drop_gesture_hint()  # it was about the last challenge's hand
                step = tr(S.CHALLENGE_OF).format(index=e.index, total=e.total)
                self._instruction = f"{step}. {tr(e.challenge.instruction)}"
                self.say(self._instruction)
            case Detected():
                self._drop_gesture_hint()  # the hand is right now: no second's wait to say so
                sp.play_earcon("detected")
            case ChallengePassed():
                sp.play_earcon("step")
                if e.index < self.engine.settings.challenge_count:  # the last one gets the verdict
                    self.say(tr(S.WELL_DONE))
            case ChallengeFailed():
                if e.attempts_left > 0:  # the last try's failure gets the verdict, no next step
                    self.say(tr(S.NOT_THIS_TIME))
            case Extended():
                self.say(tr(S.EXTENDED))
            case SessionEnded(result="passed" | "denied"):
                passed = e.result == "passed"
                sp.play_earcon("pass" if passed else "fail")
                self._instruction = self._result_text(passed, e.reason)
                self.say(self._instruction)
                if self.on_result:
                    self.on_result(e.record)
            case SessionEnded(result="abandoned"):
                if e.reason == "face_lost":
                    self.say(tr(S.FACE_LOST))
                elif e.reason == "cancelled":
                    self.say(tr(S.CANCELLED))
                if self.on_result:
                    self.on_result(e.record)

    def say(self, text: str, interrupt: bool | None = None) -> None:
        """Speak (with voice on) and caption `text`, and write it to the transcript. Prompts
        queue behind what is being said unless they answer the person (see _handle)."""
        if interrupt is None:
            interrupt = self._interrupt_next
        self._interrupt_next = False
        transcript_log.info("%s", text)
        utterance = self.speaker.say(text, interrupt=interrupt)
        self.transcript.append(Said(text, self.engine.state.value, utterance))
        w = self.window
        reading_s = max(w.CAPTION_MIN_PAGE_S, len(text) / w.CAPTION_CHARS_PER_S)
        self._caption_read_by = self.engine.clock.now() + reading_s
        self._sync_speaking()

    def _clear_read_caption(self) -> None:
        """On the attract screen the caption bar keeps a prompt only until it has been said and
        could be read: the next person walking up must not find the last one's verdict there."""
        if (
            self._caption_read_by is not None
            and self.engine.state == State.IDLE
            and not self._speaking()
            and self.engine.clock.now() >= self._caption_read_by
        ):
            self._caption_read_by = None
            self.window.show_caption("")

    def _result_text(self, passed: bool, reason: str = "") -> str:
        """The verdict's words; a denial that locked the kiosk says how long to wait instead of
        "please try again", and one where the camera could not see the person well says so."""
        if passed:
            return tr(S.PASSED_DETAIL)
        if self._lockout_minutes() is not None:
            return tr(S.DENIED_TITLE) + ". " + self._locked_text()
        if reason == "poor_capture":
            return tr(S.DENIED_POOR_CAPTURE)
        return tr(S.DENIED_DETAIL)

    def _welcome_text(self) -> str:
        """The spoken welcome: every choice, with its key, touch and spoken word."""
        welcome = self.window.welcome
        parts = [tr(S.WELCOME_SPOKEN)]
        for key, name in welcome.profile_keys.items():
            parts.append(
                tr(S.PROFILE_CHOICE).format(
                    label=tr(S.PROFILE_LABELS[name]),
                    key=key,
                    word=_spoken_word(Command.for_profile(name), self.language),
                )
            )
        parts.append(tr(S.START_CHOICE).format(word=_spoken_word(Command.START, self.language)))
        return " ".join(parts)

    def _lockout_minutes(self) -> int | None:
        limiter = self.engine.limiter
        if limiter is None or not limiter.locked():
            return None
        return max(1, int(limiter.remaining_lockout() / 60 + 0.999))

    def _locked_text(self) -> str:
        return tr(S.LOCKED_DETAIL).format(minutes=self._lockout_minutes() or 1)

    def _tell_lockout(self, obs: Observation) -> None:
        """Someone steps up to a locked kiosk: say how long they must wait, once per visit."""
        if self.engine.state != State.IDLE:
            return
        minutes = self._lockout_minutes()
        if minutes is None or not obs.face:
            if not obs.face:
                self._locked_told = False
            return
        if not self._locked_told:
            self._locked_told = True
            self.say(tr(S.LOCKED_ATTRACT).format(minutes=minutes))

    # ------------------------------------------------------------ hints
    def _update_hint(self) -> None:
        """During a session: a capture problem, a second face or an asked gesture turned away
        for a reason the person can fix (palm turned, fingers not up), once it has lasted
        HINT_AFTER_S, is shown in place of the instruction and said once."""
        v = self.engine.view()
        key = None
        if v.state in (State.LIVENESS, State.CHALLENGE):
            if v.faces > 1:
                key = "two_faces"
            elif v.capture is not None:
                key = getattr(v.capture, "value", str(v.capture))
            elif v.gesture_hint is not None:
                key = v.gesture_hint
        now = self.engine.clock.now()
        if key != self._hint_candidate:
            self._hint_candidate, self._hint_since = key, now
        if key == self._hint or now - self._hint_since < self.HINT_AFTER_S:
            return
        self._hint = key
        if key is not None and not self.engine.paused:
            self.say(self._hint_text(key))

    def _drop_gesture_hint(self) -> None:
        """Forget a gesture hint (told or waiting) at once; a capture hint keeps its own timing."""
        if self._hint in S.GESTURE_HINTS:
            self._hint = None
        if self._hint_candidate in S.GESTURE_HINTS:
            self._hint_candidate = None

    @staticmethod
    def _hint_text(key: str) -> str:
        if key == "two_faces":
            return tr(S.TWO_FACES)
        return tr(S.GESTURE_HINTS[key][1] if key in S.GESTURE_HINTS else S.CAPTURE_HINTS[key][1])

    @staticmethod
    def _hint_icon(key: str) -> str:
        if key == "two_faces":
            return S.NOTICE_ICONS["two_faces"]
        return S.GESTURE_HINTS[key][0] if key in S.GESTURE_HINTS else S.CAPTURE_HINTS[key][0]

    # -------------------------------------------------------- questions, help
    def _ask(self, what: Command, by_voice: bool) -> None:
        """A yes/no question before a destructive step (cancel, voice off). The countdown
        waits; asked by voice, the kiosk listens for the answer once the question was said."""
        self._confirming = what
        self._confirm_asked_at = self.engine.clock.now()
        self.engine.pause()
        self.say(self._question()[2], interrupt=True)
        self._listen_after_speech = (
            by_voice
            and self.listener is not None
            and bool(getattr(self.listener, "microphone_available", lambda: True)())
        )

    def _question(self) -> tuple[str, str, str, str, str]:
        """(icon, title, question, yes, no) of the open question."""
        if self._confirming == Command.CANCEL:
            return S.NOTICE_ICONS["cancel"], tr(S.CANCEL), tr(S.CANCEL_CONFIRM), tr(S.YES_CANCEL), tr(S.NO_GO_ON)
        return (
            S.NOTICE_ICONS["voice_off"],
            tr(S.VOICE_OFF),
            tr(S.VOICE_OFF_CONFIRM),
            tr(S.YES_VOICE_OFF),
            tr(S.NO_KEEP_VOICE),
        )

    def _close_questions(self) -> None:
        self._confirming = None
        self._help_open = False
        self._listen_after_speech = False
        self._hint = self._hint_candidate = None

    def _problem(self) -> tuple[str, str, str] | None:
        """(icon, title, detail) of the screen shown while the kiosk cannot verify anyone."""
        if self.model_problem:
            return "🛠️", tr(S.MODEL_TITLE), tr(S.MODEL_DETAIL).format(what=self.model_problem)
        if self.camera_problem:
            return "📷", tr(S.CAMERA_TITLE), tr(S.CAMERA_DETAIL)
        return None

    def _current_prompt(self) -> str:
        problem = self._problem()
        if problem is not None:
            return f"{problem[1]}. {problem[2]}"
        if self._help_open:  # on screen even over an open question
            return tr(S.HELP_TEXT)
        if self._confirming:
            return self._question()[2]
        if self.engine.state == State.IDLE:
            minutes = self._lockout_minutes()
            return tr(S.ATTRACT_HELP) if minutes is None else tr(S.LOCKED_ATTRACT).format(minutes=minutes)
        if self.engine.state == State.LOCKED:
            return self._locked_text()  # the minutes as the screen shows them now
        return self._instruction

    # ------------------------------------------------------------------ input
    @Slot(str)
    def handle_command(self, command: Command | str, by_voice: bool = False) -> None:
        """A key, touch or voice command. Each means one thing on every screen."""
        command = Command(command)  # the window's signal carries the value
        e = self.engine
        if self._problem() is not None and (command == Command.START or command.profile):
            # Out of service or no camera: a session could see nobody. Say why instead.
            self.say(self._current_prompt(), interrupt=True)
            return
        if self._confirming and command not in (Command.LISTEN, Command.REPEAT, Command.HELP):
            what, self._confirming = self._confirming, None
            self._listen_after_speech = False
            self._help_open = False  # help opened over the question closes with its answer
            e.resume()
            if command in (Command.CONFIRM, what) or (what == Command.VOICE_OFF and command == Command.VOICE):
                if what == Command.CANCEL:
                    events = e.cancel()
                    self._handle(events, by_person=True)
                    if not any(isinstance(ev, SessionEnded) for ev in events):
                        # no check had begun (the welcome): no verdict prompt tells the person
                        # that their cancel was done
                        self.say(tr(S.CANCELLED), interrupt=True)
                else:
                    self._set_voice(False)
            else:
                self.say(tr(S.CANCEL_KEPT) + " " + self._instruction, interrupt=True)
                if command != Command.DENY:
                    self.handle_command(command, by_voice)
            self.refresh()
            return
        if command == Command.START:
            if e.state == State.IDLE:
                self._handle(e.welcome(), by_person=True)
            else:
                self._handle(e.start(), by_person=True)
        elif command == Command.CANCEL:
            if e.state in (State.WELCOME, State.LIVENESS, State.CHALLENGE):
                self._help_open = False
                self._ask(Command.CANCEL, by_voice)
        elif command == Command.MORE_TIME:
            events = e.more_time()
            if not events and e.state in (State.LIVENESS, State.CHALLENGE):
                # spent (or level 1, which has none): said, or it sounds like time was given
                self.say(tr(S.NO_MORE_TIME), interrupt=True)
            self._handle(events, by_person=True)
        elif command == Command.REPEAT:
            if self._current_prompt():
                self.say(self._current_prompt(), interrupt=True)
        elif command == Command.HELP:
            self._toggle_help()
        elif command in (Command.VOICE, Command.VOICE_ON, Command.VOICE_OFF):
            on = not self.speaker.enabled if command == Command.VOICE else command == Command.VOICE_ON
            if not on and by_voice:
                self._ask(Command.VOICE_OFF, by_voice)  # a misheard word must not silence the kiosk
            else:
                self._set_voice(on)
        elif command == Command.LISTEN:
            if self.listener is None:
                self.say(tr(S.NO_MICROPHONE), interrupt=True)
            elif not self._microphone_open:
                # (pressed again while it records: the listening sound would go into the
                # recording, and the stop would cut off what waits to be said after it)
                self.speaker.stop()  # do not record our own voice
                self.listener.listen()  # the listening earcon sounds once the microphone hears
        elif command.profile and e.state in (State.IDLE, State.WELCOME):
            self.choose_profile(command.profile)
        self.refresh()

    def _set_voice(self, on: bool) -> None:
        if not on:
            self.speaker.stop()
        self.speaker.set_enabled(on)
        self.window.set_voice(on)
        self.say(tr(S.VOICE_ON if on else S.VOICE_OFF), interrupt=True)

    def _toggle_help(self) -> None:
        """Help is read out in full, keys included, and the countdown waits until the person
        closes it (h, or the Help button again)."""
        e = self.engine
        if e.state == State.WELCOME:
            self.say(self._welcome_text(), interrupt=True)
            return
        if e.state not in (State.LIVENESS, State.CHALLENGE):
            # attract, lockout, verdict: no countdown to stop and no pose to hold; what the
            # screen says is the help there
            self.say(self._current_prompt(), interrupt=True)
            return
        if self._help_open:
            self._help_open = False
            if self._confirming:
                # the question asked before help is still open: the countdown keeps waiting, and
                # the question is asked again, with its full time to answer
                self._confirm_asked_at = e.clock.now()
                self.say(self._current_prompt(), interrupt=True)
                return
            e.resume()
            self.say(self._instruction, interrupt=True)
        else:
            self._help_open = True
            e.pause()
            self.say(tr(S.HELP_TEXT), interrupt=True)

    @Slot(object)
    def _voice_command(self, command: Command) -> None:
        self.handle_command(command, by_voice=True)

    @Slot(bool)
    def _listening_changed(self, listening: bool) -> None:
        self.window.set_listening(listening)
        self._microphone_open = listening
        self._sync_speaking()
        # Nothing is said into the open microphone: it would be recorded over the person and
        # could be taken for their command. What is said meanwhile is captioned now, said after.
        hold = getattr(self.speaker, "hold", None)
        if hold is not None:
            hold(listening)

    @Slot()
    def _microphone_hears(self) -> None:
        # the cue to speak: only now is what the person says recorded
        self.speaker.play_earcon("listening")

    @Slot(str)
    def _voice_input_failed(self, reason: str) -> None:
        # Said, not only captioned: a blind person who pressed L heard the listening sound and
        # would otherwise hear nothing more. A missing microphone has been said already
        # (no_microphone), and a second caption would cover what was said.
        if reason != NO_MICROPHONE:
            self.say(tr(S.VOICE_INPUT_PROBLEM), interrupt=True)

    @Slot(str)
    def _not_understood(self, heard: str) -> None:
        if self._confirming and not self._help_open:
            # a yes/no question waits: the list of commands leaves out yes and no (and "cancel"
            # would answer it), the question itself says how to answer
            self.say(self._question()[2], interrupt=True)
            return
        self.say(tr(S.NOT_UNDERSTOOD), interrupt=True)

    @Slot(str)
    def choose_profile(self, name: str) -> None:
        if name not in self.engine.available_profiles():
            # Only a spoken choice gets here (the screen and the keys offer only what this site's
            # challenges can serve): "head" where head pose is the only kind left, say.
            self.say(tr(S.PROFILE_UNAVAILABLE), interrupt=True)
            return
        if self.engine.state == State.IDLE:
            self._handle(self.engine.welcome(), by_person=True)
        self._handle(self.engine.set_profile(name), by_person=True)
        self.window.welcome.select(name)
        turned_on = name == "no_sight" and not self.speaker.enabled
        if turned_on:
            self._set_voice(True)
        if self.engine.state == State.WELCOME:
            # after "Voice on" it queues, so that both are heard
            self.say(
                tr(S.PROFILE_CHOSEN).format(
                    label=tr(S.PROFILE_LABELS[name]), word=_spoken_word(Command.START, self.language)
                ),
                interrupt=not turned_on,
            )

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
        problem = self._problem()
        in_session = v.state in (State.LIVENESS, State.CHALLENGE)
        if self._confirming and not self._help_open and not (in_session and self._confirming == Command.CANCEL):
            # A question is answered on screen as well as by key and voice, wherever it was
            # asked (a spoken "voice off" can come on any screen, even out of service); help
            # opened over it is read first. The session screen asks "Cancel?" beside the
            # camera view with its own two buttons.
            w.question.show_question(*self._question())
            w.show_screen(w.question)
        elif problem is not None:
            w.message.show_message(*problem)
            w.show_screen(w.message)
        elif v.state == State.IDLE:
            w.attract.show_lockout(self._lockout_minutes())
            w.show_screen(w.attract)
        elif v.state == State.WELCOME:
            w.welcome.select(v.profile)
            w.show_screen(w.welcome)
        elif in_session and self._help_open:
            # the whole width: the help with its keys does not fit beside the camera view
            w.message.show_message(S.NOTICE_ICONS["help"], f"{tr(S.HELP)} · ⏸ {tr(S.PAUSED)}", tr(S.HELP_TEXT))
            w.show_screen(w.message)
        elif in_session:
            w.session.show_view(
                v,
                self._notice(v),
                paused=v.paused,
                after_failure=v.after_failure,
                question=self._confirming == Command.CANCEL,
            )
            w.show_screen(w.session)
        elif v.state in (State.PASSED, State.DENIED):
            w.result.show_result(v.state == State.PASSED, self._result_text(v.state == State.PASSED, v.reason))
            w.show_screen(w.result)
        elif v.state == State.LOCKED:
            w.message.show_message("⏳", tr(S.LOCKED_TITLE), self._locked_text())
            w.show_screen(w.message)

    def _notice(self, v) -> tuple[str, str, str] | None:
        """What takes the instruction's place on the session screen, most urgent first."""
        if self._confirming == Command.CANCEL:  # any other question has the question screen
            return self._question()[:3]
        if self._hint is not None:
            title = tr(v.challenge.text) if v.challenge is not None else tr(S.LIVENESS_TITLE)
            icon = self._hint_icon(self._hint)
            if self._hint in S.GESTURE_HINTS and v.challenge is not None:
                icon = v.challenge.icon  # the asked gesture stays in the picture; the words say what to change
            return icon, title, self._hint_text(self._hint)
        return None

    def shutdown(self) -> None:
        self.timer.stop()
        self.speaker.stop()
        for part in (self.speaker, self.listener):
            if hasattr(part, "shutdown"):
                part.shutdown()
        if self.worker_thread is not None:
            self.worker_thread.shutdown()
