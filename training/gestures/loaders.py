"""Loaders: every dataset -> the kiosk's one feature format (kiosk.vision.gestures.hand_features).

kinivi_keypoint.csv  : class, 42 values already wrist-relative and divided by the max abs value,
                       computed from pixel coordinates. No handedness column: the recordings come from
                       a mirrored webcam and hold both hand chiralities, so rows are used as they are
                       (training adds mirrored copies for every source anyway).
hagrid_landmarks_train.csv : class, handedness (0 right, 1 left), 21 x (x, y, z) in image-normalised
                       units with the wrist moved to (0.5, 0.5). Checked against MediaPipe on the shared
                       photos (3-D chirality of the landmarks): the column is the person's hand on an
                       unmirrored photo, so 0 ("right") is what MediaPipe calls "Left" -> mirrored.
                       x and y are treated as the same scale (bone-length/direction analysis gave an
                       aspect close to 1: the landmarks come from hand crops); training jitters the aspect.
collected CSV        : written by collect.py: label, subject, handedness, f0..f41 (already kiosk features),
                       palm_tilt (the depth's palm tilt; absent in files written before it).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.vision.gestures import hand_features, palm_tilt_degrees, upright_degrees  # noqa: E402  (the single definitions)
from training.gestures.labels import HAGRID_CLASSES, HAGRID_NAMES, KINIVI_CLASSES, LABELS, NONE, SIDEWAYS_DEG, UPRIGHT  # noqa: E402


@dataclass
class Dataset:
    X: np.ndarray  # (N, 42) float32 kiosk features
    y: np.ndarray  # (N,) int index into LABELS
    source: np.ndarray  # (N,) str: dataset name
    # (N,) str: subject id where known (collect.py), HaGRID's own class name ("hagrid:stop"), else
    # "<source>:<label>"
    group: np.ndarray
    order: np.ndarray  # (N,) int: row position within (source, class) in file order
    # (N,) float: palm_tilt_degrees of the row's landmarks, NaN where the source has no depth (only
    # HaGRID's landmarks carry MediaPipe's z, and collect.py records the tilt; kinivi's rows are 2-D)
    tilt: np.ndarray

    FIELDS: ClassVar[tuple[str, ...]] = ("X", "y", "source", "group", "order", "tilt")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask) -> Dataset:
        return Dataset(*(getattr(self, f)[mask] for f in Dataset.FIELDS))

    @staticmethod
    def concat(parts: list[Dataset]) -> Dataset:
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty()
        return Dataset(*(np.concatenate([getattr(p, f) for p in parts]) for f in Dataset.FIELDS))


def empty() -> Dataset:
    return Dataset(
        np.zeros((0, 42), np.float32),
        np.zeros(0, int),
        np.zeros(0, str),
        np.zeros(0, str),
        np.zeros(0, int),
        np.zeros(0, float),
    )


def _order_within_class(y: np.ndarray) -> np.ndarray:
    order = np.zeros(len(y), int)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        order[idx] = np.arange(len(idx))
    return order


def _finish(X, y, name, groups=None, tilt=None) -> Dataset:
    y = np.asarray(y, int)
    groups = np.asarray(groups if groups is not None else [f"{name}:{LABELS[c]}" for c in y])
    tilt = np.full(len(y), np.nan) if tilt is None else np.asarray(tilt, float)
    return Dataset(np.asarray(X, np.float32), y, np.full(len(y), name), groups, _order_within_class(y), tilt)


def load_kinivi(path: str | Path) -> Dataset:
    rows = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    keep = np.isin(rows[:, 0].astype(int), list(KINIVI_CLASSES))
    rows = rows[keep]
    # re-run the kiosk feature function so the normalisation is exactly the runtime's
    X = np.stack([hand_features(r[1:43].reshape(21, 2), "Right") for r in rows])
    y = [LABELS.index(KINIVI_CLASSES[int(c)]) for c in rows[:, 0]]
    return _finish(X, y, "kinivi")


def load_hagrid(path: str | Path) -> Dataset:
    rows = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    keep = np.isin(rows[:, 0].astype(int), list(HAGRID_CLASSES))
    rows = rows[keep]
    X, y, tilt, groups = [], [], [], []
    for r in rows:
        pts = r[2:65].reshape(21, 3)
        groups.append(f"hagrid:{HAGRID_NAMES[int(r[0])]}")
        mediapipe_label = "Left" if int(r[1]) == 0 else "Right"
        X.append(hand_features(pts, mediapipe_label))
        y.append(LABELS.index(HAGRID_CLASSES[int(r[0])]))
        t = palm_tilt_degrees(pts)  # x, y and z on one scale (see above)
        tilt.append(np.nan if t is None else t)
    return _finish(np.stack(X), y, "hagrid", groups=groups, tilt=tilt)


# collect.py's CSV columns. palm_tilt (palm_tilt_degrees of the recorded landmarks, empty without
# depth) came later: files written before it lack the column, their rows load with no depth.
COLLECT_HEADER = ["label", "subject", "handedness"] + [f"f{i}" for i in range(42)] + ["palm_tilt"]


def load_collected(path: str | Path) -> Dataset:
    """CSV written by collect.py (label names; rows with unknown labels are skipped)."""
    X, y, groups, tilt = [], [], [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("label") not in LABELS:
                continue
            X.append([float(row[f"f{i}"]) for i in range(42)])
            y.append(LABELS.index(row["label"]))
            groups.append(f"collected:{row.get('subject') or 'unknown'}")
            tilt.append(float(row["palm_tilt"]) if row.get("palm_tilt") else np.nan)
    if not X:
        return empty()
    return _finish(np.asarray(X), y, "collected", groups, tilt)


def upright_mask(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """False for rows of fingers-up gestures whose hand lies sideways or points down (labels.UPRIGHT)."""
    upright_cls = np.isin(y, [LABELS.index(c) for c in UPRIGHT])
    return ~(upright_cls & (upright_degrees(X) > SIDEWAYS_DEG))


def load_not_upright(datasets_dir: str | Path, collected: list[str | Path] = ()) -> Dataset:
    """The real rows load_all leaves out (fingers-up gestures lying sideways or hanging down),
    relabelled "none": real hand shapes the kiosk does not ask for."""
    ds = load_all(datasets_dir, collected, upright_only=False)
    ds = ds.subset(~upright_mask(ds.X, ds.y))
    ds.group = np.array([f"{src}:{LABELS[c]}" for src, c in zip(ds.source, ds.y, strict=True)])  # what it was labelled
    ds.y = np.full(len(ds), LABELS.index(NONE))
    return ds


def load_all(datasets_dir: str | Path, collected: list[str | Path] = (), upright_only: bool = True) -> Dataset:
    """Every real source found under <datasets>/gestures plus any collect.py CSVs.
    upright_only drops rows of fingers-up gestures that lie sideways or point down (kinivi has some)."""
    d = Path(datasets_dir) / "gestures"
    parts = []
    if (d / "kinivi_keypoint.csv").is_file():
        parts.append(load_kinivi(d / "kinivi_keypoint.csv"))
    if (d / "hagrid_landmarks_train.csv").is_file():
        parts.append(load_hagrid(d / "hagrid_landmarks_train.csv"))
    for c in collected:
        parts.append(load_collected(c))
    if not parts:
        raise FileNotFoundError(f"no gesture datasets under {d}")
    ds = Dataset.concat(parts)
    if upright_only:
        ds = ds.subset(upright_mask(ds.X, ds.y))
        ds.order = np.zeros(len(ds), int)  # renumber within (source, class), file order kept
        for key in set(zip(ds.source, ds.y, strict=True)):
            idx = np.flatnonzero((ds.source == key[0]) & (ds.y == key[1]))
            ds.order[idx] = np.arange(len(idx))
    return ds
