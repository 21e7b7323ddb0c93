"""Hand-gesture classification for the gesture challenge.

Features (the one format every loader, the collection tool and the runtime share):
21 MediaPipe landmarks, x/y only, in pixel-proportional units (x and y on the same scale),
hands that MediaPipe labels "Left" mirrored onto "Right" (x -> -x), made relative to the wrist
and divided by the largest absolute value -> 42 float32 values in [-1, 1].
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import numpy as np

from ..config import PROJECT_ROOT
from ..modelcard import ModelCard

NONE_LABEL = "none"
DEFAULT_MODEL = PROJECT_ROOT / "models" / "gesture_classifier.tflite"


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


# Hand-shape measures the shape check reads, in this order (the model JSON names them too).
# Each is unchanged by the hand's position, size and turn in the image plane.
SHAPE_FEATURES = (
    "thumb_straight",
    "thumb_reach",
    "index_straight",
    "index_reach",
    "middle_straight",
    "middle_reach",
    "ring_straight",
    "ring_reach",
    "little_straight",
    "little_reach",
    "knuckle_width",
    "thumb_index_tips",
)
# landmark chains, base to tip: thumb CMC..tip, then each finger's knuckle (MCP)..tip
FINGER_CHAINS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))


def hand_shape(features) -> np.ndarray:
    """(42,) kiosk features -> (12,) SHAPE_FEATURES, float64.

    straight: a finger's base-to-tip distance over its path along the joints (1.0 = a straight
    finger; a straight finger stays straight seen from any side, a curled one does not).
    reach: fingertip distance from the wrist in palm lengths (wrist -> middle knuckle).
    knuckle_width: index to little knuckle, in palm lengths (small for a hand seen edge-on).
    thumb_index_tips: thumb tip to index tip, in palm lengths (the ring of the OK sign)."""
    p = np.asarray(features, dtype=np.float64).reshape(21, 2)
    palm = float(np.hypot(*p[9])) or 1e-9
    out = []
    for chain in FINGER_CHAINS:
        path = sum(float(np.hypot(*(p[b] - p[a]))) for a, b in zip(chain, chain[1:], strict=False))
        out.append(float(np.hypot(*(p[chain[3]] - p[chain[0]]))) / (path or 1e-9))
        out.append(float(np.hypot(*p[chain[3]])) / palm)
    out.append(float(np.hypot(*(p[5] - p[17]))) / palm)
    out.append(float(np.hypot(*(p[4] - p[8]))) / palm)
    return np.array(out)


# What a gesture's instruction says of the hand, per measure (the model JSON's `finger_rule` names
# them): how far each finger reaches out, and whether the palm faces the camera.
FINGER_MEASURES = ("index_out", "middle_out", "ring_out", "little_out", "palm_width")
_FINGER_BASE_TIP = ((5, 8), (9, 12), (13, 16), (17, 20))


def finger_measures(features) -> np.ndarray:
    """(.., 42) kiosk features -> (.., 5) FINGER_MEASURES, float64.

    <finger>_out: fingertip distance from the wrist over that finger's knuckle distance from the
    wrist (about 1.9 for a finger held out, under 1 for one folded into the palm).
    palm_width: index to little knuckle over wrist to middle knuckle (about 0.8 for a palm facing
    the camera, near 0 for a flat hand seen edge-on)."""
    p = np.asarray(features, dtype=np.float64).reshape(-1, 21, 2)

    def length(v: np.ndarray) -> np.ndarray:
        return np.hypot(v[..., 0], v[..., 1])

    cols = [length(p[:, tip]) / np.maximum(length(p[:, base]), 1e-9) for base, tip in _FINGER_BASE_TIP]
    cols.append(length(p[:, 5] - p[:, 17]) / np.maximum(length(p[:, 9]), 1e-9))
    out = np.stack(cols, axis=1)
    return out if np.ndim(features) > 1 else out[0]


def upright_degrees(features) -> np.ndarray:
    """Degrees between "up" in the image and the wrist -> middle-knuckle direction, per (.., 42) row."""
    xy = np.asarray(features, dtype=np.float64).reshape(-1, 21, 2)
    v = xy[:, 9] - xy[:, 0]
    return np.degrees(np.abs(np.arctan2(v[:, 0], -v[:, 1])))


def palm_tilt_degrees(landmarks) -> float | None:
    """Degrees between the palm's normal (the plane of the wrist, the index and the little
    knuckle) and the camera's axis: near 0 with the palm or the back of the hand to the camera,
    near 90 with the hand seen edge-on. Needs depth: (21, 3) landmarks whose z is on the scale of
    x and y (MediaPipe's relative depth, as `kiosk.vision.hands` gives it). None for (21, 2)
    landmarks, an all-zero z (no depth given) or three knuckles in a line.

    The 2-D palm width (FINGER_MEASURES) cannot tell a palm turned away from one tipped back (both
    narrow it); the depth can."""
    pts = np.asarray(landmarks)
    if pts.shape != (21, 3) or not pts[:, 2].any():
        return None
    # three points, per frame: plain floats are several times faster than numpy's cross and norm
    (wx, wy, wz), (ax, ay, az), (bx, by, bz) = pts[[0, 5, 17]].tolist()
    ax, ay, az, bx, by, bz = ax - wx, ay - wy, az - wz, bx - wx, by - wy, bz - wz
    nx, ny, nz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
    size = math.sqrt(nx * nx + ny * ny + nz * nz)
    if not math.isfinite(size) or size <= 0.0:
        return None
    return math.degrees(math.acos(min(abs(nz) / size, 1.0)))


@dataclass(frozen=True)
class PalmFacing:
    """The labels whose instruction says "palm to the camera" and how far, in depth, the palm may
    turn away (`palm_tilt_degrees`). The JSON form: {"labels": [...], "max_tilt_degrees": 60.0};
    absent: no check. A hand without depth is admitted (the 2-D palm width still applies)."""

    labels: frozenset[str] = frozenset()
    max_tilt_degrees: float = 90.0

    @classmethod
    def from_meta(cls, meta: dict | None, labels: list[str], source: str) -> PalmFacing:
        from kiosk.vision.tflite import ModelError

        if not meta:
            return cls()
        named = frozenset(meta.get("labels", ()))
        if named - set(labels):
            raise ModelError(f"{source}: palm_facing names unknown labels {sorted(named - set(labels))}")
        limit = meta.get("max_tilt_degrees")
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0.0 < float(limit) <= 90.0:
            raise ModelError(f"{source}: palm_facing max_tilt_degrees must be a number in (0, 90], got {limit!r}")
        return cls(named, float(limit))

    def admits(self, label: str, tilt: float | None) -> bool:
        return tilt is None or label not in self.labels or tilt <= self.max_tilt_degrees


@dataclass(frozen=True)
class LabelBounds:
    """Per label, a lower and an upper bound on each of a fixed list of hand measures; a hand the
    classifier gives a label whose bounds it breaks is "none". A label without bounds is admitted.
    The JSON form: {<names key>: [measures], "bounds": {label: {"low": [...], "high": [...]}}}, null
    for no bound (JSON has no infinity)."""

    low: dict[str, np.ndarray]
    high: dict[str, np.ndarray]

    MEASURES: ClassVar[tuple[str, ...]] = ()
    NAMES_KEY: ClassVar[str] = "measures"
    JSON_KEY: ClassVar[str] = ""

    @classmethod
    def from_meta(cls, meta: dict | None, labels: list[str], source: str) -> Self:
        from kiosk.vision.tflite import ModelError

        if not meta:
            return cls({}, {})
        names = tuple(meta.get(cls.NAMES_KEY, ()))
        if names != cls.MEASURES:
            raise ModelError(f"{source}: {cls.JSON_KEY} measures {list(names)}, this kiosk knows {list(cls.MEASURES)}")
        low, high = {}, {}
        for label, bounds in (meta.get("bounds") or {}).items():
            if label not in labels:
                raise ModelError(f"{source}: {cls.JSON_KEY} names unknown label {label!r}")
            lo = np.array([-np.inf if v is None else v for v in bounds.get("low", ())], float)
            hi = np.array([np.inf if v is None else v for v in bounds.get("high", ())], float)
            if lo.shape != (len(names),) or hi.shape != (len(names),) or not (lo <= hi).all():
                raise ModelError(
                    f"{source}: {cls.JSON_KEY} of {label!r} needs low <= high (null: no bound), one per measure"
                )
            low[label], high[label] = lo, hi
        return cls(low, high)

    def admits(self, label: str, measures: np.ndarray) -> bool:
        if label not in self.low:
            return True
        return bool(((measures >= self.low[label]) & (measures <= self.high[label])).all())


class ShapeEnvelope(LabelBounds):
    """Per label, the range of every SHAPE_FEATURES measure that the label's real hands showed
    (widened by a margin chosen on held-out folds and across datasets). A hand the classifier calls that label but
    whose shape lies outside the range, e.g. three fingers called "victory", is not that gesture:
    a check of what the classifier never saw, which its softmax cannot give."""

    MEASURES = SHAPE_FEATURES
    NAMES_KEY = "features"
    JSON_KEY = "shape_envelope"


class FingerRule(LabelBounds):
    """Per label, what its instruction says of the hand, as bounds on FINGER_MEASURES: a finger the
    instruction holds out has a lower bound ("Hold up your index and little finger"), one it folds
    has an upper bound ("fold the others"), "palm to the camera" bounds the palm's width. The bounds
    come from the label's real hands, or where those cannot set them from the words alone (a finger
    held out reaches beyond its knuckle); a measure the instruction leaves free has none. A flat
    hand seen edge-on called "hi_five" has no palm to the camera: none."""

    MEASURES = FINGER_MEASURES
    JSON_KEY = "finger_rule"


@dataclass(frozen=True)
class GestureResult:
    label: str  # NONE_LABEL when unknown
    confidence: float
    probs: dict[str, float] = field(default_factory=dict)
    # why the classifier's top label was not given: "confidence", "not upright", "shape", "fingers",
    # "palm turned"
    rejected: str = ""

    @property
    def top_label(self) -> str:
        """The classifier's own top label, before the checks after it (`label` when none turned it away)."""
        return max(self.probs, key=self.probs.__getitem__) if self.probs else self.label


class GestureClassifier:
    """Runs models/gesture_classifier.tflite; labels, thresholds and validated recall come from the JSON beside it.

    A prediction counts only if its probability reaches the threshold of its class: the JSON's
    `min_confidence_by_label` (classes that look-alike hands reach easily get a higher one), never
    lower than `min_confidence` (the JSON's, or the caller's, e.g. the kiosk config); if the label is
    one the model defines with the fingers up (`fingers_up`), only with the hand no more than
    `max_degrees` from up; only if the hand's shape lies in that label's `shape_envelope`; and only
    if its fingers and palm are as the label's instruction says (`finger_rule`); and where the
    landmarks carry depth, only with the palm turned no further from the camera than `palm_facing`
    allows for labels whose instruction says "palm to the camera"."""

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
        up = self.meta.get("fingers_up") or {}
        self.fingers_up = frozenset(up.get("labels", ()))
        self.max_up_degrees = float(up.get("max_degrees", 180.0))
        if self.fingers_up - set(self.labels):
            raise ModelError(
                f"{meta_path.name}: fingers_up names unknown labels {sorted(self.fingers_up - set(self.labels))}"
            )
        self.envelope = ShapeEnvelope.from_meta(self.meta.get("shape_envelope"), self.labels, meta_path.name)
        self.finger_rule = FingerRule.from_meta(self.meta.get("finger_rule"), self.labels, meta_path.name)
        self.palm_facing = PalmFacing.from_meta(self.meta.get("palm_facing"), self.labels, meta_path.name)
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
        return self.classify_features(
            hand_features(hand.landmarks, hand.handedness), palm_tilt=palm_tilt_degrees(hand.landmarks)
        )

    def classify_features(self, features, palm_tilt: float | None = None) -> GestureResult:
        """features: (42,) `hand_features`; palm_tilt: `palm_tilt_degrees` of the same hand, None
        when its landmarks carry no depth (then `palm_facing` is not checked)."""
        x = np.asarray(features, dtype=np.float32).reshape(1, 42)
        # 13 values: plain Python is cheaper than numpy calls here (see benchmarks/bench_gestures.py)
        p = [v if v > 0.0 else 0.0 for v in self.model.predict(x)[0].tolist()]
        total = sum(p)
        p = [v / total for v in p] if total > 0 else [1.0 / len(p)] * len(p)
        best = max(range(len(p)), key=p.__getitem__)
        label, confidence = self.labels[best], p[best]
        rejected = ""
        if label == NONE_LABEL:
            pass
        elif confidence < self.thresholds[best]:
            rejected = "confidence"
        elif label in self.fingers_up and upright_degrees(x)[0] > self.max_up_degrees:
            rejected = "not upright"
        elif not self.envelope.admits(label, hand_shape(x)):
            rejected = "shape"
        elif not self.finger_rule.admits(label, finger_measures(x[0])):
            rejected = "fingers"
        elif not self.palm_facing.admits(label, palm_tilt):
            rejected = "palm turned"
        return GestureResult(
            NONE_LABEL if rejected else label, confidence, dict(zip(self.labels, p, strict=True)), rejected
        )
