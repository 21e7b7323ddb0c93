"""NUAA frames + cached MediaPipe boxes -> model crops, the subject split, and sequence grouping."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from kiosk.vision.liveness import crop_for_model, detector_box_from_mesh  # noqa: E402  (one crop rule)

# Subject-disjoint split of the 9 NUAA training-list subjects. Validation mixes glasses (0003, 0007
# wear them in some sessions) and bare faces, and both real sessions of a subject stay on one side.
# The shipped model's split; the leave-subjects-out rotation (crossval.py) runs every step with
# another held-out group through LIVENESS_VAL_SUBJECTS (comma-separated), in a child process each.
SHIPPED_VAL_SUBJECTS = ("0003", "0006", "0008")
VAL_SUBJECTS = tuple(
    s.strip() for s in os.environ.get("LIVENESS_VAL_SUBJECTS", ",".join(SHIPPED_VAL_SUBJECTS)).split(",") if s.strip()
)


def load_index(work: Path) -> dict[str, np.ndarray]:
    d = np.load(work / "nuaa_faces.npz")
    return {k: d[k] for k in d.files}


def load_frames(datasets: Path, index: dict) -> list[np.ndarray]:
    root = Path(datasets) / "nuaa_train"
    if not root.is_dir():
        raise SystemExit(f"NUAA frames not found: {root} (the datasets folder holds nuaa_train/)")
    frames = [cv2.imread(str(root / p)) for p in index["path"]]
    missing = [p for p, f in zip(index["path"], frames, strict=False) if f is None]
    if missing:
        raise SystemExit(f"{len(missing)} NUAA frames unreadable under {root}, e.g. {missing[0]}")
    return frames


def make_crops(frames, index, scale: float, size: int = 80, adjust=None, jitter=None, rng=None) -> np.ndarray:
    """uint8 BGR crops (N, size, size, 3). jitter=(shift, scale) randomises the box like a tracker would."""
    out = np.empty((len(frames), size, size, 3), np.uint8)
    for i, (img, bbox) in enumerate(zip(frames, index["bbox"], strict=False)):
        x, y, w, h = detector_box_from_mesh(bbox, adjust)
        s = scale
        if jitter is not None:
            sh, sc = jitter
            x += rng.uniform(-sh, sh) * w
            y += rng.uniform(-sh, sh) * h
            s = scale * rng.uniform(1 - sc, 1 + sc)
        out[i] = crop_for_model(img, (x, y, w, h), s, size)
    return out


def split_mask(index) -> np.ndarray:
    """True for validation rows."""
    unknown = sorted(set(VAL_SUBJECTS) - set(index["subject"].tolist()))
    if unknown or not VAL_SUBJECTS:
        raise SystemExit(
            f"LIVENESS_VAL_SUBJECTS: subjects {unknown or '(none)'} not among {sorted(set(index['subject']))}"
        )
    return np.isin(index["subject"], VAL_SUBJECTS)


def frame_metrics(scores: dict, thr: float) -> dict:
    """ISO 30107-3 style error rates at threshold thr: BPCER for every "real*" set of live scores,
    APCER_<kind> for every attack kind ("print", "screen", ...)."""
    out = {}
    for kind, s in scores.items():
        s = np.asarray(s)
        if kind.startswith("real"):
            out["BPCER" + kind[len("real") :]] = float(np.mean(s < thr))
        else:
            out[f"APCER_{kind}"] = float(np.mean(s >= thr))
    return out
