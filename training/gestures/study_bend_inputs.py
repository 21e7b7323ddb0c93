"""Study (not part of the recipe): would inputs that a turn or a bigger hand do not change carry the
classifier over to other people better than the 42 coordinates alone?

Two arms, the same training rows, seeds and network (train.training_data, train.fit): the
42 coordinates as shipped, and the same plus 36 measures of how the fingers bend (cosine and sine
of each joint's bend, the spread between neighbouring fingers, `finger_measures`, `hand_shape`).
Each arm trains the 5 blocked folds, both cross-dataset directions and 4 leave-one-shape-out models,
and predicts with the float Keras model at the 0.6 floor, without the checks after the classifier:
a quick paired look (4 min per arm) that decides whether the whole recipe is worth changing.

    /work/venvs/train/bin/python -m training.gestures.study_bend_inputs coordinates --out /tmp/a.json &
    /work/venvs/train/bin/python -m training.gestures.study_bend_inputs bends --out /tmp/b.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.vision.gestures import FINGER_CHAINS, finger_measures, hand_shape  # noqa: E402
from training.gestures import train  # noqa: E402
from training.gestures.labels import LABELS, NONE  # noqa: E402
from training.gestures.splits import blocked_folds, cross_dataset  # noqa: E402
from training.gestures.synth import SYNTH_NONE_FAMILIES, generate_none  # noqa: E402

# wrist, then each finger's joints base to tip: a bend is measured at every inner point
_CHAINS = tuple((0, *chain) for chain in FINGER_CHAINS)
FAMILIES = ("flat_edge", "pinkie", "heart_half", "partial_fist")  # the most accepted held-out families
EPOCHS = 30  # train.py's default


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True).clip(1e-9)


def bend_measures(X: np.ndarray) -> np.ndarray:
    """(N, 42) kiosk features -> (N, 36): per joint the bend's cosine and sine (15 joints), the cosine
    between neighbouring fingers' knuckle-to-tip directions (4), finger_measures / 2, hand_shape / 2."""
    p = X.reshape(-1, 21, 2).astype(np.float64)
    cols = []
    for chain in _CHAINS:
        for a, b, c in zip(chain, chain[1:], chain[2:], strict=False):
            u, v = _unit(p[:, b] - p[:, a]), _unit(p[:, c] - p[:, b])
            cols += [(u * v).sum(1), u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]]
    directions = [_unit(p[:, chain[4]] - p[:, chain[1]]) for chain in _CHAINS]
    cols += [(d1 * d2).sum(1) for d1, d2 in zip(directions, directions[1:], strict=False)]
    shapes = np.stack([hand_shape(row) for row in X])
    out = np.concatenate([np.stack(cols, 1), finger_measures(X) / 2.0, shapes / 2.0], 1)
    return np.clip(out, -3, 3).astype(np.float32)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arm", choices=("coordinates", "bends"))
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    def inputs(X):
        return X if args.arm == "coordinates" else np.concatenate([X, bend_measures(X)], 1)

    def fit(rX, ry, nX, nfam, seed):
        return train.fit(rX, ry, syn_X, syn_y, nX, nfam, EPOCHS, seed, inputs=inputs)[0]

    def predict(model, X):
        p = model.predict(inputs(X), verbose=0, batch_size=4096)
        label = p.argmax(1)
        label[p.max(1) < train.MIN_CONFIDENCE] = LABELS.index(NONE)
        return label

    def recall(y, pred):
        return {LABELS[c]: round(float((pred[y == c] == c).mean()), 4) for c in np.unique(y)}

    real, _, syn_X, syn_y, neg_X, neg_fam = train.training_data(args.datasets)
    # what a default kiosk draws, as the shipped JSON says (hold_study.py reads it the same way)
    drawn = json.loads((ROOT / "models" / "gesture_classifier.json").read_text())["open_set"]["drawn_labels"]
    result: dict = {"arm": args.arm}
    pred = np.full(len(real), -1)
    for k, (tr, val) in enumerate(blocked_folds(real, 5)):
        pred[val] = predict(fit(real.X[tr], real.y[tr], neg_X, neg_fam, k), real.X[val])
    result["blocked_folds"] = recall(real.y, pred)
    for a, b in (("hagrid", "kinivi"), ("kinivi", "hagrid")):
        tr, val = cross_dataset(real, a, b)
        result[f"cross_{a}_to_{b}"] = recall(
            real.y[val], predict(fit(real.X[tr], real.y[tr], neg_X, neg_fam, 30), real.X[val])
        )
    for family in FAMILIES:
        keep = neg_fam != family
        model = fit(real.X, real.y, neg_X[keep], neg_fam[keep], 100 + SYNTH_NONE_FAMILIES.index(family))
        fresh, _ = generate_none([family], 400, train.SYNTH_VAL_SEED)
        result[f"held_out_{family}"] = round(float(np.isin(np.array(LABELS)[predict(model, fresh)], drawn).mean()), 4)
    for key, value in result.items():
        if isinstance(value, dict):
            value = {**value, "macro": round(float(np.mean(list(value.values()))), 4)}
            result[key] = value
        print(key, value, flush=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
