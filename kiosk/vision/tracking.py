"""Keeps one id per face while it stays in view, so the session can tell when a face vanished or
was swapped for another (a photo slid in, a second person stepping in)."""
from __future__ import annotations

import itertools


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


class FaceTracker:
    """The same id while the face box overlaps the last one; a new id after a jump or a gap."""

    def __init__(self, min_iou: float = 0.3, max_gap_frames: int = 5):
        self.min_iou = min_iou
        self.max_gap_frames = max_gap_frames
        self._ids = itertools.count(1)
        self._box: tuple[int, int, int, int] | None = None
        self._id: int | None = None
        self._missing = 0

    def update(self, box: tuple[int, int, int, int] | None) -> int | None:
        if box is None:
            self._missing += 1
            if self._missing > self.max_gap_frames:
                self._box = self._id = None
            return None
        if self._box is None or iou(box, self._box) < self.min_iou:
            self._id = next(self._ids)
        self._box = box
        self._missing = 0
        return self._id

    def reset(self) -> None:
        self._box = self._id = None
        self._missing = 0
