"""The shape check's envelope (`kiosk.vision.gestures.ShapeEnvelope`, the model JSON's `shape_envelope`).

Per drawn-able label, the range of each hand-shape measure (`SHAPE_FEATURES`: how straight each
finger is, how far it reaches, how wide the knuckles are, how far the thumb tip is from the index
tip) over that label's real training rows, from the QUANTILE to the 1 - QUANTILE quantile, widened
on both sides by `pad` times that range. A hand the classifier gives that label but whose shape
falls outside is "none": three fingers taken for "victory" has a straight ring finger that no real
"victory" hand had.

`pad` is chosen per label, on real gestures only, never on the "none" families (so the
leave-one-shape-out figures stay a measurement): the smallest of PADS that
- costs the label at most MAX_RECALL_COST of its blocked-fold recall (each fold's envelope built
  from that fold's training rows only), and
- where two datasets hold the label (other people, other cameras), lets each dataset's own envelope
  admit at least 1 - MAX_CROSS_LOSS of the other dataset's hands of it. The blocked folds alone
  chose pads of 0.3-0.5, which turned away 20 % of kinivi's open hands and 19 % of its fists with
  HaGRID's envelope: people and cameras differ more than the folds of one dataset do. A label no
  pad passes this for is left unchecked; a label only one dataset holds gets at least the widest
  pad the two-dataset labels needed.
Runs in the runtime venv (numpy and the kiosk only).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.vision.gestures import SHAPE_FEATURES, ShapeEnvelope, hand_shape  # noqa: E402
from training.gestures.labels import LABELS, NONE, SYNTHETIC_ONLY  # noqa: E402

QUANTILE = 0.005
PADS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5, 2.0)
MAX_RECALL_COST = 0.01
MAX_CROSS_LOSS = 0.03
MIN_CROSS_ROWS = 100
CHECKED = [label for label in LABELS if label != NONE and label not in SYNTHETIC_ONLY]


def shapes(X: np.ndarray) -> np.ndarray:
    """(N, 42) kiosk features -> (N, len(SHAPE_FEATURES)), through the runtime's own measure."""
    return np.stack([hand_shape(x) for x in X]) if len(X) else np.zeros((0, len(SHAPE_FEATURES)))


def envelope_meta(S: np.ndarray, y: np.ndarray, pads: dict[str, float]) -> dict:
    """The JSON's `shape_envelope` from shape rows S with labels y (indices into LABELS)."""
    bounds = {}
    for label, pad in pads.items():
        rows = S[y == LABELS.index(label)]
        if len(rows) == 0:  # no training rows of it here (a cross-dataset run): left unchecked
            continue
        lo, hi = np.quantile(rows, QUANTILE, axis=0), np.quantile(rows, 1 - QUANTILE, axis=0)
        width = hi - lo
        bounds[label] = {
            "low": [round(float(v), 5) for v in lo - pad * width],
            "high": [round(float(v), 5) for v in hi + pad * width],
            "pad": pad,
        }
    return {"features": list(SHAPE_FEATURES), "quantile": QUANTILE, "bounds": bounds}


def refit(envelope: dict | None, S: np.ndarray, y: np.ndarray) -> dict | None:
    """The same envelope (labels, pads) built from other rows: a validation run's training part."""
    if not envelope:
        return envelope
    return envelope_meta(S, y, {label: b["pad"] for label, b in envelope["bounds"].items()})


def cross_admitted(S: np.ndarray, y: np.ndarray, source: np.ndarray) -> dict[str, dict[str, dict[str, float]]]:
    """Per label held by two or more datasets (MIN_CROSS_ROWS rows each), per "a>b" and pad: the
    share of dataset b's hands of the label inside dataset a's own envelope."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label in CHECKED:
        c = LABELS.index(label)
        held = [src for src in sorted(set(source)) if ((source == src) & (y == c)).sum() >= MIN_CROSS_ROWS]
        if len(held) < 2:
            continue
        out[label] = {}
        for a in held:
            own = source == a
            for b in held:
                if a == b:
                    continue
                rows = S[(source == b) & (y == c)]
                admitted = {}
                for pad in PADS:
                    env = ShapeEnvelope.from_meta(envelope_meta(S[own], y[own], {label: pad}), LABELS, a)
                    admitted[f"{pad:g}"] = round(float(np.mean([env.admits(label, r) for r in rows])), 4)
                out[label][f"{a}>{b}"] = admitted
    return out


def choose_pads(
    folds: list[tuple[np.ndarray, np.ndarray, np.ndarray]], S: np.ndarray, y: np.ndarray, source: np.ndarray
):
    """folds: (train rows, validation rows, runtime label index of each validation row) per blocked
    fold. Returns the pad per label, per label and pad the pooled blocked-fold recall, and the
    cross-dataset admission (`cross_admitted`)."""
    recall: dict[str, dict[str, float]] = {label: {} for label in CHECKED}
    for pad in (*PADS, None):
        hits = dict.fromkeys(CHECKED, 0)
        counts = dict.fromkeys(CHECKED, 0)
        for train, val, pred in folds:
            env = ShapeEnvelope.from_meta(
                envelope_meta(S[train], y[train], dict.fromkeys(CHECKED, pad or 0.0)) if pad is not None else None,
                LABELS,
                "fold",
            )
            for label in CHECKED:
                c = LABELS.index(label)
                rows = np.flatnonzero(y[val] == c)
                counts[label] += len(rows)
                hits[label] += sum(pred[i] == c and env.admits(label, S[val][i]) for i in rows)
        for label in CHECKED:
            if counts[label]:
                recall[label]["unchecked" if pad is None else f"{pad:g}"] = hits[label] / counts[label]
    cross = cross_admitted(S, y, source)

    def passes(label: str, pad: float) -> bool:
        by_pad = recall[label]
        if by_pad[f"{pad:g}"] < by_pad["unchecked"] - MAX_RECALL_COST - 1e-9:
            return False
        return all(v[f"{pad:g}"] >= 1 - MAX_CROSS_LOSS - 1e-9 for v in cross.get(label, {}).values())

    pads = {}
    for label in cross:  # the labels two datasets hold first: they say how wide "other people" is
        ok = [p for p in PADS if "unchecked" in recall[label] and passes(label, p)]
        if ok:
            pads[label] = min(ok)
    floor = max(pads.values(), default=0.0)
    for label in CHECKED:
        if label in cross or "unchecked" not in recall[label]:
            continue
        ok = [p for p in PADS if p >= floor and passes(label, p)]
        if ok:
            pads[label] = min(ok)
    return pads, {label: {k: round(v, 4) for k, v in r.items()} for label, r in recall.items() if r}, cross
