"""The verification session as a state machine driven by observations and an injected clock.

idle -> welcome -> liveness (level 1) -> challenge i of N (level 2) -> passed | denied -> idle
and locked (too many failures) -> idle. The Qt layer only shows `view()` and forwards input.
"""

from __future__ import annotations

import dataclasses
import enum
import random
import secrets
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .catalogue import Challenge, Kind
from .challenges import ChallengeDrawer, HeadPoseThresholds, Judge
from .events import (
    AutoStarted,
    ChallengeFailed,
    ChallengePassed,
    ChallengeStarted,
    Detected,
    Event,
    Extended,
    Need,
    ProfileChosen,
    SessionEnded,
    StateChanged,
    TrackChanged,
)
from .observation import CaptureProblem, Observation

if TYPE_CHECKING:
    from ..config import Config


def median_pose(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """Per-axis median; robust to the odd frame where the landmarks jumped."""
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


# Sessions the kiosk itself ends (engine.cancel(reason)): reported as abandoned with the reason.
# "stopped": the service was stopped or restarted (systemd stop, shutdown, an upgrade), which the
# person in front of it cannot do.
KIOSK_ABANDON_REASONS = ("camera_lost", "vision_error", "out_of_service", "stopped")


class State(str, enum.Enum):
    IDLE = "idle"
    WELCOME = "welcome"
    LIVENESS = "liveness"
    CHALLENGE = "challenge"
    PASSED = "passed"
    DENIED = "denied"
    LOCKED = "locked"


# Accessibility choices at the welcome screen: each removes the kinds the person cannot do.
# The number of challenges to pass stays the same.
PROFILES: dict[str, frozenset[str]] = {
    "standard": frozenset(),
    "no_hands": frozenset({Kind.GESTURE}),
    "no_expression": frozenset({Kind.EMOTION}),
    "limited_head": frozenset({Kind.HEAD_POSE}),
    "no_sight": frozenset(),  # every prompt is spoken; the challenge draw is unchanged
}

# The detector each challenge kind needs besides the face.
KIND_NEEDS: dict[str, Need] = {Kind.HEAD_POSE: Need.HEAD_POSE, Kind.GESTURE: Need.HANDS, Kind.EMOTION: Need.EMOTION}


def needs_for(state: State, kind: str | None = None) -> frozenset[Need]:
    """The detectors a state needs (`kind`: the challenge's, in the challenge state). The pipeline
    runs only these; `kiosk bench` measures each state's set from this same table."""
    if state in (State.IDLE, State.WELCOME):
        return frozenset({Need.FACE})
    if state == State.LIVENESS:
        return frozenset({Need.FACE, Need.LIVENESS, Need.HEAD_POSE})
    if state == State.CHALLENGE and kind is not None:
        return frozenset({Need.FACE, KIND_NEEDS[kind]})
    return frozenset()


# Help or a question pauses the countdown; after this long the session goes on by itself (nobody
# answered: they may have left, and the face-lost check must not wait forever).
MAX_PAUSE_S = 60.0


# Checks after the gesture classifier whose failure the person can put right when told
# (kiosk.vision.gestures.GestureResult.rejected); the others ("confidence", "shape", "fingers")
# mean another hand shape, and the instruction already says which.
GESTURE_HINT_REASONS = frozenset({"palm turned", "not upright"})


class Clock(Protocol):
    def now(self) -> float: ...


class Limiter(Protocol):
    def begin(self, session_id: str) -> None: ...
    def record(self, passed: bool) -> None: ...
    def locked(self) -> bool: ...
    def remaining_lockout(self) -> float: ...


@dataclass(frozen=True)
class EngineSettings:
    """The session's rules. Built from the typed config; the values live in default_config.toml
    only (`defaults()` reads them there for tests and tools)."""

    real_frames: int
    spoof_frames: int
    liveness_timeout_s: float
    require_blink: bool
    deny_on_flat: bool
    require_3d: bool
    challenge_count: int
    frames_to_pass: int
    onset_frames: int
    time_limit_s: float
    attempts: int
    max_extensions: int
    gap_s: tuple[float, float]
    welcome_timeout_s: float
    auto_start_s: float
    result_display_s: float
    face_lost_timeout_s: float
    judge: Judge

    @classmethod
    def from_config(cls, cfg: Config) -> EngineSettings:
        return cls(
            real_frames=cfg.liveness.real_frames,
            spoof_frames=cfg.liveness.spoof_frames,
            liveness_timeout_s=cfg.liveness.timeout_s,
            require_blink=cfg.liveness.require_blink,
            deny_on_flat=cfg.liveness.deny_on_flat,
            require_3d=cfg.liveness.require_3d,
            challenge_count=cfg.challenges.count,
            frames_to_pass=cfg.challenges.frames_to_pass,
            onset_frames=cfg.challenges.onset_frames,
            time_limit_s=cfg.challenges.time_limit_s,
            attempts=cfg.challenges.attempts,
            max_extensions=cfg.challenges.max_extensions,
            gap_s=(cfg.challenges.gap_s[0], cfg.challenges.gap_s[1]),
            welcome_timeout_s=cfg.session.welcome_timeout_s,
            auto_start_s=cfg.session.auto_start_s,
            result_display_s=cfg.session.result_display_s,
            face_lost_timeout_s=cfg.session.face_lost_timeout_s,
            judge=Judge(
                HeadPoseThresholds(cfg.head_pose.yaw_deg, cfg.head_pose.pitch_deg, cfg.head_pose.max_other_deg),
                cfg.emotion.min_margin,
            ),
        )

    @classmethod
    def defaults(cls, **overrides: Any) -> EngineSettings:
        """The shipped defaults (default_config.toml), with some rules replaced."""
        from ..config import config_from_dict

        return dataclasses.replace(cls.from_config(config_from_dict({})), **overrides)


@dataclass
class ChallengeRecord:
    id: str
    kind: str
    passed: bool = False
    frames: int = 0  # frames observed while this challenge was live
    matched_frames: int = 0
    seconds: float = 0.0
    extensions: int = 0
    reason: str = ""


@dataclass
class SessionRecord:
    session_id: str
    started_at: float
    profile: str = "standard"
    states: list[str] = field(default_factory=list)
    challenges: list[ChallengeRecord] = field(default_factory=list)
    frames: int = 0
    liveness_frames: int = 0
    liveness_seconds: float = 0.0
    levels_passed: int = 0
    result: str = ""  # passed | denied | abandoned
    reason: str = ""
    finished_at: float | None = None
    last_seen_at: float = 0.0  # time of the latest frame, for sessions that never finished

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "profile": self.profile,
            "states": list(self.states),
            "result": self.result,
            "reason": self.reason,
            "levels_passed": self.levels_passed,
            "frames": self.frames,
            "liveness_frames": self.liveness_frames,
            "liveness_seconds": round(self.liveness_seconds, 3),
            "duration_s": round((self.finished_at or self.last_seen_at) - self.started_at, 3),
            "challenges": [vars(c) | {"seconds": round(c.seconds, 3)} for c in self.challenges],
        }


@dataclass(frozen=True)
class SessionView:
    """Everything a screen needs; no scores (the user only ever learns pass or fail)."""

    state: State
    challenge: Challenge | None = None
    index: int = 0  # 1-based number of the current challenge
    total: int = 0
    streak: int = 0
    needed: int = 0
    time_left: float | None = None
    time_limit: float = 0.0
    attempts_left: int = 0
    detected: bool = False  # the current frame meets the challenge
    in_gap: bool = False  # short pause between challenges
    extensions_left: int = 0
    face: bool = False
    reason: str = ""
    lockout_left: float = 0.0
    profile: str = "standard"
    faces: int = 0  # faces in the latest frame (more than one: ask for one person)
    capture: CaptureProblem | None = None  # why the latest frame could not be judged
    # during a gesture challenge: the asked gesture was seen but a check turned it away for a
    # reason the person can fix ("palm turned", "not upright"; GESTURE_HINT_REASONS)
    gesture_hint: str | None = None
    paused: bool = False  # help or a question stopped the countdown
    after_failure: bool = False  # the current challenge follows a failed one


class SessionEngine:
    def __init__(
        self,
        settings: EngineSettings,
        pool: Iterable[Challenge],
        clock: Clock,
        rng: random.Random | None = None,
        limiter: Limiter | None = None,
        id_factory: Callable[[], str] = lambda: secrets.token_hex(8),
    ):
        self.settings = settings
        self.clock = clock
        self.rng = rng or secrets.SystemRandom()
        self.drawer = ChallengeDrawer(pool, self.rng)
        self.limiter = limiter
        self._new_id = id_factory
        self.record: SessionRecord | None = None
        self.last_record: SessionRecord | None = None
        self._speaking = False
        self._quiet_since = clock.now()
        self._paused_at: float | None = None
        self._welcome_after_face_gone = False
        self._capture: CaptureProblem | None = None
        self._gesture_hint: str | None = None
        self._liveness_deadline = self._liveness_started = 0.0
        self._deadline = self._gap_until = self._challenge_started = 0.0
        self._face_since: float | None = None
        self._challenge: Challenge | None = None
        self._enter_idle()

    # ----------------------------------------------------------------- queries
    @property
    def state(self) -> State:
        return self._state

    def needs(self) -> frozenset[Need]:
        """The detectors the current state needs; the pipeline runs only these."""
        return needs_for(self._state, self._challenge.kind if self._challenge is not None else None)

    def available_profiles(self) -> list[str]:
        return [p for p, ex in PROFILES.items() if self.drawer.kinds(ex)]

    def view(self) -> SessionView:
        s = self.settings
        now = self.clock.now()
        if self._paused_at is not None:
            now = self._paused_at  # the countdown stands still
        v = SessionView(
            state=self._state,
            face=self._face,
            profile=self._profile,
            reason=self._reason,
            faces=self._faces,
            capture=self._capture,
            gesture_hint=self._gesture_hint,
            paused=self._paused_at is not None,
        )
        if self._state == State.CHALLENGE:
            in_gap = now < self._gap_until
            return dataclasses.replace(
                v,
                challenge=self._challenge,
                index=self._passed_count + 1,
                total=s.challenge_count,
                streak=self._streak,
                needed=s.frames_to_pass,
                in_gap=in_gap,
                time_left=None if in_gap else max(0.0, self._deadline - now),
                time_limit=self._limit,
                attempts_left=s.attempts - self._failures,
                detected=self._detected,
                extensions_left=s.max_extensions - self._extensions,
                after_failure=self._after_failure,
            )
        if self._state == State.LIVENESS:
            return dataclasses.replace(
                v,
                streak=self._real,
                needed=s.real_frames,
                time_left=max(0.0, self._liveness_deadline - now),
                time_limit=s.liveness_timeout_s,
            )
        if self._state == State.LOCKED and self.limiter:
            return dataclasses.replace(v, lockout_left=self.limiter.remaining_lockout())
        return v

    # ------------------------------------------------------------------ input
    def start(self) -> list[Event]:
        """The person asked to start (key, touch or voice)."""
        if self._state not in (State.IDLE, State.WELCOME):
            return []
        if self.limiter and self.limiter.locked():
            return self._goto(State.LOCKED)
        self._welcome_after_face_gone = False  # they chose to go on: no earlier wait stands
        if self.record is None:
            self._begin_record()
        if self.limiter:  # marks the session in progress: one cut by a crash or signal still counts
            self.limiter.begin(self._active().session_id)
        # Failed challenges count for the whole session, not for one pass of level 1: a new face
        # sends the session back to level 1, and must not bring a fresh set of tries with it.
        self._failures = 0
        return self._start_liveness()

    def welcome(self) -> list[Event]:
        """Open the welcome screen's choices without a face (Start pressed on the attract screen):
        nobody is checked before they could choose."""
        if self._state != State.IDLE:
            return []
        self._welcome_after_face_gone = False
        if self.limiter and self.limiter.locked():
            return self._goto(State.LOCKED)
        return self._enter_welcome()

    def cancel(self, reason: str = "cancelled") -> list[Event]:
        """The person's own cancel, or the kiosk cannot go on (KIOSK_ABANDON_REASONS: the camera
        was lost, the vision pipeline failed, the kiosk went out of service). Before any failed
        challenge (and before level 1 saw spoof frames: a run of them, or many in all) it does not
        count toward the lockout: changing one's mind is no attack, nor is a kiosk fault. After a
        failure it does, or cancelling (or pulling the camera) would buy a fresh set of tries for
        free."""
        self._paused_at = None
        if self._state in (State.LIVENESS, State.CHALLENGE):
            events = self._finish("abandoned", reason)
        elif self._state == State.WELCOME:
            events = self._enter_idle()
        else:
            return []
        # Whoever cancelled is still in front of the camera: no new welcome until they have left.
        self._welcome_after_face_gone = True
        return events

    def set_speaking(self, speaking: bool) -> None:
        """Whether the kiosk is talking to the person. Auto-start waits until it has finished
        and a quiet pause has passed."""
        if self._speaking and not speaking:
            self._quiet_since = max(self._quiet_since, self.clock.now())
        self._speaking = speaking

    def pause(self) -> list[Event]:
        """Stop the countdown (help is shown, a question is asked)."""
        if self._state in (State.LIVENESS, State.CHALLENGE) and self._paused_at is None:
            self._paused_at = self.clock.now()
        return []

    def resume(self) -> list[Event]:
        """Start the countdown again where it stood; the pause costs the person no time."""
        if self._paused_at is None:
            return []
        now = self.clock.now()
        gone = now - self._paused_at
        self._paused_at = None
        # Frames under the pause were not judged: a run of live frames or a hold must be seen
        # unbroken, or pieces on either side of a pause (the state dropped, a picture set right
        # under the help screen) would add up. The countdown waited, so this costs no time; the
        # spoof run and the onset stay.
        if self._state == State.LIVENESS:
            self._liveness_deadline += gone
            self._liveness_started += gone
            self._real = 0
        elif self._state == State.CHALLENGE:
            self._deadline += gone
            self._gap_until += gone
            self._challenge_started += gone
            self._streak = 0
            self._detected = False
        self._last_face_at = now  # the face-lost check starts again too
        return []

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def set_profile(self, name: str) -> list[Event]:
        """Accessibility choice; allowed before level 2 starts."""
        if name not in PROFILES:
            raise ValueError(f"unknown profile {name!r}")
        if not self.drawer.kinds(PROFILES[name]):
            raise ValueError(f"profile {name!r} leaves no challenge kind available")
        if self._state not in (State.IDLE, State.WELCOME, State.LIVENESS):
            return []
        self._quiet_since = max(self._quiet_since, self.clock.now())  # choosing: no auto-start yet
        self._profile = name
        if self.record:
            self.record.profile = name
        return [ProfileChosen(name)]

    def more_time(self) -> list[Event]:
        """WCAG 2.2.1: extend the current challenge by its full time limit, up to max_extensions."""
        s = self.settings
        if self._state != State.CHALLENGE or self._extensions >= s.max_extensions:
            return []
        self._extensions += 1
        self._deadline += s.time_limit_s
        self._limit += s.time_limit_s
        self._current_record().extensions += 1
        return [Extended(s.max_extensions - self._extensions)]

    def feed(self, obs: Observation) -> list[Event]:
        """One camera frame's observation."""
        now = self.clock.now()
        events: list[Event] = []
        self._face = obs.face
        self._faces = obs.faces
        self._capture = obs.capture
        self._gesture_hint = self._hint_for(obs) if self._state == State.CHALLENGE else None
        if obs.face:
            self._last_face_at = now
        if self.record is not None:
            self.record.frames += 1
            self.record.last_seen_at = now
        st = self._state
        if st == State.IDLE:
            if not obs.face:
                self._welcome_after_face_gone = False
            elif not self._welcome_after_face_gone and not (self.limiter and self.limiter.locked()):
                events += self._enter_welcome()
        elif st == State.WELCOME:
            if obs.face and self._face_since is None:
                self._face_since = now
            elif not obs.face:
                self._face_since = None
            events += self._maybe_auto_start(now)
        elif self._paused_at is not None:
            pass  # help or a question on screen: frames neither count nor fail
        elif st == State.LIVENESS:
            events += self._feed_liveness(obs, now)
        elif st == State.CHALLENGE:
            events += self._feed_challenge(obs, now)
        return events + self.tick()

    def _maybe_auto_start(self, now: float) -> list[Event]:
        """Start by itself once a face has been there, the kiosk has finished speaking and nobody
        has chosen anything, each for auto_start_s."""
        s = self.settings
        if s.auto_start_s <= 0 or self._face_since is None or self._speaking:
            return []
        if now - max(self._face_since, self._quiet_since) < s.auto_start_s:
            return []
        return [AutoStarted(), *self.start()]

    def tick(self) -> list[Event]:
        """Timers; called with every frame and by the UI timer, so timeouts fire without frames."""
        now = self.clock.now()
        s = self.settings
        st = self._state
        if self._paused_at is not None:
            if now - self._paused_at < MAX_PAUSE_S:
                return []
            self.resume()
        if st in (State.LIVENESS, State.CHALLENGE) and now - self._last_face_at > s.face_lost_timeout_s:
            return self._finish("abandoned", "face_lost")
        if st == State.WELCOME and now - self._entered_at >= s.welcome_timeout_s and self._face_since is None:
            return self._enter_idle()
        if st == State.LIVENESS and now >= self._liveness_deadline:
            # Mostly frames too poor to judge (dark, backlit, too far): the person is told so, in
            # the record too, rather than sent away as if they had failed the check. It still
            # counts as a failure: poor light must not become a free retry for an attack.
            poor = self._poor_frames > self._judged_frames
            return self._finish("denied", "poor_capture" if poor else "liveness_timeout")
        if st == State.CHALLENGE and now >= self._gap_until and now >= self._deadline:
            return self._fail_challenge("timeout")
        if st in (State.PASSED, State.DENIED) and now - self._entered_at >= s.result_display_s:
            # A verified person who lingers (reading the verdict, packing up) is not welcomed and
            # auto-started again: that second, unasked-for session could only end in a verdict the
            # host did not ask for, or a denial counted toward the lockout of the next person.
            # After a denial the welcome comes back: the person may want to try again by the same
            # channels they used (a person who cannot use their hands has no other way).
            self._welcome_after_face_gone = st == State.PASSED
            return self._enter_idle()
        if st == State.LOCKED and not (self.limiter and self.limiter.locked()):
            return self._enter_idle()
        return []

    # --------------------------------------------------------------- internals
    def _goto(self, state: State) -> list[Event]:
        self._state = state
        self._entered_at = self.clock.now()
        if self.record is not None:
            self.record.states.append(state.value)
        return [StateChanged(state)]

    def _enter_idle(self) -> list[Event]:
        now = self.clock.now()
        self._state = State.IDLE
        self._entered_at = now
        self._face = False
        self._faces = 0
        self._capture = None
        self._gesture_hint = None
        self._face_since = None
        self._paused_at = None
        self._after_failure = False
        self._spoof_peak = self._spoof_total = 0
        self._last_face_at = now
        self._profile = "standard"
        self._reason = ""
        self._challenge = None
        self.record = None
        return [StateChanged(State.IDLE)]

    def _enter_welcome(self) -> list[Event]:
        self._begin_record()
        self._face_since = self.clock.now()
        return self._goto(State.WELCOME)

    def _begin_record(self) -> None:
        now = self.clock.now()
        self.record = SessionRecord(self._new_id(), now, profile=self._profile, states=[State.IDLE.value])

    def _start_liveness(self) -> list[Event]:
        now = self.clock.now()
        self._real = self._spoof = 0
        self._poor_frames = self._judged_frames = 0
        self._blinked = False
        self._seen_3d = False
        self._poses: list[tuple[float, float]] = []
        self.baseline = (0.0, 0.0)
        self._track: int | None = None
        self._last_face_at = now
        self._liveness_started = now
        self._liveness_deadline = now + self.settings.liveness_timeout_s
        return self._goto(State.LIVENESS)

    def _same_track(self, obs: Observation) -> bool:
        """False when the face vanished or another face took its place (the streak must restart)."""
        if not obs.face or obs.faces > 1:
            return False
        if self._track is None:
            self._track = obs.track_id
            return True
        if obs.track_id != self._track:
            self._track = obs.track_id
            return False
        return True

    @staticmethod
    def _judgeable(obs: Observation) -> bool:
        """One face, fit to judge, scored. A frame without a face, with a second face, with a capture
        problem (too dark, backlit, too far...) or without a score says nothing either way: the
        streaks are kept, so a brief loss or a passing face neither erases spoof evidence nor costs
        a real person the frames they already showed."""
        return obs.face and obs.faces == 1 and obs.capture is None and obs.live is not None

    def _new_person(self, obs: Observation) -> bool:
        """True when another face took the place of the one being checked. The tracker gives a face
        that jumped or came back the same id when its proportions match, so a new id here means
        another face (or, rarely, the same person whose proportions were misread)."""
        changed = self._track is not None and obs.track_id != self._track
        self._track = obs.track_id
        return changed

    def _feed_liveness(self, obs: Observation, now: float) -> list[Event]:
        s = self.settings
        self._active().liveness_frames += 1
        if obs.face and obs.capture is not None:
            self._poor_frames += 1
        if not self._judgeable(obs):
            return []
        self._judged_frames += 1
        if self._new_person(obs):
            # Live evidence belongs to a person: the one now in front starts from nothing. Spoof
            # evidence is kept: an attack that makes the tracker see another face (a second face in
            # the photo, a hand, a quick swap) must not wipe it, and a live person in front ends the
            # spoof run with their first live frame anyway.
            self._real = 0
            self._blinked = self._seen_3d = False
            self._poses = []
        if obs.still:
            # A frozen or injected feed: no evidence of a live person, though none of a spoof either
            # (a camera can deliver the same buffer twice). The run of live frames starts again.
            self._real = 0
            return []
        self._blinked |= obs.blink
        self._seen_3d |= obs.shape is True
        # A "flat" verdict is no denial here: on people the shipped model never saw (the
        # leave-subjects-out rotation, models/liveness.md) it denied 7 of 96 genuine sessions
        # (a small, dark or noisy face barely turning reads as a flat one), and without it no more
        # attack session was accepted (1 of 426 either way): the model denies those as spoof. It
        # still denies a head-pose challenge met by a flat picture (_feed_challenge), where a real
        # turn shows depth clearly.
        if obs.head_pose is not None and obs.live:
            self._poses.append(obs.head_pose[:2])
        if obs.live:
            self._real += 1
            self._spoof = 0
        else:
            self._spoof += 1
            self._real = 0
            self._spoof_peak = max(self._spoof_peak, self._spoof)
            self._spoof_total += 1
        if self._spoof >= s.spoof_frames:
            return self._finish("denied", "spoof")
        if (
            self._real >= s.real_frames
            and (self._blinked or not s.require_blink)
            and (self._seen_3d or not s.require_3d)
        ):
            self._active().levels_passed = 1
            self._active().liveness_seconds = now - self._liveness_started
            # The person looked at the screen during level 1: that is their neutral head pose.
            if self._poses:
                self.baseline = median_pose(self._poses)
            self._passed_count = 0  # passes belong to the face that made them; failures stay (start())
            events = self._goto(State.CHALLENGE)
            return events + self._next_challenge(now, gap=False)
        return []

    def _next_challenge(self, now: float, gap: bool = True) -> list[Event]:
        s = self.settings
        previous = self._challenge
        challenge = self._challenge = self.drawer.draw(PROFILES[self._profile], previous)
        self._streak = 0
        self._detected = False
        self._absent_run = 0
        self._onset_done = self.settings.onset_frames <= 0
        self._extensions = 0
        done = self._active().challenges
        self._after_failure = bool(previous is not None and done and done[-1].reason)
        self._limit = s.time_limit_s
        # A random pause makes the moment the next challenge starts unpredictable.
        self._gap_until = now + (self.rng.uniform(*s.gap_s) if gap else 0.0)
        self._deadline = self._gap_until + s.time_limit_s
        self._challenge_started = self._gap_until
        self._active().challenges.append(ChallengeRecord(challenge.id, challenge.kind))
        return [ChallengeStarted(challenge, self._passed_count + 1, s.challenge_count, s.attempts - self._failures)]

    def _active(self) -> SessionRecord:
        """The record of the session under way (levels 1 and 2 always have one)."""
        assert self.record is not None, "no session under way"
        return self.record

    def _hint_for(self, obs: Observation) -> str | None:
        """The reason to tell the person when the hand shows the asked gesture in a way a check
        turned away that they can put right (the palm turned from the camera, the fingers not up)."""
        c = self._challenge
        if c is None or c.kind != "gesture" or obs.gesture_rejected is None:
            return None
        seen, reason = obs.gesture_rejected
        return reason if seen == c.target and reason in GESTURE_HINT_REASONS else None

    def _asked(self) -> Challenge:
        assert self._challenge is not None, "no challenge under way"
        return self._challenge

    def _current_record(self) -> ChallengeRecord:
        return self._active().challenges[-1]

    def _onset_seen(self, obs: Observation, meets: bool) -> bool:
        """A challenge counts only once the asked state has started after the prompt: the person is
        first seen NOT showing it (another expression, another hand shape or no hand, head frontal)
        for `onset_frames` frames in a row. What a photo or a replayed clip already shows when the
        prompt appears can therefore not pass it. A frame with another face in view says nothing
        either way (the pipeline does not classify it)."""
        if not self._onset_done and obs.faces <= 1:
            self._absent_run = self._absent_run + 1 if obs.face and not meets else 0
            self._onset_done = self._absent_run >= self.settings.onset_frames
        return self._onset_done

    def _feed_challenge(self, obs: Observation, now: float) -> list[Event]:
        s = self.settings
        if now < self._gap_until:
            # The prompt is already shown during the pause, so the onset may be seen then: a person
            # may start moving before the pause ends.
            self._onset_seen(obs, obs.face and s.judge.matches(self._asked(), obs, self.baseline))
            return []
        rec = self._current_record()
        rec.frames += 1
        same = self._same_track(obs)
        if not same and obs.face and obs.faces <= 1 and self._track is not None:
            # Another person took over after level 1: level 1 must be passed again by this face.
            self._challenge = None
            return [TrackChanged(), *self._start_liveness()]
        if same and s.deny_on_flat and obs.shape is False:
            # The head-pose challenge was met by tilting a picture: it turned but showed no depth.
            return self._finish("denied", "flat")
        meets = same and s.judge.matches(self._asked(), obs, self.baseline)
        if not self._onset_seen(obs, meets):
            self._detected = False
            self._streak = 0
            return []
        if obs.still:
            # No sensor noise or micro-motion: no evidence of a live person either way, so the
            # hold neither grows nor restarts (a frozen feed cannot hold a challenge).
            return []
        was = self._detected
        self._detected = meets
        if not self._detected:
            self._streak = 0
            return []
        self._streak += 1
        rec.matched_frames += 1
        events: list[Event] = [] if was else [Detected()]
        if self._streak >= s.frames_to_pass:
            rec.passed = True
            rec.seconds = now - self._challenge_started
            self._passed_count += 1
            events.append(ChallengePassed(self._passed_count))
            if self._passed_count >= s.challenge_count:
                self._active().levels_passed = 2
                return events + self._finish("passed", "")
            events += self._next_challenge(now)
        return events

    def _fail_challenge(self, reason: str) -> list[Event]:
        now = self.clock.now()
        rec = self._current_record()
        rec.reason = reason
        rec.seconds = now - self._challenge_started
        self._failures += 1
        events: list[Event] = [ChallengeFailed(reason, self.settings.attempts - self._failures)]
        if self._failures >= self.settings.attempts:
            return events + self._finish("denied", "attempts_exhausted")
        return events + self._next_challenge(now)

    def _free_cancel(self, result: str, reason: str) -> bool:
        """A cancel by the person before anything went wrong: not a failure for the limiter."""
        if result != "abandoned" or reason not in ("cancelled", *KIOSK_ABANDON_REASONS) or self.record is None:
            return False
        failed = any(c.reason for c in self.record.challenges)
        # Spoof evidence is a run of half the denial, or as many spoof frames in all as would deny
        # in a row: a presentation scored spoof on most frames, each run broken by one live-scored
        # frame, is no change of mind (models/liveness.md: about one live frame in a thousand is scored spoof).
        m = self.settings.spoof_frames
        spoofed = self._spoof_peak >= max(1, m // 2) or self._spoof_total >= m
        return not failed and not spoofed

    def _finish(self, result: str, reason: str) -> list[Event]:
        rec = self._active()
        rec.result, rec.reason = result, reason
        rec.finished_at = self.clock.now()
        self._paused_at = None
        self.last_record = rec
        if self.limiter:
            # A free cancel is recorded as "not a failure": that also closes the in-progress mark
            # begin() set, so a later restart does not count it as a session cut short.
            self.limiter.record(result == "passed" or self._free_cancel(result, reason))
        self._reason = reason
        self._challenge = None
        if result == "abandoned":
            rec.states.append("abandoned")
            return [SessionEnded(result, reason, rec), *self._enter_idle()]
        events = self._goto(State.PASSED if result == "passed" else State.DENIED)
        return [*events, SessionEnded(result, reason, rec)]
