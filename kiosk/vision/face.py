"""MediaPipe face mesh (0.10.21 `mp.solutions`, models ship in the wheel, works offline)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Face:
    """One face in one frame, in pixel coordinates of the unmirrored frame."""

    landmarks: np.ndarray  # (468 or 478, 3) float32: x, y in pixels, z in the same scale as x
    bbox: tuple[int, int, int, int]  # x, y, w, h in pixels, the landmarks' bounding box
    image_size: tuple[int, int]  # (width, height)

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = self.bbox
        return x + w / 2.0, y + h / 2.0


def face_from_normalized(points: np.ndarray, width: int, height: int) -> Face:
    """Build a Face from MediaPipe's normalised (x, y, z) landmarks."""
    pts = np.asarray(points, dtype=np.float32).copy()
    pts[:, 0] *= width
    pts[:, 1] *= height
    pts[:, 2] *= width
    x0, y0 = np.floor(pts[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts[:, :2].max(axis=0)).astype(int)
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    x1, y1 = min(int(x1), width), min(int(y1), height)
    return Face(pts, (x0, y0, max(x1 - x0, 1), max(y1 - y0, 1)), (width, height))


class FaceMeshDetector:
    """Finds faces and their 3D mesh landmarks in BGR frames."""

    def __init__(self, max_faces: int = 2, refine_landmarks: bool = True, static_image_mode: bool = False,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        import mediapipe as mp  # imported here so that modules that only need Face stay light

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode,
            max_num_faces=max_faces,
            refine_landmarks=refine_landmarks,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        h, w = frame_bgr.shape[:2]
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        result = self._mesh.process(rgb)
        faces = []
        for lms in result.multi_face_landmarks or []:
            pts = np.array([(p.x, p.y, p.z) for p in lms.landmark], dtype=np.float32)
            faces.append(face_from_normalized(pts, w, h))
        # Largest face first: the person at the kiosk is the one closest to it.
        faces.sort(key=lambda f: f.bbox[2] * f.bbox[3], reverse=True)
        return faces

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
