"""What the session engine tells its listeners (controller, headless runner, reports), and what
it asks of the vision pipeline. Typed, so that a misspelt name is an error, not a silent no-op."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # the record classes live in the engine, which imports this module
    from .catalogue import Challenge
    from .engine import SessionRecord, State


class Need(str, enum.Enum):
    """A detector the current state needs; the pipeline runs only these."""

    FACE = "face"
    LIVENESS = "liveness"
    HEAD_POSE = "head_pose"
    HANDS = "hands"
    EMOTION = "emotion"


ALL_NEEDS = frozenset(Need)


@dataclass(frozen=True)
class StateChanged:
    state: State
    name: ClassVar[str] = "state"


@dataclass(frozen=True)
class AutoStarted:
    """Nobody chose or pressed anything after the welcome was said: the session starts by itself."""

    name: ClassVar[str] = "auto_start"


@dataclass(frozen=True)
class ProfileChosen:
    profile: str
    name: ClassVar[str] = "profile"


@dataclass(frozen=True)
class ChallengeStarted:
    challenge: Challenge
    index: int  # 1-based
    total: int
    attempts_left: int
    name: ClassVar[str] = "challenge"


@dataclass(frozen=True)
class Detected:
    """The current frame newly meets the challenge (the hold starts)."""

    name: ClassVar[str] = "detected"


@dataclass(frozen=True)
class ChallengePassed:
    index: int
    name: ClassVar[str] = "challenge_passed"


@dataclass(frozen=True)
class ChallengeFailed:
    reason: str
    attempts_left: int
    name: ClassVar[str] = "challenge_failed"


@dataclass(frozen=True)
class Extended:
    extensions_left: int
    name: ClassVar[str] = "extended"


@dataclass(frozen=True)
class TrackChanged:
    """Another face took over after level 1: level 1 starts again for it."""

    name: ClassVar[str] = "track_changed"


@dataclass(frozen=True)
class SessionEnded:
    result: str  # passed | denied | abandoned
    reason: str
    record: SessionRecord

    @property
    def name(self) -> str:
        return self.result


Event = (
    StateChanged
    | AutoStarted
    | ProfileChosen
    | ChallengeStarted
    | Detected
    | ChallengePassed
    | ChallengeFailed
    | Extended
    | TrackChanged
    | SessionEnded
)
