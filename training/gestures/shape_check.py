"""The shape check's envelope (`kiosk.vision.gestures.ShapeEnvelope`, the model JSON's `shape_envelope`).

Per drawn-able label, the range of each hand-shape measure (`SHAPE_FEATURES`: how straight each
finger is, how far it reaches, how wide the knuckles are, how far the thumb tip is from the index
tip) over that label's real training rows, from the QUANTILE to the 1 - QUANTILE quantile, widened
on both sides by a pad times that range, one pad per measure. A hand the classifier gives that label
but whose shape falls outside is "none": three fingers taken for "victory" has a straight ring
finger that no real "victory" hand had.

The pads are chosen per label on real gestures only, never on the "none" families (so the
leave-one-shape-out figures stay a measurement), by `feature_pads`: every measure starts unbounded
and is narrowed step by step while the label
- keeps within MAX_RECALL_COST of its blocked-fold recall (each fold's envelope built from that
  fold's training rows only), and
- where two datasets hold the label (other people, other cameras), each dataset's own envelope
  still admits at least 1 - MAX_CROSS_LOSS of the other dataset's hands of it. The blocked folds
  alone chose pads of 0.3-0.5, which turned away 20 % of kinivi's open hands and 19 % of its fists
  with HaGRID's envelope: people and cameras differ more than the folds of one dataset do.
A label only one dataset holds has no measure of how other people differ: it keeps every measure
at least as wide as the widest single pad (one for all measures) a two-dataset label needed. (Their
per-measure pads do not carry over: a straight finger's range is narrow, a curled one's wide.)
A label that loses too much even unbounded is left unchecked.
Runs in the runtime venv (numpy and the kiosk only).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.vision.gestures import SHAPE_FEATURES, hand_shape  # noqa: E402
from training.gestures.labels import LABELS, NONE, SYNTHETIC_ONLY  # noqa: E402

QUANTILE = 0.005
UNBOUNDED = 10.0  # ten times a measure's range: no bound in practice (a measure people vary in too much)
PADS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5, 2.0, UNBOUNDED)
MAX_RECALL_COST = 0.01
MAX_CROSS_LOSS = 0.03
MIN_CROSS_ROWS = 100
CHECKED = [label for label in LABELS if label != NONE and label not in SYNTHETIC_ONLY]


def shapes(X: np.ndarray) -> np.ndarray:
    """(N, 42) kiosk features -> (N, len(SHAPE_FEATURES)), through the runtime's own measure."""
    return np.stack([hand_shape(x) for x in X]) if len(X) else np.zeros((0, len(SHAPE_FEATURES)))


def envelope_meta(S: np.ndarray, y: np.ndarray, pads: dict[str, float | list[float]]) -> dict:
    """The JSON's `shape_envelope` from shape rows S with labels y (indices into LABELS); a label's
    pad is one per measure (`feature_pads`), or one for all (JSON files before 2026.12.02)."""
    bounds = {}
    for label, pad in pads.items():
        rows = S[y == LABELS.index(label)]
        if len(rows) == 0:  # no training rows of it here (a cross-dataset run): left unchecked
            continue
        lo, hi = _ranges(rows)
        width = (hi - lo) * np.asarray(pad, dtype=np.float64)
        bounds[label] = {
            "low": [round(float(v), 5) for v in lo - width],
            "high": [round(float(v), 5) for v in hi + width],
            "pad": pad,
        }
    return {"features": list(SHAPE_FEATURES), "quantile": QUANTILE, "bounds": bounds}


def refit(envelope: dict | None, S: np.ndarray, y: np.ndarray) -> dict | None:
    """The same envelope (labels, pads) built from other rows: a validation run's training part."""
    if not envelope:
        return envelope
    return envelope_meta(S, y, {label: b["pad"] for label, b in envelope["bounds"].items()})


def feature_pads(
    folds: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    S: np.ndarray,
    y: np.ndarray,
    source: np.ndarray,
) -> tuple[dict[str, list[float]], dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """folds: (train rows, validation rows, runtime label index of each validation row) per blocked
    fold. Returns the pads per label (one per measure), per label the pooled blocked-fold recall
    unchecked and with its pads, and per two-dataset label and "a>b" the share of dataset b's hands
    inside dataset a's envelope with those pads.

    A single pad per label has to be as wide as the label's least steady measure (most labels
    needed 1.5 times the range), which left e.g. the OK sign's index finger free to be straight.
    Here every measure of a label starts unbounded and, one step at a time, the measure whose range
    shrinks most (as a share of that measure's range over all real gestures) is narrowed to the next
    of PADS, while the label keeps within the rules in the module docstring."""
    spread = np.maximum(np.subtract(*_ranges(S)[::-1]), 1e-9)
    two_datasets = two_dataset_labels(y, source)
    pads: dict[str, list[float]] = {}
    one_pad = 0.0  # the widest single pad (one for all measures) a two-dataset label needed
    recall: dict[str, dict[str, float]] = {}
    cross: dict[str, dict[str, float]] = {}
    for label in two_datasets + [k for k in CHECKED if k not in two_datasets]:
        c = LABELS.index(label)
        check = _LabelCheck.build(folds, S, y, source if label in two_datasets else None, c)
        if check is None:
            continue
        lo, hi = _ranges(S[y == c])
        floor = np.full(len(SHAPE_FEATURES), 0.0 if label in two_datasets else one_pad)
        pad = check.narrow((hi - lo) / spread, floor)
        if label in two_datasets:  # the single pad it would need for all its measures (none fits: no evidence)
            fits = [p for p in PADS if p < UNBOUNDED and check.feasible(np.full(len(SHAPE_FEATURES), p))]
            one_pad = max([one_pad, *fits[:1]])
        recall[label] = {"unchecked": round(check.unchecked, 4)}
        if pad is None:
            continue
        pads[label] = [float(v) for v in pad]
        recall[label]["checked"] = round(check.recall(pad), 4)
        if check.cross:
            cross[label] = {name: round(share, 4) for name, share in check.cross_shares(pad).items()}
    return pads, recall, cross


class _LabelCheck:
    """One label's rows for `feature_pads`: per blocked fold, the range of its training rows and
    the validation rows of the label (and whether the classifier got each right); per pair of
    datasets, one dataset's range and the other's rows."""

    def __init__(self, parts: list, cross: dict):
        self.parts, self.cross = parts, cross
        self.total = sum(len(hit) for *_, hit in parts)
        self.unchecked = sum(int(hit.sum()) for *_, hit in parts) / self.total

    @classmethod
    def build(cls, folds, S, y, source, c) -> _LabelCheck | None:
        parts = []
        for train, val, pred in folds:
            own = train[y[train] == c]
            rows = np.flatnonzero(y[val] == c)
            if len(own) and len(rows):
                parts.append((*_ranges(S[own]), S[val][rows], pred[rows] == c))
        if not parts:
            return None
        cross = {}
        if source is not None:
            held = [src for src in sorted(set(source)) if ((source == src) & (y == c)).sum() >= MIN_CROSS_ROWS]
            for a in held:
                lo, hi = _ranges(S[(source == a) & (y == c)])
                cross.update({f"{a}>{b}": (lo, hi, S[(source == b) & (y == c)]) for b in held if b != a})
        return cls(parts, cross)

    def recall(self, pad: np.ndarray) -> float:
        return sum(int((hit & _inside(rows, lo, hi, pad)).sum()) for lo, hi, rows, hit in self.parts) / self.total

    def cross_shares(self, pad: np.ndarray) -> dict[str, float]:
        return {name: float(_inside(rows, lo, hi, pad).mean()) for name, (lo, hi, rows) in self.cross.items()}

    def feasible(self, pad: np.ndarray) -> bool:
        if self.recall(pad) < self.unchecked - MAX_RECALL_COST - 1e-9:
            return False
        return all(v >= 1 - MAX_CROSS_LOSS - 1e-9 for v in self.cross_shares(pad).values())

    def narrow(self, width: np.ndarray, floor: np.ndarray) -> np.ndarray | None:
        """Greedy: the feasible one-step narrowing that removes the most relative width, until none is left."""
        steps = np.array(PADS)
        pad = np.full(len(width), UNBOUNDED)
        if not self.feasible(pad):
            return None
        while True:
            best, gain = None, 0.0
            for f in range(len(pad)):
                lower = steps[steps < pad[f]]
                if len(lower) == 0 or lower[-1] < floor[f]:
                    continue
                trial = pad.copy()
                trial[f] = lower[-1]
                g = width[f] * (pad[f] - trial[f])
                if g > gain and self.feasible(trial):
                    best, gain = trial, g
            if best is None:
                return pad
            pad = best


def _inside(S: np.ndarray, lo: np.ndarray, hi: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """Which rows of S lie in the range lo..hi widened by pad times its width, measure by measure."""
    width = (hi - lo) * pad
    return ((S >= lo - width) & (S <= hi + width)).all(axis=1)


def _ranges(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.quantile(rows, QUANTILE, axis=0), np.quantile(rows, 1 - QUANTILE, axis=0)


def two_dataset_labels(y: np.ndarray, source: np.ndarray) -> list[str]:
    """The checked labels two or more datasets hold (MIN_CROSS_ROWS rows each)."""
    out = []
    for label in CHECKED:
        c = LABELS.index(label)
        if sum(((source == src) & (y == c)).sum() >= MIN_CROSS_ROWS for src in set(source)) >= 2:
            out.append(label)
    return out
