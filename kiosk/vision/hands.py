"""MediaPipe hands (0.10.21 `mp.solutions`, offline)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Hand:
    """One hand, pixel coordinates of the unmirrored frame.

    `handedness` is the label MediaPipe gives ("Left"/"Right"). MediaPipe assumes a mirrored
    (selfie) image, so on the unmirrored camera frame its "Left" is the person's right hand;
    the gesture classifier only needs it to mirror one hand onto the other.
    """

    landmarks: np.ndarray  # (21, 3) float32: x, y in pixels, z in the same scale as x
    handedness: str
    score: float
    image_size: tuple[int, int]


class HandDetector:
    def __init__(
        self,
        max_hands: int = 1,
        static_image_mode: bool = False,
        model_complexity: int = 1,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ):
        import mediapipe as mp

        self._hands = mp.solutions.hands.Hands(
            static_image_mode=static_image_mode,
            max_num_hands=max_hands,
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def detect(self, frame_bgr: np.ndarray) -> list[Hand]:
        h, w = frame_bgr.shape[:2]
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        result = self._hands.process(rgb)
        hands = []
        for lms, handed in zip(result.multi_hand_landmarks or [], result.multi_handedness or []):
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lms.landmark], dtype=np.float32)
            cls = handed.classification[0]
            hands.append(Hand(pts, cls.label, float(cls.score), (w, h)))
        return hands

    def close(self) -> None:
        self._hands.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
