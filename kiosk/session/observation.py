"""What the vision pipeline saw in one frame, as plain values the engine can judge."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CaptureProblem(str, enum.Enum):
    """Why a frame cannot be judged fairly. Such frames count neither as live nor as spoof, and the
    person is told how to fix it instead of being turned away."""

    DARK = "dark"  # too little light on the face
    BACKLIT = "backlit"  # bright background, face in shadow
    OVEREXPOSED = "overexposed"  # face washed out
    TOO_FAR = "too_far"  # face too small to judge
    BLURRED = "blurred"  # motion or focus blur
    OUT_OF_FRAME = "out_of_frame"  # face cut by the image border


@dataclass(frozen=True)
class Observation:
    face: bool = False  # a face is present
    track_id: int | None = None  # same id while the same face stays in view
    faces: int = 0  # how many faces are in view
    live: bool | None = None  # liveness model decision for this frame (None = not run)
    live_score: float | None = None  # kept for logs/benchmarks only; never shown to the user
    blink: bool = False  # a completed blink ended in this frame
    shape: bool | None = None  # head turned like a 3D face (True), like a flat picture (False), unknown
    head_pose: tuple[float, float, float] | None = None  # yaw, pitch, roll in degrees
    gesture: str | None = None  # classifier label ("none" = a hand but no gesture)
    # The label the classifier saw and the check after it that made it "none" ("palm turned",
    # "not upright", "fingers", "shape", "confidence"); None when nothing was turned away.
    gesture_rejected: tuple[str, str] | None = None
    emotion: str | None = None  # top emotion label
    emotion_margin: float = 0.0  # top probability minus the runner-up
    capture: CaptureProblem | None = None  # the frame is too poor to judge (None = fine or not checked)
    # No sensor noise or micro-motion against the recent frames: a frozen or injected feed. Such
    # a frame is no evidence of a live person, for level 1 or for holding a challenge.
    still: bool = False


NO_FACE = Observation()
