"""Train the emotion CNN on fer2013_train.npz (train split), selecting the epoch on the val split.

    /work/venvs/train/bin/python training/emotion/train.py ../shared/datasets --out artifacts/emotion/run4 --epochs 18

Writes <out>/best.keras (best val epoch), <out>/last.keras, <out>/history.json, <out>/train_config.json.
TF runs on one thread unless --threads says more (the training machine is shared).

--time-budget-min M: the machine is shared, so an epoch takes 1-3+ min depending on load. With a
budget the learning rate follows warm-up + cosine over *elapsed wall time* instead of steps and
training stops when the budget is spent, so the schedule always finishes annealed on time
(--epochs is then only an upper bound).
--init-tflite PATH: warm-start a `vgg` of the same shape from an exported int8 model (warmstart.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))  # project root, for kiosk.vision.emotion.standardize

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from augment import augment  # noqa: E402
from model import build_model, build_vgg  # noqa: E402
from split import SEED, load_fer, split_indices  # noqa: E402
from warmstart import init_from_tflite  # noqa: E402

from kiosk.vision.emotion import standardize  # noqa: E402


def class_weights(labels: np.ndarray, n: int, power: float) -> np.ndarray:
    """Inverse-frequency weights softened by `power` (0.5 = sqrt), normalised to mean 1 per sample."""
    counts = np.bincount(labels, minlength=n).astype(np.float64)
    w = (counts.max() / np.maximum(counts, 1)) ** power
    return (w / (w[labels].mean())).astype(np.float32)


def prepare(images: np.ndarray) -> np.ndarray:
    return np.stack([standardize(img) for img in images])[..., None]


class AugmentedBatches(keras.utils.PyDataset):
    def __init__(self, images, labels, weights, n_classes, batch, seed, label_smoothing, soft=None, distill=0.0):
        super().__init__()
        self.images, self.labels, self.weights = images, labels, weights
        self.soft, self.distill = soft, distill  # teacher probabilities per image (distillation)
        self.n_classes, self.batch, self.smooth = n_classes, batch, label_smoothing
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(images))

    def __len__(self):
        return len(self.images) // self.batch

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.images))

    def __getitem__(self, i):
        idx = self.order[i * self.batch : (i + 1) * self.batch]
        x = np.stack([standardize(augment(self.images[j], self.rng)) for j in idx])[..., None]
        y = np.full((len(idx), self.n_classes), self.smooth / self.n_classes, dtype=np.float32)
        y[np.arange(len(idx)), self.labels[idx]] += 1.0 - self.smooth
        if self.soft is not None:
            y = (1.0 - self.distill) * y + self.distill * self.soft[idx]
        return x, y, self.weights[self.labels[idx]]


class WallClockSchedule(keras.callbacks.Callback):
    """LR = linear warm-up (0.1 -> 1) x peak over the first `warmup_frac` of the budget, then cosine
    decay to 0.01 x peak at the end of the budget; stops training when the budget is spent."""

    def __init__(self, peak: float, budget_s: float, warmup_frac: float):
        super().__init__()
        self.peak, self.budget_s, self.warmup_frac = peak, budget_s, warmup_frac
        self.t0 = time.time()

    def lr_at(self, frac: float) -> float:
        if frac < self.warmup_frac:
            return self.peak * (0.1 + 0.9 * frac / self.warmup_frac)
        f = min(1.0, (frac - self.warmup_frac) / max(1e-9, 1.0 - self.warmup_frac))
        return self.peak * (0.01 + 0.99 * 0.5 * (1.0 + np.cos(np.pi * f)))

    def on_train_batch_begin(self, batch, logs=None):
        frac = (time.time() - self.t0) / self.budget_s
        self.model.optimizer.learning_rate = self.lr_at(frac)
        if frac >= 1.0:
            self.model.stop_training = True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", help="folder holding fer2013_train.npz")
    ap.add_argument("--out", default="artifacts/emotion")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--arch", choices=("vgg", "sep"), default="vgg")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--class-weight-power", type=float, default=0.5)
    ap.add_argument("--limit", type=int, default=0, help="use only this many training images (smoke test)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--channels", default="", help="comma-separated channels per stage for vgg, e.g. 24,48,96,192")
    ap.add_argument(
        "--time-budget-min",
        type=float,
        default=0.0,
        help="wall-clock training budget; LR schedule over elapsed time (see above)",
    )
    ap.add_argument(
        "--warmup-frac",
        type=float,
        default=None,
        help="warm-up share of the schedule (default: 0.03 of a time budget; one epoch of an epoch schedule)",
    )
    ap.add_argument("--init-tflite", default="", help="warm-start from this int8 model (same vgg shape)")
    ap.add_argument(
        "--teacher-keras",
        default="",
        help="distil from this Keras model's mirror-averaged softmax (one pass learns what two gave)",
    )
    ap.add_argument("--distill", type=float, default=0.7, help="weight of the teacher in the targets")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="TensorFlow intra-op threads (1 on a shared machine; more when its cores are free)",
    )
    args = ap.parse_args()

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    images, labels, classes = load_fer(args.datasets)
    parts = split_indices(images, labels)
    tr = parts["train"][: args.limit] if args.limit else parts["train"]
    weights = class_weights(labels[parts["train"]], len(classes), args.class_weight_power)
    print("class weights:", dict(zip(classes, np.round(weights, 2).tolist())), flush=True)

    soft = None
    if args.teacher_keras:
        teacher = keras.models.load_model(args.teacher_keras)
        x_tr = prepare(images[tr])
        soft = (
            keras.ops.convert_to_numpy(keras.ops.softmax(teacher.predict(x_tr, batch_size=256, verbose=0)))
            + keras.ops.convert_to_numpy(
                keras.ops.softmax(teacher.predict(x_tr[:, :, ::-1], batch_size=256, verbose=0))
            )
        ) / 2.0
        soft = soft.astype(np.float32)
        print(
            f"teacher {args.teacher_keras}: mirror-averaged, agrees with the labels on "
            f"{float((soft.argmax(1) == labels[tr]).mean()):.4f} of train images",
            flush=True,
        )
        del teacher, x_tr
    train_seq = AugmentedBatches(
        images[tr],
        labels[tr],
        weights,
        len(classes),
        args.batch,
        args.seed,
        args.label_smoothing,
        soft=soft,
        distill=args.distill,
    )
    x_val, y_val = prepare(images[parts["val"]]), labels[parts["val"]]

    if args.arch == "vgg":
        channels = tuple(int(c) for c in args.channels.split(",")) if args.channels else None
        model = build_vgg(len(classes), width=args.width, channels=channels)
    else:
        model = build_model(len(classes), width=args.width)
    if args.init_tflite:
        calib = np.stack([standardize(augment(images[j], np.random.default_rng(args.seed + 1))) for j in tr[:2048]])[
            ..., None
        ]
        init_from_tflite(model, args.init_tflite, calib)
        acc0 = float((model.predict(x_val, batch_size=256, verbose=0).argmax(1) == y_val).mean())
        print(f"warm start from {args.init_tflite}: val acc {acc0:.4f}", flush=True)
    budget_s = args.time_budget_min * 60.0
    callbacks = []
    if budget_s > 0:
        schedule = args.lr * 0.1
        callbacks.append(WallClockSchedule(args.lr, budget_s, 0.03 if args.warmup_frac is None else args.warmup_frac))
    else:
        steps = args.epochs * len(train_seq)
        # one epoch of warm-up unless a share is asked for (the same share as a time budget's, so a
        # warm restart by epochs follows the schedule that a restart by minutes did)
        warmup = len(train_seq) if args.warmup_frac is None else max(1, round(args.warmup_frac * steps))
        schedule = keras.optimizers.schedules.CosineDecay(
            args.lr * 0.1,
            decay_steps=steps - warmup,
            alpha=0.01,
            warmup_target=args.lr,
            warmup_steps=warmup,
        )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        weighted_metrics=[],
    )
    model.summary(print_fn=lambda s, **k: print(s, flush=True))

    history, best, t0 = [], -1.0, time.time()
    for cb in callbacks:
        cb.t0 = t0
    for epoch in range(args.epochs):
        fit = model.fit(train_seq, epochs=1, verbose=0, callbacks=callbacks)
        logits = model.predict(x_val, batch_size=256, verbose=0)
        pred = logits.argmax(1)
        acc = float((pred == y_val).mean())
        recall = {c: float((pred[y_val == k] == k).mean()) for k, c in enumerate(classes)}
        row = {
            "epoch": epoch + 1,
            "loss": float(fit.history["loss"][-1]),
            "val_acc": acc,
            "val_recall": recall,
            "minutes": (time.time() - t0) / 60,
            "lr": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
        }
        history.append(row)
        print(
            f"epoch {epoch + 1:2d} loss {row['loss']:.3f} val_acc {acc:.4f} "
            f"happy {recall['happy']:.3f} surprise {recall['surprise']:.3f} "
            f"neutral {recall['neutral']:.3f} [{row['minutes']:.1f} min]",
            flush=True,
        )
        if acc > best:
            best = acc
            model.save(out / "best.keras")
        model.save(out / "last.keras")
        (out / "history.json").write_text(json.dumps(history, indent=1))
        if budget_s > 0 and time.time() - t0 >= budget_s:
            break
    cfg = vars(args) | {
        "classes": classes,
        "best_val_acc": best,
        "n_train": int(len(tr)),
        "epochs_run": len(history),
        "train_minutes": (time.time() - t0) / 60,
        "class_weights": weights.tolist(),
    }
    (out / "train_config.json").write_text(json.dumps(cfg, indent=1))
    print(f"best val acc {best:.4f}; saved {out / 'best.keras'}")


if __name__ == "__main__":
    main()
