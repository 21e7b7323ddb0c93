"""Face landmarks for the vision stages: two MediaPipe face models with the same 478-point topology.

- `FaceMeshDetector`: the legacy `mp.solutions` face mesh (`refine_landmarks=True`, model in the
  wheel). Landmarks only; the cheaper of the two, so the pipeline runs it on most frames.
- `FaceLandmarkerDetector`: the Face Landmarker task (`models/face_landmarker.task`, Apache-2.0):
  the same landmarks plus 52 blendshape scores (smile, jaw open, brow raise, ...) that the emotion
  classifier reads, and the facial transformation matrix. It measured 1.4-1.9x the mesh's time
  per frame (benchmarks/bench_face_models.py), so the pipeline runs it instead of the mesh only
  on frames that classify an emotion: one face model per frame either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import numpy as np

from ..config import PROJECT_ROOT, resolve_path

DEFAULT_LANDMARKER = "models/face_landmarker.task"

# The Face Landmarker's blendshape categories, in the order of its output (index 0 is "_neutral").
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
)


@dataclass(frozen=True)
class Face:
    """One face in one frame, in pixel coordinates of the unmirrored frame."""

    landmarks: np.ndarray  # (468 or 478, 3) float32: x, y in pixels, z in the same scale as x
    bbox: tuple[int, int, int, int]  # x, y, w, h in pixels, the landmarks' bounding box
    image_size: tuple[int, int]  # (width, height)
    # (52,) float32 scores in BLENDSHAPE_NAMES order; None when the detector gives none (legacy mesh).
    blendshapes: np.ndarray | None = field(default=None, compare=False)
    # (4, 4) facial transformation matrix (canonical face -> camera); None from the legacy mesh.
    transform: np.ndarray | None = field(default=None, compare=False)

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = self.bbox
        return x + w / 2.0, y + h / 2.0

    def blendshape(self, name: str) -> float | None:
        """One blendshape score by name, None when this face has none."""
        if self.blendshapes is None:
            return None
        return float(self.blendshapes[BLENDSHAPE_NAMES.index(name)])


def face_from_normalized(
    points: np.ndarray,
    width: int,
    height: int,
    blendshapes: np.ndarray | None = None,
    transform: np.ndarray | None = None,
) -> Face:
    """Build a Face from MediaPipe's normalised (x, y, z) landmarks."""
    pts = np.asarray(points, dtype=np.float32).copy()
    pts[:, 0] *= width
    pts[:, 1] *= height
    pts[:, 2] *= width
    x0, y0 = np.floor(pts[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts[:, :2].max(axis=0)).astype(int)
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    x1, y1 = min(int(x1), width), min(int(y1), height)
    return Face(pts, (x0, y0, max(x1 - x0, 1), max(y1 - y0, 1)), (width, height), blendshapes, transform)


def resolve_model_path(path: str | Path) -> Path:
    """A model path as the config resolves every path: ~ expanded, relative to the project (or
    bundle) root, never to the working directory."""
    return resolve_path(PROJECT_ROOT, str(path))


class FaceLandmarkerDetector:
    """Finds faces, their 478 landmarks, blendshapes and head transform in BGR frames.

    `static_image_mode=False` runs the landmarker in VIDEO mode: after the first detection it tracks
    the face from frame to frame and skips the face detector, like the legacy mesh did.
    """

    def __init__(
        self,
        model_path: str | Path = DEFAULT_LANDMARKER,
        max_faces: int = 2,
        static_image_mode: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        blendshapes: bool = True,
    ):
        from mediapipe.tasks.python import (  # imported here: Face users stay light
            BaseOptions,
            vision,
        )

        self.model_path = resolve_model_path(model_path)
        if not self.model_path.is_file():
            raise FileNotFoundError(f"face landmarker model not found: {self.model_path}")
        self.static = static_image_mode
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.IMAGE if static_image_mode else vision.RunningMode.VIDEO,
            num_faces=max_faces,
            min_face_detection_confidence=min_detection_confidence,
            min_face_presence_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
            output_face_blendshapes=blendshapes,
            output_facial_transformation_matrixes=True,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._last_ms = -1

    def _timestamp_ms(self) -> int:
        # VIDEO mode needs strictly increasing timestamps; two frames in the same millisecond get +1.
        now = int(time.monotonic() * 1000.0)
        self._last_ms = max(now, self._last_ms + 1)
        return self._last_ms

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        import mediapipe as mp

        h, w = frame_bgr.shape[:2]
        rgb = (
            np.ascontiguousarray(frame_bgr[:, :, ::-1])
            if frame_bgr.ndim == 3
            else np.ascontiguousarray(np.repeat(frame_bgr[:, :, None], 3, axis=2))
        )
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if self.static:
            result = self._landmarker.detect(image)
        else:
            result = self._landmarker.detect_for_video(image, self._timestamp_ms())
        faces = []
        for k, lms in enumerate(result.face_landmarks or []):
            pts = np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float32)
            shapes = None
            if result.face_blendshapes and k < len(result.face_blendshapes):
                shapes = np.zeros(len(BLENDSHAPE_NAMES), dtype=np.float32)
                for c in result.face_blendshapes[k]:
                    shapes[c.index] = c.score
            matrix = None
            if result.facial_transformation_matrixes and k < len(result.facial_transformation_matrixes):
                matrix = np.asarray(result.facial_transformation_matrixes[k], dtype=np.float32)
            faces.append(face_from_normalized(pts, w, h, shapes, matrix))
        # Largest face first: the person at the kiosk is the one closest to it.
        faces.sort(key=lambda f: f.bbox[2] * f.bbox[3], reverse=True)
        return faces

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FaceMeshDetector:
    """Legacy MediaPipe face mesh (0.10.21 `mp.solutions`, model in the wheel): landmarks only."""

    def __init__(
        self,
        max_faces: int = 2,
        refine_landmarks: bool = True,
        static_image_mode: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ):
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
        faces.sort(key=lambda f: f.bbox[2] * f.bbox[3], reverse=True)
        return faces

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
