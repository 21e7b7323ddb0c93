"""Compare training runs over several seeds. Three seeds of the same code gave blocked-fold fist
recall 0.893 / 0.909 / 0.914 and relaxed hands accepted 0.072 / 0.113 / 0.062: as much as most
changes move them, so judge a change by its mean over 3 or more seeds. Runs in the RUNTIME venv; reads what train.py wrote, writes nothing:

    for s in 0 100 200; do /work/venvs/train/bin/python -m training.gestures.train --seed $s \\
        --work /tmp/g/s$s --out /tmp/g/s$s/gesture_classifier; done
    .venv/bin/python -m training.gestures.compare /tmp/g/s0 /tmp/g/s100 /tmp/g/s200

Columns (int8 models through the kiosk's GestureClassifier, each run's own JSON thresholds and
checks (orientation, shape envelope: evaluate.py writes them into the JSON) unless --min-confidence
or --without-checks): blocked-fold macro, lowest and fist / hi_five / one recall; cross-dataset macro
(HaGRID -> kinivi, kinivi -> HaGRID); worst and mean share of a held-out "none" family taken for a
gesture (leave-one-shape-out, any gesture label; evaluate.py's validation hands).
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

from training.gestures import finger_rule, shape_check, synth  # noqa: E402
from training.gestures.evaluate import (  # noqa: E402
    blocked_fold_predictions,
    classify,
    leave_one_shape_out,
    look_alike_families,
    macro_recall,
    per_class,
    read_runs,
    runtime_classifier,
)
from training.gestures.labels import LABELS, NONE  # noqa: E402
from training.gestures.loaders import load_all, load_not_upright  # noqa: E402

COLUMNS = ("blocked", "lowest", "fist", "hi_five", "one", "hagrid>kinivi", "kinivi>hagrid", "loso_worst", "loso_mean")


def score(
    work: Path, real, families_X, min_conf: float | None, without_checks: bool = False, families_tilt=None
) -> dict[str, float]:
    manifest = json.loads((work / "runs.json").read_text())
    if len(real) != manifest["rows"]:
        sys.exit(f"{work}: trained on {manifest['rows']} real rows, the datasets now hold {len(real)}")
    meta = json.loads((work / "gesture_classifier.json").read_text())
    if without_checks:  # the classifier alone: no orientation rule, no shape envelope, no finger or palm rule
        meta = {**meta, "fingers_up": None, "shape_envelope": None, "finger_rule": None, "palm_facing": None}
    runs = read_runs(work)
    try:
        fold_y, fold_pred, _, _ = blocked_fold_predictions(work, runs, real, meta, min_conf)
    except ValueError as exc:
        sys.exit(str(exc))
    out = {}
    shapes = shape_check.shapes(real.X)
    for run in runs:
        if run["kind"] == "cross_dataset":
            idx = np.load(work / run["val_indices"])
            a, b = run["name"].removeprefix("cross_").split("_to_")
            # the shape envelope from the training dataset's rows only and the finger rule one dataset
            # gives (the words' bounds only), as evaluate.py measures it
            own = real.source == a
            run_meta = {
                **meta,
                "shape_envelope": shape_check.refit(meta.get("shape_envelope"), shapes[own], real.y[own]),
                "finger_rule": None if without_checks else finger_rule.rule_meta(finger_rule.words_only()),
                "palm_facing": None if without_checks else finger_rule.choose_palm_facing(real.y[own], real.tilt[own]),
            }
            pred, _ = classify(runtime_classifier(work / run["model"], run_meta, min_conf), real.X[idx], real.tilt[idx])
            out[f"{a}>{b}"] = macro_recall(per_class(real.y[idx], pred))
    blocked = per_class(fold_y, fold_pred)
    out["blocked"] = macro_recall(blocked)
    out["lowest"] = min(v["recall"] for v in blocked.values())
    for label in ("fist", "hi_five", "one"):
        out[label] = blocked[label]["recall"]
    every_label = set(LABELS) - {NONE}
    loso = [
        v["accepted_as_any_gesture"]
        for v in leave_one_shape_out(work, runs, meta, families_X, every_label, min_conf, families_tilt).values()
    ]
    if loso:
        out["loso_worst"], out["loso_mean"] = max(loso), float(np.mean(loso))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work", nargs="+", type=Path, help="train.py --work folders (with gesture_classifier.* inside)")
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--min-confidence", type=float, help="score every run at this threshold instead")
    ap.add_argument(
        "--without-checks",
        action="store_true",
        help="score the classifier alone (each JSON's fingers_up and shape_envelope ignored)",
    )
    ap.add_argument(
        "--tipped-share",
        type=float,
        help="share of synthetic hands tipped beyond +-35 deg (synth.TIPPED_SHARE); 0 = untipped hands only",
    )
    args = ap.parse_args(argv)

    manifests = [json.loads((w / "runs.json").read_text()) for w in args.work]
    real = load_all(args.datasets, manifests[0].get("collected", []))
    if args.tipped_share is not None:
        synth.TIPPED_SHARE = args.tipped_share
    # the very hands evaluate.py reports on
    families_X, families_tilt = look_alike_families(
        load_not_upright(args.datasets, manifests[0].get("collected", [])), manifests[0]["synthetic_val_seed"]
    )
    rows = [
        (w.name, score(w, real, families_X, args.min_confidence, args.without_checks, families_tilt)) for w in args.work
    ]
    width = max(8, *(len(n) for n, _ in rows))
    print(f"{'run':{width}s} " + " ".join(f"{c:>13s}" for c in COLUMNS))
    for name, r in rows:
        print(f"{name:{width}s} " + " ".join(f"{r.get(c, float('nan')):13.3f}" for c in COLUMNS))
    if len(rows) > 1:
        for what, f in (("mean", np.mean), ("sd", np.std)):
            print(f"{what:{width}s} " + " ".join(f"{f([r.get(c, np.nan) for _, r in rows]):13.3f}" for c in COLUMNS))


if __name__ == "__main__":
    main()
