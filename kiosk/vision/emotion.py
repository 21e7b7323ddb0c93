"""Facial-emotion classification for the emotion challenge, from two views of the face.

1. A CNN trained on FER2013 48x48 grayscale faces (models/emotion.tflite). At run time a face from
   the Face Landmarker is aligned to imitate FER2013's framing: the eye line is made horizontal and a
   similarity transform puts the eyes and mouth where they sit, on average, in FER2013 images. The
   crop is standardised exactly as in training (`standardize`, imported by training/emotion).
2. The Face Landmarker's 52 blendshape scores (smile, jaw open, brow raise, ...), which come with
   the landmarks at no extra model run.

A small int8 head (models/emotion.head.tflite) fuses [CNN probabilities, blendshapes, "blendshapes
present" flag]; when a face has no blendshapes the flag is 0 and the head falls back on the CNN.
A class is reported only when its fused probability reaches that class's threshold from
models/emotion.json, an operating point chosen on held-out FER2013 faces for few false accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..modelcard import ModelCard
from .face import BLENDSHAPE_NAMES, Face, FaceLandmarkerDetector, resolve_model_path

INPUT_SIZE = 48
STD_FLOOR = 0.02
CLIP = 3.5

# Where FER2013 puts a face, measured on the mean of 20,000 training images (fraction of the side):
# eye centres at x = 0.30 and 0.68, y = 0.345; mouth line at y = 0.79.
FER_EYE_MID = (0.49, 0.345)
FER_EYE_DISTANCE = 0.375
FER_EYE_TO_MOUTH = 0.45

# MediaPipe face-mesh indices: eye corners and mouth corners.
_RIGHT_EYE = (33, 133)  # subject's right eye, image left in an unmirrored frame
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
    m_big = np.asarray(m, dtype=np.float64) * float(factor)
    m_big[:, 2] = m_big[:, 2] + (factor - 1) / 2.0  # keep pixel centres consistent between the two grids
    crop = cv2.warpAffine(frame_bgr, m_big, (big, big), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    if factor > 1:
        gray = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray, dtype=np.uint8)


# FER2013 faces are 48 px and tightly cropped: the landmarker's face detector needs them larger and
# with some context. Measured on 200 random FER faces: 92.5 % found at 192 px, 93 % with a 48 px
# replicated border; the rest take the CNN-only path of the head.
FER_UPSCALE = 192
FER_BORDER = 48


def fer_crop_to_frame(gray: np.ndarray) -> np.ndarray:
    """A FER-style (48, 48) uint8 face as a BGR frame the Face Landmarker can detect."""
    up = cv2.resize(np.asarray(gray, dtype=np.uint8), (FER_UPSCALE, FER_UPSCALE), interpolation=cv2.INTER_CUBIC)
    up = cv2.copyMakeBorder(up, FER_BORDER, FER_BORDER, FER_BORDER, FER_BORDER, cv2.BORDER_REPLICATE)
    return cv2.cvtColor(up, cv2.COLOR_GRAY2BGR)


def crop_blendshapes(detector: FaceLandmarkerDetector, gray: np.ndarray) -> np.ndarray | None:
    """Blendshapes of a FER-style crop (largest face), None when the landmarker finds no face."""
    faces = detector.detect(fer_crop_to_frame(gray))
    return faces[0].blendshapes if faces else None


@dataclass(frozen=True)
class EmotionResult:
    # The top class when its probability reaches the class threshold of models/emotion.json, else
    # None (no expression recognised with enough confidence: the challenge judge never matches None).
    label: str | None
    probs: dict[str, float]
    margin: float  # top probability minus the runner-up's
    top: str = ""  # the top class, whether or not it reached its threshold
    blendshapes_used: bool = False  # False: the CNN-only path (no blendshapes for this face)


class EmotionClassifier:
    """CNN + blendshape head -> calibrated class probabilities and a thresholded label."""

    def __init__(self, model_path: str | Path = "models/emotion.tflite", meta_path: str | Path | None = None):
        from .tflite import ModelError, TFLiteModel

        self.model_path = resolve_model_path(model_path)
        meta_file = resolve_model_path(meta_path) if meta_path else self.model_path.with_suffix(".json")
        try:
            self.meta = json.loads(Path(meta_file).read_text(encoding="utf-8"))
            self.labels: list[str] = [str(lab) for lab in self.meta["labels"]]
            self.validated_recall: dict[str, float] = {
                str(k): float(v) for k, v in self.meta["validated_recall"].items()
            }
            self.temperature = float(self.meta.get("temperature", 1.0))
            self.flip_average = bool(self.meta.get("input", {}).get("flip_average", False))
            self.size = int(self.meta.get("input", {}).get("size", INPUT_SIZE))
            self.thresholds: dict[str, float] = {
                str(k): float(v) for k, v in (self.meta.get("thresholds") or {}).items()
            }
            head = self.meta.get("head")
            head_file = str(head["model"]) if head else ""
            self.head_temperature = float(head.get("temperature", 1.0)) if head else 1.0
            head_features = list(head["features"]) if head else []
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"cannot read emotion model metadata {meta_file}: {exc!r}") from exc
        if self.temperature <= 0 or self.head_temperature <= 0:
            raise ModelError(f"{meta_file}: temperatures must be positive")
        unknown = set(self.thresholds) - set(self.labels)
        if unknown:
            raise ModelError(f"{meta_file}: thresholds for unknown labels {sorted(unknown)}")
        self.card = ModelCard.from_meta(self.meta)
        self._model = TFLiteModel(self.model_path, num_threads=1)
        n_out = self._model.outputs[0].shape[-1]
        if n_out != len(self.labels):
            raise ModelError(f"{self.model_path.name}: {n_out} outputs but {len(self.labels)} labels in metadata")
        self._head: TFLiteModel | None = None
        if head_file:
            expected = (
                [f"cnn_{lab}" for lab in self.labels] + [f"bs_{n}" for n in BLENDSHAPE_NAMES] + ["blendshapes_present"]
            )
            if head_features != expected:
                raise ModelError(
                    f"{meta_file}: head features must be the CNN probabilities in label order, "
                    f"the {len(BLENDSHAPE_NAMES)} blendshapes and blendshapes_present"
                )
            self._head = TFLiteModel(self.model_path.parent / head_file, num_threads=1)
            if self._head.outputs[0].shape[-1] != len(self.labels):
                raise ModelError(f"{head_file}: outputs do not match the {len(self.labels)} labels")

    @property
    def fused(self) -> bool:
        """True when a blendshape head is loaded (else the CNN's probabilities are used alone)."""
        return self._head is not None

    def logits(self, gray: np.ndarray, flip_average: bool | None = None) -> np.ndarray:
        """Uncalibrated CNN logits for one aligned (size, size) uint8 face (mirror-averaged if configured)."""
        x = standardize(gray)[None, :, :, None]
        out = self._model.predict(x)[0]
        if self.flip_average if flip_average is None else flip_average:
            out = (out + self._model.predict(x[:, :, ::-1])[0]) / 2.0
        return out

    def cnn_probabilities(self, gray: np.ndarray) -> np.ndarray:
        """Calibrated CNN class probabilities for one aligned (size, size) uint8 face, in `labels` order."""
        return self.cnn_probabilities_from_logits(self.logits(gray))

    def cnn_probabilities_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """The CNN's temperature-scaled softmax of logits from `logits` (kept apart for cached logits)."""
        return _softmax(np.asarray(logits, np.float64) / self.temperature)

    def head_features(self, cnn_probs: np.ndarray, blendshapes: np.ndarray | None) -> np.ndarray:
        """The head's input row: CNN probabilities, blendshapes (zeros when missing), presence flag."""
        shapes = (
            np.zeros(len(BLENDSHAPE_NAMES), np.float32)
            if blendshapes is None
            else np.asarray(blendshapes, np.float32).reshape(len(BLENDSHAPE_NAMES))
        )
        flag = np.array([0.0 if blendshapes is None else 1.0], np.float32)
        return np.concatenate([np.asarray(cnn_probs, np.float32), shapes, flag])

    def fuse(self, cnn_probs: np.ndarray, blendshapes: np.ndarray | None) -> np.ndarray:
        """Fused class probabilities from CNN probabilities and (optional) blendshapes."""
        if self._head is None:
            return np.asarray(cnn_probs, np.float32)
        z = self._head.predict(self.head_features(cnn_probs, blendshapes)[None, :])[0]
        return _softmax(np.asarray(z, np.float64) / self.head_temperature)

    def probabilities(self, gray: np.ndarray, blendshapes: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities for one aligned (size, size) uint8 face (+ its blendshapes), in `labels` order."""
        return self.fuse(self.cnn_probabilities(gray), blendshapes)

    def decide(self, probs: np.ndarray, blendshapes_used: bool = False) -> EmotionResult:
        """The runtime decision: top class, margin over the runner-up, and the per-class threshold."""
        order = np.argsort(probs)[::-1]
        top = self.labels[int(order[0])]
        label = top if float(probs[order[0]]) >= self.thresholds.get(top, 0.0) else None
        return EmotionResult(
            label=label,
            probs={lab: float(v) for lab, v in zip(self.labels, probs, strict=True)},
            margin=float(probs[order[0]] - probs[order[1]]),
            top=top,
            blendshapes_used=blendshapes_used and self._head is not None,
        )

    def classify_crop(self, gray: np.ndarray, blendshapes: np.ndarray | None = None) -> EmotionResult:
        return self.decide(self.probabilities(gray, blendshapes), blendshapes is not None)

    def classify(self, frame_bgr: np.ndarray, face: Face) -> EmotionResult:
        return self.classify_crop(align_face(frame_bgr, face, self.size), face.blendshapes)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return (e / e.sum()).astype(np.float32)
