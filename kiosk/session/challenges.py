"""The cryptographic draw, and whether an observation meets a challenge (the catalogue itself is
`catalogue.py`)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from .catalogue import Challenge, Kind
from .observation import Observation


@dataclass(frozen=True)
class HeadPoseThresholds:
    yaw_deg: float
    pitch_deg: float
    max_other_deg: float


def head_pose_matches(
    target: str,
    pose: tuple[float, float, float] | None,
    th: HeadPoseThresholds,
    baseline: tuple[float, float] = (0.0, 0.0),
) -> bool:
    """`baseline` is the person's own neutral yaw/pitch (camera above or below the screen, posture)."""
    if pose is None:
        return False
    yaw, pitch = pose[0] - baseline[0], pose[1] - baseline[1]
    if target in ("left", "right"):
        sign = 1.0 if target == "left" else -1.0
        return sign * yaw >= th.yaw_deg and abs(pitch) <= th.max_other_deg
    if target in ("up", "down"):
        sign = 1.0 if target == "up" else -1.0
        return sign * pitch >= th.pitch_deg and abs(yaw) <= th.max_other_deg
    raise ValueError(f"unknown head pose target {target!r}")


@dataclass(frozen=True)
class Judge:
    """Decides if one frame's observation fulfils a challenge."""

    head_pose: HeadPoseThresholds
    emotion_min_margin: float

    def matches(self, challenge: Challenge, obs: Observation, baseline: tuple[float, float] = (0.0, 0.0)) -> bool:
        if not obs.face:
            return False
        if challenge.kind == Kind.HEAD_POSE:
            return head_pose_matches(challenge.target, obs.head_pose, self.head_pose, baseline)
        if challenge.kind == Kind.GESTURE:
            return obs.gesture == challenge.target
        if challenge.kind == Kind.EMOTION:
            return obs.emotion == challenge.target and obs.emotion_margin >= self.emotion_min_margin
        raise ValueError(f"unknown challenge kind {challenge.kind!r}")


class ChallengeDrawer:
    """Draws challenges with a cryptographic RNG.

    The kind is drawn first, uniformly among the kinds allowed, then the target within it, so a
    kind with many classes (gestures) does not crowd out the others; the same challenge is never
    drawn twice in a row.
    """

    def __init__(self, pool: Iterable[Challenge], rng: random.Random | None = None):
        self.pool = tuple(pool)
        self.rng = rng or secrets.SystemRandom()

    def kinds(self, excluded: Iterable[str] = ()) -> list[str]:
        excluded = set(excluded)
        return sorted({c.kind for c in self.pool if c.kind not in excluded})

    def draw(self, excluded_kinds: Iterable[str] = (), previous: Challenge | None = None) -> Challenge:
        allowed = set(self.kinds(excluded_kinds))
        if not allowed:
            raise ValueError("no challenge kind is available")
        options = [c for c in self.pool if c.kind in allowed and c != previous]
        if not options:  # a single challenge in all: repeating it is the only choice
            assert previous is not None
            return previous
        kind = self.rng.choice(sorted({c.kind for c in options}))
        return self.rng.choice([c for c in options if c.kind == kind])
