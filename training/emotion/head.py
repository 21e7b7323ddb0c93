"""Train the fusion head over [CNN probabilities, blendshapes, presence flag] and export it int8.

    /work/venvs/train/bin/python training/emotion/head.py --work artifacts/emotion

Reads `features.npz` (features.py) and `split.npz` (dedup.py) from --work. Trains on `head_train`
only (images the CNN never saw, none of them a duplicate of a validation or CNN-training face):
- 5 group-disjoint folds of head_train -> 5 fold heads (head_fold{k}.tflite), whose out-of-fold
  outputs the calibration step (calibrate.py, runtime venv) uses to pick the per-class thresholds;
- one head on all of head_train -> head.tflite, the shipped one.
Rows without blendshapes (the landmarker found no face) have zeros and flag 0; in addition a random
15 % of the other rows are shown without their blendshapes in every epoch, so the CNN-only path is
trained on enough rows. Architecture: 60 -> 32 ReLU -> dropout 0.2 -> 7 logits (2,183 weights).
Full-integer int8 (float32 input/output), 500 representative rows.

With --blendshape-view the head holds a second view of the face inside the same file and input: an
MLP over the 52 blendshapes alone (52 -> 128 -> 64 -> 7), trained first on the blendshapes of the
CNN's own training images (split.npz `cnn_train`: about 21,000 faces, eight times head_train; only
their labels are used, never the CNN's outputs on them, which would be over-confident), then frozen.
Its probabilities, times the presence flag, join the head's input in the fusion layer, which is
trained on head_train as before. The runtime does not change: same input row, same 7 logits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import numpy as np  # noqa: E402

SEED = 20261201
N_BS = 52
DROP_BLENDSHAPES = 0.15
EPOCHS = 60
HIDDEN = 32
VIEW_EPOCHS = 40


def head_inputs(work: Path, cnn_temperature: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, found) for every image: calibrated CNN probabilities, blendshapes (0 if none), flag."""
    f = np.load(work / "features.npz")
    z = f["cnn_logits"].astype(np.float64) / cnn_temperature
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    bs = f["blendshapes"]
    found = ~np.isnan(bs[:, 0])
    x = np.concatenate([p, np.nan_to_num(bs, nan=0.0), found[:, None]], axis=1).astype(np.float32)
    return x, f["labels"].astype(np.int64), found


def group_folds(groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    uniq = np.unique(groups)
    fold_of = dict(zip(uniq, np.random.default_rng(seed).permutation(len(uniq)) % k, strict=True))
    return np.array([fold_of[g] for g in groups])


def class_weights(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y, minlength=7).astype(np.float64)
    weights = (counts.max() / np.maximum(counts, 1)) ** 0.5
    return weights / weights[y].mean()


def _single_thread(seed: int) -> None:
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)


def train_blendshape_view(bs: np.ndarray, y: np.ndarray, seed: int):
    """The blendshapes-alone classifier (52 -> 7 logits), trained on faces the landmarker found."""
    import keras

    _single_thread(seed)
    weights = class_weights(y)
    view = keras.Sequential(
        [
            keras.Input((N_BS,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(7),
        ],
        name="blendshape_view",
    )
    view.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for epoch in range(VIEW_EPOCHS):
        if epoch == VIEW_EPOCHS // 2:
            view.optimizer.learning_rate.assign(3e-4)
        view.fit(bs, y, sample_weight=weights[y], batch_size=128, epochs=1, verbose=0, shuffle=True)
    view.trainable = False
    return view


def head_model(n_inputs: int, view=None):
    """The fusion MLP over the head's input row, with the frozen blendshape view's probabilities when given."""
    import keras

    if view is None:  # the head as it was (same layers, same seeded initialisation)
        return keras.Sequential(
            [
                keras.Input((n_inputs,)),
                keras.layers.Dense(HIDDEN, activation="relu"),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(7),
            ]
        )
    inp = keras.Input((n_inputs,))
    blendshapes = keras.layers.Lambda(lambda t: t[:, 7 : 7 + N_BS], name="blendshapes")(inp)
    present = keras.layers.Lambda(lambda t: t[:, -1:], name="present")(inp)
    # training=False: the frozen view's dropout stays off while the fusion layer trains
    view_probs = keras.layers.Softmax()(view(blendshapes, training=False))
    x = keras.layers.Concatenate()([inp, keras.layers.Multiply()([view_probs, present])])
    h = keras.layers.Dense(HIDDEN, activation="relu")(x)
    h = keras.layers.Dropout(0.2)(h)
    return keras.Model(inp, keras.layers.Dense(7)(h))


def train_head(x: np.ndarray, y: np.ndarray, seed: int, view=None):
    import keras

    _single_thread(seed)
    weights = class_weights(y)
    model = head_model(x.shape[1], view)
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(seed)
    for epoch in range(EPOCHS):
        xe = x.copy()
        drop = (rng.random(len(xe)) < DROP_BLENDSHAPES) & (xe[:, -1] > 0)
        xe[drop, 7:] = 0.0
        if epoch == EPOCHS // 2:
            model.optimizer.learning_rate.assign(1e-3)
        model.fit(xe, y, sample_weight=weights[y], batch_size=64, epochs=1, verbose=0, shuffle=True)
    return model


def export_int8(model, rep: np.ndarray, out: Path) -> None:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rep[i : i + 1]] for i in range(len(rep)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.float32
    converter.inference_output_type = tf.float32
    out.write_bytes(converter.convert())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="artifacts/emotion")
    ap.add_argument("--meta", default="models/emotion.json", help="the CNN's json (its temperature)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument(
        "--blendshape-view",
        action="store_true",
        help="a blendshapes-alone classifier trained on the CNN's training images, frozen inside the head",
    )
    args = ap.parse_args(argv)
    work = Path(args.work)
    meta = json.loads(Path(args.meta).read_text(encoding="utf-8"))
    x, y, found = head_inputs(work, float(meta["temperature"]))
    split = np.load(work / "split.npz")
    train_idx, groups = split["head_train"], split["groups"]
    f = np.load(work / "features.npz")
    missing = int((~f["done"][train_idx]).sum())
    if missing:
        sys.exit(f"features.npz lacks {missing} head_train images: run features.py to the end of the held-out part")
    rng = np.random.default_rng(SEED)
    rep = x[rng.choice(train_idx, 500, replace=False)]
    folds = group_folds(groups[train_idx], args.folds, SEED)
    np.save(work / "head_folds.npy", folds)
    view = None
    if args.blendshape_view:
        view_idx = split["cnn_train"][f["done"][split["cnn_train"]] & found[split["cnn_train"]]]
        if len(view_idx) < 0.5 * len(split["cnn_train"]):
            sys.exit("features.npz lacks the CNN's training images: run the features step with --all-images")
        view = train_blendshape_view(x[view_idx, 7 : 7 + N_BS], y[view_idx], SEED)
        val = split["validation"][found[split["validation"]]]
        acc = float(np.mean(view.predict(x[val, 7 : 7 + N_BS], verbose=0).argmax(1) == y[val]))
        print(
            f"blendshape view: trained on {len(view_idx)} CNN-training faces; float top-1 on the "
            f"{len(val)} validation faces with blendshapes {acc:.4f}",
            flush=True,
        )
    for k in range(args.folds):
        m = train_head(x[train_idx[folds != k]], y[train_idx[folds != k]], SEED + k, view)
        export_int8(m, rep, work / f"head_fold{k}.tflite")
        held = train_idx[folds == k]
        acc = float(np.mean(m.predict(x[held], verbose=0).argmax(1) == y[held]))
        print(f"fold {k}: {len(held)} held-out rows, float accuracy {acc:.4f}", flush=True)
    final = train_head(x[train_idx], y[train_idx], SEED, view)
    export_int8(final, rep, work / "head.tflite")
    print(
        f"head_train {len(train_idx)} rows ({found[train_idx].mean():.3f} with blendshapes); "
        f"wrote {work}/head.tflite and {args.folds} fold heads"
    )


if __name__ == "__main__":
    main()
