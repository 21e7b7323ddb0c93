"""Shared helpers for calibrate.py and evaluate.py: the kiosk's own classes, nothing re-implemented.

A face "passes" emotion challenge c in one frame exactly when the kiosk's `Judge.matches` says so for
the `Observation` that `VisionPipeline` would build from `EmotionClassifier.decide`'s result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import numpy as np  # noqa: E402

from kiosk.config import load_config  # noqa: E402
from kiosk.session.catalogue import challenge  # noqa: E402
from kiosk.session.challenges import HeadPoseThresholds, Judge  # noqa: E402
from kiosk.session.observation import Observation  # noqa: E402
from kiosk.vision.emotion import EmotionClassifier, EmotionResult  # noqa: E402

DRAWN = ("happy", "surprise", "angry", "sad")  # the kiosk's default [emotion] allowed


def runtime_judge() -> Judge:
    """The Judge the session engine builds from the default configuration."""
    cfg = load_config()
    return Judge(
        HeadPoseThresholds(cfg.head_pose.yaw_deg, cfg.head_pose.pitch_deg, cfg.head_pose.max_other_deg),
        cfg.emotion.min_margin,
    )


def passes(judge: Judge, target: str, result: EmotionResult) -> bool:
    obs = Observation(face=True, faces=1, emotion=result.label, emotion_margin=float(result.margin))
    return judge.matches(challenge("emotion", target), obs)


def pass_matrix(judge: Judge, clf: EmotionClassifier, probs: np.ndarray, used: np.ndarray) -> np.ndarray:
    """(n, n_labels) bool: does face i pass challenge c at the classifier's current thresholds."""
    out = np.zeros((len(probs), len(clf.labels)), bool)
    for i, p in enumerate(probs):
        r = clf.decide(p, bool(used[i]))
        if r.label is not None:
            out[i, clf.labels.index(r.label)] = passes(judge, r.label, r)
    return out


def rates(pass_m: np.ndarray, y: np.ndarray, labels: list[str]) -> dict[str, dict[str, float]]:
    """Per class: recall (faces of c that pass c) and false accepts (other faces that pass c)."""
    out = {}
    for k, c in enumerate(labels):
        own, other = y == k, y != k
        out[c] = {
            "n": int(own.sum()),
            "recall": float(pass_m[own, k].mean()) if own.any() else 0.0,
            "false_accept": float(pass_m[other, k].mean()) if other.any() else 0.0,
        }
    return out


def classifier_with_head(
    meta_path: Path, head: Path, work: Path, thresholds: dict[str, float] | None = None
) -> EmotionClassifier:
    """The runtime classifier with another head file (a fold head) and thresholds, via a temp json."""
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["head"]["model"] = str(Path(head).resolve())
    meta["thresholds"] = thresholds or {}
    tmp = work / f"meta_{Path(head).stem}.json"
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    return EmotionClassifier(meta_path.parent / "emotion.tflite", tmp)
