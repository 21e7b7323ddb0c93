"""Choose the CNN's two run-time settings on split.py's val part, through the runtime class, and
write them into models/emotion.json: mirror-averaging (on if the mirrored pass scores higher) and
the softmax temperature (least negative log-likelihood on a 0.50..3.00 grid).

    .venv/bin/python training/emotion/tune_cnn.py ../shared/datasets

v1.1.0's settings were chosen this way (by the evaluate.py of its time); a CNN trained by
`python -m training.emotion cnn` gets them here, before the steps that read them (features: the
logits, head: the temperature). The val part also chose the CNN's epoch; the duplicate-grouped
validation split of dedup.py, on which the card's figures are measured, is half of it and half of
split.py's test part (training/emotion/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import numpy as np  # noqa: E402
from split import load_fer, split_indices  # noqa: E402

from kiosk.vision.emotion import EmotionClassifier  # noqa: E402

TEMPERATURES = np.round(np.arange(0.5, 3.0001, 0.01), 2)


def nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    z = logits / t
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(y)), y]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", help="folder holding fer2013_train.npz")
    ap.add_argument("--model", default="models/emotion.tflite", help="its json is next to it and is updated")
    args = ap.parse_args()

    images, labels, classes = load_fer(args.datasets)
    val = split_indices(images, labels)["val"]
    clf = EmotionClassifier(args.model)
    assert clf.labels == classes, (clf.labels, classes)
    t0 = time.time()
    y = labels[val]
    plain = np.stack([clf.logits(images[i], flip_average=False) for i in val]).astype(np.float64)
    mirrored = np.stack([clf.logits(images[i], flip_average=True) for i in val]).astype(np.float64)
    acc_plain, acc_mirrored = float(np.mean(plain.argmax(1) == y)), float(np.mean(mirrored.argmax(1) == y))
    flip = acc_mirrored > acc_plain
    chosen = mirrored if flip else plain
    temperature = float(TEMPERATURES[np.argmin([nll(chosen, y, t) for t in TEMPERATURES])])
    print(
        f"split.py val (n={len(val)}): accuracy plain {acc_plain:.4f}, mirror-averaged {acc_mirrored:.4f} "
        f"-> flip_average={flip}; temperature {temperature:.2f} (NLL {nll(chosen, y, 1.0):.4f} at 1.00 -> "
        f"{nll(chosen, y, temperature):.4f}) [{time.time() - t0:.0f} s]",
        flush=True,
    )
    meta_path = Path(args.model).with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["input"]["flip_average"] = flip
    meta["temperature"] = temperature
    meta.setdefault("training", {})["run_time_settings"] = (
        f"flip_average and temperature chosen on split.py's val part (n={len(val)}) by training/emotion/tune_cnn.py: "
        f"accuracy plain {acc_plain:.4f}, mirror-averaged {acc_mirrored:.4f}"
    )
    meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
