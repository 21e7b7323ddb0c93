"""What the vision pipeline saw in one frame, as plain values the engine can judge."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Observation:
    face: bool = False                  # a face is present
    track_id: int | None = None         # same id while the same face stays in view
    faces: int = 0                      # how many faces are in view
    live: bool | None = None            # liveness model decision for this frame (None = not run)
    live_score: float | None = None     # kept for logs/benchmarks only; never shown to the user
    blink: bool = False                 # a completed blink ended in this frame
    shape: bool | None = None           # head turned like a 3D face (True), like a flat picture (False), unknown
    head_pose: tuple[float, float, float] | None = None  # yaw, pitch, roll in degrees
    gesture: str | None = None          # classifier label ("none" = a hand but no gesture)
    emotion: str | None = None          # top emotion label
    emotion_margin: float = 0.0         # top probability minus the runner-up


NO_FACE = Observation()
