"""The finger rule's bounds (`kiosk.vision.gestures.FingerRule`, the model JSON's `finger_rule`).

Each gesture's instruction says which fingers are held out and which are folded, and for the open
hand that the palm faces the camera (`labels.INSTRUCTION_SHAPE`). The rule turns that into bounds
on `FINGER_MEASURES`, per label: a lower bound on a finger held out, an upper bound on a folded
one, a lower bound on the palm's width. A hand the classifier gives a label whose instruction it
contradicts is "none": a flat hand seen edge-on is not an open palm to the camera, three fingers up
with the index folded into the palm are not the OK sign (its index bends into a ring), three fingers
with the little one folded are not an open hand.

Only labels that two datasets hold (MIN_CROSS_ROWS rows each) get bounds from data: for a label
only HaGRID holds (125 rows) such bounds cost up to 3.2 points of recall on rows they were not
chosen on, even with no training row given up (nested blocked folds; models/gesture_classifier.md):
one dataset does not show how other people's hands differ. Those labels get the bound the words
alone give instead: a finger the instruction holds out reaches farther from the wrist than its own
knuckle (HELD_OUT); a little finger alone is then not "rock" (no index finger out).

The bounds are chosen per label on real gestures only, never on the "none" families (so the
leave-one-shape-out figures stay a measurement), by `choose`: every bound starts open and, in turn
per label and measure, is moved one step of GRID inwards while the label
- keeps within MAX_RECALL_COST of its recall (real rows the classifier, after its other checks,
  gets right: out-of-fold predictions of the blocked folds), and
- where two datasets hold the label, each dataset's hands of it are still admitted >= 1 -
  MAX_CROSS_LOSS (other people, other cameras).
It stops when no bound can move; then every bound is moved back out by MARGIN. `evaluate.py` also
chooses the bounds once per blocked fold without that fold's rows, so the recall it reports with the
rule was not measured on the rows that set it.
Runs in the runtime venv (numpy and the kiosk only).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.vision.gestures import FINGER_MEASURES  # noqa: E402
from training.gestures.labels import FACING, FOLDED, INSTRUCTION_SHAPE, LABELS, OUT  # noqa: E402
from training.gestures.shape_check import MAX_CROSS_LOSS, MIN_CROSS_ROWS  # noqa: E402

MAX_RECALL_COST = 0.01
# A finger held out reaches farther from the wrist than its own knuckle (<finger>_out > 1: a folded
# finger's tip lies nearer the wrist than its knuckle). The one bound a label gets whose data cannot
# bound it: the instruction's own words, no range of people's hands. On HaGRID's call_me, victory and
# rock hands it turned away none of those the classifier recognised (models/gesture_classifier.md).
HELD_OUT = 1.0
FINGERS = ("index_out", "middle_out", "ring_out", "little_out")
# After the search every bound is moved back out by MARGIN (two steps): bounds chosen where the
# search stopped cost 1.3-2.8 points of recall on the rows they were not chosen on (nested blocked
# folds), against 0.2-1.2 with the margin (models/gesture_classifier.md).
MARGIN = 0.1
GRID = np.round(np.arange(0.05, 3.0001, 0.05), 2)  # bounds in steps of 0.05 (fingers ~0.5-2.5, palm ~0.2-1.5)

Bounds = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]  # per label: low, high (+-inf = none)


def choose(y: np.ndarray, pred: np.ndarray, M: np.ndarray, source: np.ndarray) -> Bounds:
    """Bounds per label from real rows: true label index y, the classifier's label index pred (after
    its other checks), FINGER_MEASURES M and dataset source of each row (each real row once)."""
    checks = {}
    for label in INSTRUCTION_SHAPE:
        c = LABELS.index(label)
        own = y == c
        per_source = [M[own & (source == s)] for s in sorted(set(source[own]))]
        per_source = [rows for rows in per_source if len(rows) >= MIN_CROSS_ROWS]
        if len(per_source) < 2:  # one dataset: no measure of how other people's hands differ
            continue
        checks[label] = (M[own], pred[own] == c, per_source)
    low = {label: np.full(len(FINGER_MEASURES), -np.inf) for label in checks}
    high = {label: np.full(len(FINGER_MEASURES), np.inf) for label in checks}
    moved = True
    while moved:
        moved = False
        for f in range(len(FINGER_MEASURES)):
            for label, (rows, hit, per_source) in checks.items():
                kind = INSTRUCTION_SHAPE[label][f]
                if kind is None:
                    continue
                bound = high if kind == FOLDED else low
                steps = GRID[GRID < bound[label][f]][::-1] if kind == FOLDED else GRID[GRID > bound[label][f]]
                if not len(steps):
                    continue
                trial = bound[label].copy()
                trial[f] = steps[0]
                lo, hi = (low[label], trial) if kind == FOLDED else (trial, high[label])
                if _feasible(rows, hit, per_source, lo, hi):
                    bound[label] = trial
                    moved = True
    low = {k: v - MARGIN for k, v in low.items()}
    high = {k: v + MARGIN for k, v in high.items()}
    words_low, words_high = words_only()
    for label in sorted(words_low.keys() - low.keys()):  # no bounds from data: the words' own (sorted: one JSON order)
        low[label], high[label] = words_low[label], words_high[label]
    return low, high


def words_only() -> Bounds:
    """The bounds the instructions' words alone give, with no data: per label whose instruction
    holds a finger out, that finger reaches at least HELD_OUT (what a label gets from one dataset)."""
    low, high = {}, {}
    for label, shape in INSTRUCTION_SHAPE.items():
        held_out = [f for f, kind in enumerate(shape) if kind == OUT and FINGER_MEASURES[f] in FINGERS]
        if held_out:
            low[label] = np.full(len(FINGER_MEASURES), -np.inf)
            low[label][held_out] = HELD_OUT
            high[label] = np.full(len(FINGER_MEASURES), np.inf)
    return low, high


def _feasible(rows, hit, per_source, lo, hi) -> bool:
    kept = hit & admitted(rows, lo, hi)
    if kept.sum() < hit.sum() - MAX_RECALL_COST * len(hit) - 1e-9:
        return False
    return all(admitted(r, lo, hi).mean() >= 1 - MAX_CROSS_LOSS - 1e-9 for r in per_source)


def admitted(M: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return ((M >= lo) & (M <= hi)).all(axis=1)


def admitted_per_source(bounds: Bounds, y: np.ndarray, M: np.ndarray, source: np.ndarray) -> dict:
    """Per bounded label and dataset, the share of that dataset's hands of the label the bounds admit."""
    low, high = bounds
    out = {}
    for label in low:
        own = y == LABELS.index(label)
        out[label] = {
            s: round(float(admitted(M[own & (source == s)], low[label], high[label]).mean()), 4)
            for s in sorted(set(source[own]))
        }
    return out


def rule_meta(bounds: Bounds) -> dict:
    """The JSON's `finger_rule` (null where a measure has no bound: JSON has no infinity)."""
    low, high = bounds

    def values(v: np.ndarray) -> list[float | None]:
        return [None if not np.isfinite(x) else round(float(x), 4) for x in v]

    return {
        "measures": list(FINGER_MEASURES),
        "bounds": {label: {"low": values(low[label]), "high": values(high[label])} for label in low},
    }


# "Palm to the camera" in depth (`kiosk.vision.gestures.PalmFacing`): the largest palm tilt among the
# real hands of the labels whose instruction says so, plus PALM_TILT_MARGIN, rounded up to
# PALM_TILT_STEP. A fixed margin rather than a search: only one dataset (HaGRID) carries depth, so
# there is no second one to say how far other people's palms turn (see `choose` above).
PALM_TILT_MARGIN = 10.0
PALM_TILT_STEP = 5.0


def facing_labels() -> list[str]:
    """Labels whose instruction says the palm faces the camera (INSTRUCTION_SHAPE's palm_width)."""
    return [label for label, shape in INSTRUCTION_SHAPE.items() if shape[-1] == FACING]


def choose_palm_facing(y: np.ndarray, tilt: np.ndarray) -> dict | None:
    """The JSON's `palm_facing` from real rows: true label index y and palm_tilt_degrees (NaN for a
    row without depth) of each row; None when no such row has depth."""
    labels = facing_labels()
    own = np.isin(y, [LABELS.index(k) for k in labels]) & np.isfinite(tilt)
    if not own.any():
        return None
    limit = np.ceil((float(tilt[own].max()) + PALM_TILT_MARGIN) / PALM_TILT_STEP) * PALM_TILT_STEP
    return {"labels": labels, "max_tilt_degrees": float(min(limit, 90.0)), "rows_with_depth": int(own.sum())}
