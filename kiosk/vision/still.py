"""Frozen or injected feeds: a real camera never delivers two pixel-identical frames of a live face.

Every sensor adds noise (a few grey levels per pixel, frame to frame) and a living face moves a
little all the time (breathing, pulse, eyes). A photo file repeated as the "camera", a frozen driver
or a virtual camera playing one still image delivers frames whose face region does not change at
all. `StillnessDetector` measures the mean absolute grey-level change of the face region between
consecutive frames; a frame is *still* when none of the last `window` changes reached the noise
floor (both from the config: liveness.still_window_frames, liveness.still_noise_floor). The window
tolerates a camera that now and then hands over the same buffer twice (a slow
USB camera read faster than it delivers).

The shipped floor (0.5 grey levels) sits far below what real recordings show: the smallest change between
consecutive frames of a NUAA live recording is measured in training/liveness/study_runtime_signals.py
(models/liveness.md, "Frozen feeds"), and sensor noise alone (sigma >= 1 grey level) gives a mean
absolute difference above 1. It does not stop an injected stream that adds synthetic noise to a
still image: that is a limit stated in the model card.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class StillnessDetector:
    def __init__(self, noise_floor: float, window: int, step: int = 2):
        self.noise_floor = noise_floor
        self.window = window
        self.step = step  # every 2nd pixel in each direction: a quarter of the work, same answer
        self._prev: np.ndarray | None = None
        self._changes: deque[float] = deque(maxlen=window)

    def change(self, gray: np.ndarray, bbox: tuple[int, int, int, int]) -> float | None:
        """Mean absolute grey-level difference of the face box against the previous frame (None for
        the first frame, or after the frame size changed)."""
        prev, self._prev = self._prev, gray
        if prev is None or prev.shape != gray.shape:
            return None
        h, w = gray.shape[:2]
        x, y, bw, bh = bbox
        x0, y0 = max(int(x), 0), max(int(y), 0)
        x1, y1 = min(int(x + bw), w), min(int(y + bh), h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        a = gray[y0 : y1 : self.step, x0 : x1 : self.step].astype(np.int16)
        b = prev[y0 : y1 : self.step, x0 : x1 : self.step].astype(np.int16)
        return float(np.abs(a - b).mean())

    def update(self, gray: np.ndarray, bbox: tuple[int, int, int, int]) -> bool:
        """True when the face region has not changed beyond the noise floor over the whole window."""
        c = self.change(gray, bbox)
        if c is not None:
            self._changes.append(c)
        return len(self._changes) == self.window and max(self._changes) < self.noise_floor

    def reset(self) -> None:
        self._prev = None
        self._changes.clear()
