"""Facial-emotion classification for the emotion challenge.

The model was trained on FER2013 48x48 grayscale faces (see models/emotion.md). At run time a face
from MediaPipe's mesh is aligned to imitate FER2013's framing: the eye line is made horizontal and a
similarity transform puts the eyes and mouth where they sit, on average, in FER2013 images. The
crop is then standardised exactly as in training (`standardize`, imported by training/emotion).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..modelcard import ModelCard
from .face import Face

INPUT_SIZE = 48
STD_FLOOR = 0.02
CLIP = 3.5

# Where FER2013 puts a face, measured on the mean of 20,000 training images (fraction of the side):
# eye centres at x = 0.30 and 0.68, y = 0.345; mouth line at y = 0.79.
FER_EYE_MID = (0.49, 0.345)
FER_EYE_DISTANCE = 0.375
FER_EYE_TO_MOUTH = 0.45

# MediaPipe face-mesh indices: eye corners and mouth corners.
_RIGHT_EYE = (33, 133)   # subject's right eye, image left in an unmirrored frame
_LEFT_EYE = (362, 263)
_MOUTH = (61, 291)

def standardize(gray: np.ndarray) -> np.ndarray:
    """Per-image standardisation of a uint8 face crop -> float32, the same in training and at run time.

    Why: it removes global brightness / contrast differences between FER2013 and a kiosk camera.
    """
    x = np.asarray(gray, dtype=np.float32) / 255.0
    x = (x - x.mean()) / max(float(x.std()), STD_FLOOR)
    return np.clip(x, -CLIP, CLIP).astype(np.float32)


def _alignment_matrix(face: Face, size: int) -> np.ndarray:
    """2x3 similarity transform from frame pixels to the FER-like (size, size) crop."""
    pts = face.landmarks[:, :2].astype(np.float64)
    right_eye = pts[list(_RIGHT_EYE)].mean(axis=0)
    left_eye = pts[list(_LEFT_EYE)].mean(axis=0)
    mouth = pts[list(_MOUTH)].mean(axis=0)
    eye_mid = (right_eye + left_eye) / 2.0
    eye_vec = left_eye - right_eye
    angle = np.arctan2(eye_vec[1], eye_vec[0])
    cos, sin = np.cos(angle), np.sin(angle)
    # Face size from both the eye distance and the eye-to-mouth distance (perpendicular to the eye
    # line): turning the head shrinks one of them, nodding the other, the combination changes less.
    down = np.array([-sin, cos])
    eye_dist = float(np.linalg.norm(eye_vec))
    mouth_dist = abs(float(np.dot(mouth - eye_mid, down)))
    face_scale = np.hypot(eye_dist, mouth_dist)
    target_scale = np.hypot(FER_EYE_DISTANCE, FER_EYE_TO_MOUTH) * size
    s = target_scale / max(face_scale, 1e-6)
    # rotate by -angle, scale by s, move eye_mid to the FER eye position
    rot = np.array([[cos, sin], [-sin, cos]]) * s
    target = np.array(FER_EYE_MID) * size - 0.5
    shift = target - rot @ eye_mid
    return np.hstack([rot, shift[:, None]]).astype(np.float64)


def align_face(frame_bgr: np.ndarray, face: Face, size: int = INPUT_SIZE) -> np.ndarray:
    """Crop `face` from a BGR frame the way FER2013 frames faces: upright eyes, grayscale, (size, size) uint8."""
    m = _alignment_matrix(face, size)
    scale = float(np.hypot(m[0, 0], m[0, 1]))
    # A big face shrunk straight to 48 px would alias: warp to an integer multiple, then area-resize.
    factor = int(np.clip(np.floor(1.0 / max(scale, 1e-6)), 1, 4))
    big = size * factor
    m_big = m * factor
    m_big[:, 2] += (factor - 1) / 2.0  # keep pixel centres consistent between the two grids
    crop = cv2.warpAffine(frame_bgr, m_big, (big, big), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    if factor > 1:
        gray = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray, dtype=np.uint8)


@dataclass(frozen=True)
class EmotionResult:
    label: str
    probs: dict[str, float]
    margin: float  # top probability minus the runner-up's


def _resolve(path: str | Path) -> Path:
    """Paths in the config are relative to the project root; accept the working directory too."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    root_relative = Path(__file__).resolve().parents[2] / p
    return root_relative if root_relative.exists() else p


class EmotionClassifier:
    """Runs models/emotion.tflite on aligned faces and returns calibrated class probabilities."""

    def __init__(self, model_path: str | Path = "models/emotion.tflite", meta_path: str | Path | None = None):
        from .tflite import ModelError, TFLiteModel

        self.model_path = _resolve(model_path)
        meta_file = _resolve(meta_path) if meta_path else self.model_path.with_suffix(".json")
        try:
            self.meta = json.loads(Path(meta_file).read_text(encoding="utf-8"))
            self.labels: list[str] = [str(lab) for lab in self.meta["labels"]]
            self.validated_recall: dict[str, float] = {
                str(k): float(v) for k, v in self.meta["validated_recall"].items()}
            self.temperature = float(self.meta.get("temperature", 1.0))
            self.flip_average = bool(self.meta.get("input", {}).get("flip_average", False))
            self.size = int(self.meta.get("input", {}).get("size", INPUT_SIZE))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"cannot read emotion model metadata {meta_file}: {exc!r}") from exc
        if self.temperature <= 0:
            raise ModelError(f"{meta_file}: temperature must be positive")
        self.card = ModelCard.from_meta(self.meta)
        self._model = TFLiteModel(self.model_path, num_threads=1)
        n_out = self._model.outputs[0].shape[-1]
        if n_out != len(self.labels):
            raise ModelError(f"{self.model_path.name}: {n_out} outputs but {len(self.labels)} labels in metadata")

    def logits(self, gray: np.ndarray, flip_average: bool | None = None) -> np.ndarray:
        """Uncalibrated logits for one aligned (size, size) uint8 face (mirror-averaged if configured)."""
        x = standardize(gray)[None, :, :, None]
        out = self._model.predict(x)[0]
        if self.flip_average if flip_average is None else flip_average:
            out = (out + self._model.predict(x[:, :, ::-1])[0]) / 2.0
        return out

    def probabilities(self, gray: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities for one aligned (size, size) uint8 face, in `labels` order."""
        z = self.logits(gray).astype(np.float64) / self.temperature
        e = np.exp(z - z.max())
        return (e / e.sum()).astype(np.float32)

    def classify_crop(self, gray: np.ndarray) -> EmotionResult:
        p = self.probabilities(gray)
        order = np.argsort(p)[::-1]
        return EmotionResult(label=self.labels[int(order[0])],
                             probs={lab: float(v) for lab, v in zip(self.labels, p)},
                             margin=float(p[order[0]] - p[order[1]]))

    def classify(self, frame_bgr: np.ndarray, face: Face) -> EmotionResult:
        return self.classify_crop(align_face(frame_bgr, face, self.size))
