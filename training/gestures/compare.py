"""Compare training runs over several seeds. Three seeds of the same code gave blocked-fold fist
recall 0.893 / 0.909 / 0.914 and relaxed hands accepted 0.072 / 0.113 / 0.062: as much as most
changes move them, so judge a change by its mean over 3 or more seeds. Runs in the RUNTIME venv; reads what train.py wrote, writes nothing:

    for s in 0 100 200; do /work/venvs/train/bin/python -m training.gestures.train --seed $s \\
        --work /tmp/g/s$s --out /tmp/g/s$s/gesture_classifier; done
    .venv/bin/python -m training.gestures.compare /tmp/g/s0 /tmp/g/s100 /tmp/g/s200

Columns (int8 models, each run's own min_confidence unless --min-confidence): blocked-fold macro,
lowest and fist / hi_five / one recall; cross-dataset macro (HaGRID -> kinivi, kinivi -> HaGRID);
share of synthetic relaxed / half-formed hands (evaluate.py's validation seed) the shipped model
takes for a gesture.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.vision.tflite import TFLiteModel  # noqa: E402
from training.gestures.evaluate import (  # noqa: E402
    SYNTH_VAL_PER_CLASS, blocked_fold_predictions, macro_recall, per_class, predict)
from training.gestures.labels import LABELS, NONE  # noqa: E402
from training.gestures.loaders import load_all  # noqa: E402
from training.gestures import synth  # noqa: E402
from training.gestures.synth import generate  # noqa: E402

COLUMNS = ("blocked", "lowest", "fist", "hi_five", "one", "hagrid>kinivi", "kinivi>hagrid", "relaxed")


def score(work: Path, real, relaxed_X, min_conf: float | None) -> dict[str, float]:
    manifest = json.loads((work / "runs.json").read_text())
    if len(real) != manifest["rows"]:
        sys.exit(f"{work}: trained on {manifest['rows']} real rows, the datasets now hold {len(real)}")
    if min_conf is None:
        min_conf = float(json.loads((work / "gesture_classifier.json").read_text())["min_confidence"])
    try:
        fold_y, fold_pred, _, _ = blocked_fold_predictions(work, manifest, real, min_conf)
    except ValueError as exc:
        sys.exit(str(exc))
    out = {}
    for run in manifest["runs"]:
        if run["kind"] == "cross_dataset":
            idx = np.load(work / run["val_indices"])
            pred, _ = predict(TFLiteModel(work / run["model"]), real.X[idx], min_conf)
            a, b = run["name"].removeprefix("cross_").split("_to_")
            out[f"{a}>{b}"] = macro_recall(per_class(real.y[idx], pred))
    blocked = per_class(fold_y, fold_pred)
    out["blocked"] = macro_recall(blocked)
    out["lowest"] = min(v["recall"] for v in blocked.values())
    for label in ("fist", "hi_five", "one"):
        out[label] = blocked[label]["recall"]
    pred, _ = predict(TFLiteModel(work / "gesture_classifier.tflite"), relaxed_X, min_conf)
    out["relaxed"] = float((pred != LABELS.index(NONE)).mean())
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work", nargs="+", type=Path, help="train.py --work folders (with gesture_classifier.* inside)")
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--min-confidence", type=float, help="score every run at this threshold instead")
    ap.add_argument("--tipped-share", type=float,
                    help="share of synthetic hands tipped beyond +-35 deg (synth.TIPPED_SHARE); 0 = untipped hands "
                         "only, as the generator made them before 2026-11-23")
    args = ap.parse_args(argv)

    manifests = [json.loads((w / "runs.json").read_text()) for w in args.work]
    real = load_all(args.datasets, manifests[0].get("collected", []))
    if args.tipped_share is not None:
        synth.TIPPED_SHARE = args.tipped_share
    # the very hands evaluate.py reports on (the "none" rows of its synthetic validation set)
    X, names = generate(LABELS, SYNTH_VAL_PER_CLASS, manifests[0]["synthetic_val_seed"])
    rows = [(w.name, score(w, real, X[names == NONE], args.min_confidence)) for w in args.work]
    width = max(8, *(len(n) for n, _ in rows))
    print(f"{'run':{width}s} " + " ".join(f"{c:>13s}" for c in COLUMNS))
    for name, r in rows:
        print(f"{name:{width}s} " + " ".join(f"{r.get(c, float('nan')):13.3f}" for c in COLUMNS))
    if len(rows) > 1:
        for what, f in (("mean", np.mean), ("sd", np.std)):
            print(f"{what:{width}s} " + " ".join(f"{f([r.get(c, np.nan) for _, r in rows]):13.3f}" for c in COLUMNS))


if __name__ == "__main__":
    main()
