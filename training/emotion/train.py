"""Train the emotion CNN on fer2013_train.npz (train split), selecting the epoch on the val split.

    /work/venvs/train/bin/python training/emotion/train.py ../shared/datasets --out artifacts/emotion/run4 --epochs 18

Writes <out>/best.keras, <out>/history.json, <out>/train_config.json.
TF runs on one thread (the training machine is shared).
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

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from augment import augment  # noqa: E402
from model import build_model, build_vgg  # noqa: E402
from split import SEED, load_fer, split_indices  # noqa: E402
from kiosk.vision.emotion import standardize  # noqa: E402


def class_weights(labels: np.ndarray, n: int, power: float) -> np.ndarray:
    """Inverse-frequency weights softened by `power` (0.5 = sqrt), normalised to mean 1 per sample."""
    counts = np.bincount(labels, minlength=n).astype(np.float64)
    w = (counts.max() / np.maximum(counts, 1)) ** power
    return (w / (w[labels].mean())).astype(np.float32)


def prepare(images: np.ndarray) -> np.ndarray:
    return np.stack([standardize(img) for img in images])[..., None]


class AugmentedBatches(keras.utils.PyDataset):
    def __init__(self, images, labels, weights, n_classes, batch, seed, label_smoothing):
        super().__init__()
        self.images, self.labels, self.weights = images, labels, weights
        self.n_classes, self.batch, self.smooth = n_classes, batch, label_smoothing
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(images))

    def __len__(self):
        return len(self.images) // self.batch

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.images))

    def __getitem__(self, i):
        idx = self.order[i * self.batch:(i + 1) * self.batch]
        x = np.stack([standardize(augment(self.images[j], self.rng)) for j in idx])[..., None]
        y = np.full((len(idx), self.n_classes), self.smooth / self.n_classes, dtype=np.float32)
        y[np.arange(len(idx)), self.labels[idx]] += 1.0 - self.smooth
        return x, y, self.weights[self.labels[idx]]


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
    args = ap.parse_args()

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    images, labels, classes = load_fer(args.datasets)
    parts = split_indices(images, labels)
    tr = parts["train"][: args.limit] if args.limit else parts["train"]
    weights = class_weights(labels[parts["train"]], len(classes), args.class_weight_power)
    print("class weights:", dict(zip(classes, np.round(weights, 2).tolist())), flush=True)

    train_seq = AugmentedBatches(images[tr], labels[tr], weights, len(classes), args.batch, args.seed,
                                 args.label_smoothing)
    x_val, y_val = prepare(images[parts["val"]]), labels[parts["val"]]

    model = (build_vgg if args.arch == "vgg" else build_model)(len(classes), width=args.width)
    steps = args.epochs * len(train_seq)
    schedule = keras.optimizers.schedules.CosineDecay(
        args.lr * 0.1, decay_steps=steps - len(train_seq), alpha=0.01,
        warmup_target=args.lr, warmup_steps=len(train_seq))
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  weighted_metrics=[])
    model.summary(print_fn=lambda s, **k: print(s, flush=True))

    history, best, t0 = [], -1.0, time.time()
    for epoch in range(args.epochs):
        fit = model.fit(train_seq, epochs=1, verbose=0)
        logits = model.predict(x_val, batch_size=256, verbose=0)
        pred = logits.argmax(1)
        acc = float((pred == y_val).mean())
        recall = {c: float((pred[y_val == k] == k).mean()) for k, c in enumerate(classes)}
        row = {"epoch": epoch + 1, "loss": float(fit.history["loss"][-1]), "val_acc": acc,
               "val_recall": recall, "minutes": (time.time() - t0) / 60}
        history.append(row)
        print(f"epoch {epoch + 1:2d} loss {row['loss']:.3f} val_acc {acc:.4f} "
              f"happy {recall['happy']:.3f} surprise {recall['surprise']:.3f} "
              f"neutral {recall['neutral']:.3f} [{row['minutes']:.1f} min]", flush=True)
        if acc > best:
            best = acc
            model.save(out / "best.keras")
        (out / "history.json").write_text(json.dumps(history, indent=1))
    cfg = vars(args) | {"classes": classes, "best_val_acc": best, "n_train": int(len(tr)),
                        "class_weights": weights.tolist()}
    (out / "train_config.json").write_text(json.dumps(cfg, indent=1))
    print(f"best val acc {best:.4f}; saved {out / 'best.keras'}")


if __name__ == "__main__":
    main()
