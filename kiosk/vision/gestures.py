"""Hand-gesture classification for the gesture challenge.

Features (the one format every loader, the collection tool and the runtime share):
21 MediaPipe landmarks, x/y only, in pixel-proportional units (x and y on the same scale),
hands that MediaPipe labels "Left" mirrored onto "Right" (x -> -x), made relative to the wrist
and divided by the largest absolute value -> 42 float32 values in [-1, 1].
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..modelcard import ModelCard

NONE_LABEL = "none"
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "gesture_classifier.tflite"


def hand_features(landmarks_xy: np.ndarray, handedness: str) -> np.ndarray:
    """(21, 2|3) landmarks in pixel-proportional units -> (42,) float32 kiosk features.

    Translation and scale invariant; a "Left" hand gives the same features as its mirror image
    labelled "Right". Not rotation invariant on purpose: like and dislike differ only by rotation.
    """
    pts = np.asarray(landmarks_xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] != 21 or pts.shape[1] < 2:
        raise ValueError(f"expected (21, 2|3) landmarks, got {pts.shape}")
    xy = pts[:, :2] - pts[0, :2]
    if str(handedness).lower().startswith("l"):
        xy[:, 0] = -xy[:, 0]
    scale = np.abs(xy).max()
    if not np.isfinite(scale) or scale <= 0:
        return np.zeros(42, dtype=np.float32)
    return (xy / scale + 0.0).astype(np.float32).reshape(42)  # + 0.0: no negative zeros


@dataclass(frozen=True)
class GestureResult:
    label: str  # NONE_LABEL when unknown
    confidence: float
    probs: dict[str, float] = field(default_factory=dict)


class GestureClassifier:
    """Runs models/gesture_classifier.tflite; labels, thresholds and validated recall come from the JSON beside it.

    A prediction counts only if its probability reaches the threshold of its class: the JSON's
    `min_confidence_by_label` (classes that look-alike hands reach easily get a higher one), never
    lower than `min_confidence` (the JSON's, or the caller's, e.g. the kiosk config)."""

    def __init__(
        self,
        model_path: str | Path = DEFAULT_MODEL,
        meta_path: str | Path | None = None,
        min_confidence: float | None = None,
    ) -> None:
        from kiosk.vision.tflite import ModelError, TFLiteModel

        model_path = Path(model_path)
        meta_path = Path(meta_path) if meta_path else model_path.with_suffix(".json")
        if not meta_path.is_file():
            raise ModelError(f"model metadata not found: {meta_path}")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.model = TFLiteModel(model_path, num_threads=1)
        self.labels: list[str] = list(self.meta["labels"])
        if self.model.outputs[0].shape[-1] != len(self.labels):
            raise ModelError(f"{model_path.name}: {self.model.outputs[0].shape[-1]} outputs, {len(self.labels)} labels")
        self.validated_recall: dict[str, float] = {
            k: float(v) for k, v in self.meta.get("validated_recall", {}).items()
        }
        self.min_confidence = float(self.meta.get("min_confidence", 0.5) if min_confidence is None else min_confidence)
        by_label = {str(k): float(v) for k, v in (self.meta.get("min_confidence_by_label") or {}).items()}
        unknown = set(by_label) - set(self.labels)
        if unknown:
            raise ModelError(f"{meta_path.name}: min_confidence_by_label names unknown labels {sorted(unknown)}")
        # one threshold per output, in output order (classify_features runs per frame)
        self.thresholds: list[float] = [max(self.min_confidence, by_label.get(label, 0.0)) for label in self.labels]
        self.validated_recall = self._recall_at(self.min_confidence)
        # What the draw may trust: recall at the configured confidence, real or synthetic per class.
        self.card = ModelCard.from_meta(self.meta, self.validated_recall, reject_labels=frozenset({NONE_LABEL}))

    def _recall_at(self, confidence: float) -> dict[str, float]:
        """Validated recall as measured at this min_confidence (per-class thresholds still applied on
        top): a higher threshold turns more real gestures into "none", so the recall measured at the
        JSON's own threshold would overstate it.
        Uses the measurement at the lowest measured threshold >= confidence (never optimistic);
        none measured that high -> no validated recall, so nothing is drawn."""
        by_conf = self.meta.get("validated_recall_by_min_confidence") or {}
        if not by_conf or abs(confidence - float(self.meta.get("min_confidence", confidence))) < 1e-9:
            return self.validated_recall
        at_or_above = [c for c in by_conf if float(c) >= confidence - 1e-9]
        if not at_or_above:
            return {}
        measured = by_conf[min(at_or_above, key=float)]
        return {label: float(measured.get(label, 0.0)) for label in self.validated_recall}

    def classify(self, hand) -> GestureResult:
        """Classify a kiosk.vision.hands.Hand (pixel landmarks + MediaPipe handedness)."""
        return self.classify_features(hand_features(hand.landmarks, hand.handedness))

    def classify_features(self, features) -> GestureResult:
        x = np.asarray(features, dtype=np.float32).reshape(1, 42)
        # 13 values: plain Python is cheaper than numpy calls here (see benchmarks/bench_gestures.py)
        p = [v if v > 0.0 else 0.0 for v in self.model.predict(x)[0].tolist()]
        total = sum(p)
        p = [v / total for v in p] if total > 0 else [1.0 / len(p)] * len(p)
        best = max(range(len(p)), key=p.__getitem__)
        label, confidence = self.labels[best], p[best]
        if confidence < self.thresholds[best]:
            label = NONE_LABEL
        return GestureResult(label, confidence, dict(zip(self.labels, p, strict=True)))
