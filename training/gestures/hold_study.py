"""Gesture challenges on real consecutive frames, through the kiosk's own classes: what a person
meets, where the model card's recall is per frame. kinivi's rows are webcam frames recorded in
runs; each is classified by the blocked-fold model that never trained on it
(`kiosk.vision.gestures.GestureClassifier`, the JSON's thresholds) and fed as an observation to
`kiosk.session.engine.SessionEngine` (ManualClock, 25 fps, the shipped rules: 25 frames in a row
within 10 s, onset first).

- genuine: a challenge asking for the gesture those frames show; 3 frames without a hand (the
  onset), then 10 s of the recording from a starting row (every 25th row of each class), as
  recorded and with a simulated tremor (every frame its own small turn, shear and landmark
  jitter). Share of challenges passed in time, median seconds to pass.
- look-alike: the real rows of fingers-up gestures held sideways or hanging down (family
  `real_not_upright`, runs of the same recordings), classified by the leave-one-shape-out model that
  never saw that family; a challenge asking for each drawn gesture in turn. Share passed.

    .venv/bin/python -m training.gestures.hold_study --datasets ../shared/datasets [--work artifacts/gestures]

Needs train.py's blocked-fold runs and loso_real_not_upright in --work. Writes report/hold_study.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.session.catalogue import Kind, challenge  # noqa: E402
from kiosk.session.clock import ManualClock  # noqa: E402
from kiosk.session.engine import EngineSettings, SessionEngine, State  # noqa: E402
from kiosk.session.observation import Observation  # noqa: E402
from training.gestures import shape_check  # noqa: E402
from training.gestures.augment import augment  # noqa: E402
from training.gestures.evaluate import LABELS, classify, fold_splits, read_runs, runtime_classifier  # noqa: E402
from training.gestures.labels import REAL_NONE_FAMILY  # noqa: E402
from training.gestures.loaders import load_all, load_not_upright  # noqa: E402

DT = 0.04  # 25 fps
START_EVERY = 25
TREMOR_DEG = 8.0


def observation(gesture: str | None) -> Observation:
    return Observation(face=True, faces=1, track_id=1, live=True, head_pose=(0.0, 0.0, 0.0), gesture=gesture)


def run_challenge(target: str, labels: list[str], settings: EngineSettings) -> float | None:
    """Seconds to pass a `target` challenge on these per-frame labels (None: not passed in time)."""
    clock = ManualClock()
    asked = challenge(Kind.GESTURE, target)
    eng = SessionEngine(settings, [asked], clock, rng=random.Random(0))
    eng.start()
    for _ in range(settings.real_frames):
        clock.advance(DT)
        eng.feed(observation(None))
    assert eng.state == State.CHALLENGE, eng.state
    for _ in range(settings.onset_frames):
        clock.advance(DT)
        eng.feed(observation(None))
    t0 = clock.now()
    frames = int(settings.time_limit_s / DT)
    for label in labels[:frames]:
        clock.advance(DT)
        eng.feed(observation(label))
        if eng.record is None or eng.record.challenges[0].passed:
            return clock.now() - t0
        if eng.record.challenges[0].reason:
            return None
    return None


def runs_of(order: np.ndarray, min_len: int) -> list[np.ndarray]:
    """Row positions cut where the file order jumps (a left-out row breaks the recording)."""
    cuts = np.flatnonzero(np.diff(order) != 1) + 1
    return [r for r in np.split(np.arange(len(order)), cuts) if len(r) >= min_len]


def study(sequences: dict[str, list[list[str]]], targets_of) -> dict:
    settings = EngineSettings.defaults(gap_s=(0.0, 0.0))  # the shipped rules, no pause before a challenge
    out = {}
    for key, seqs in sequences.items():
        times: list[float] = []
        trials = 0
        for seq in seqs:
            for start in range(0, max(1, len(seq) - 25), START_EVERY):
                for target in targets_of(key):
                    trials += 1
                    t = run_challenge(target, seq[start:], settings)
                    if t is not None:
                        times.append(t)
        out[key] = {
            "trials": trials,
            "passed": len(times) / trials if trials else None,
            "median_s": round(float(np.median(times)), 2) if times else None,
        }
        print(key, out[key])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--work", default=str(ROOT / "artifacts" / "gestures"))
    ap.add_argument("--model", default=str(ROOT / "models" / "gesture_classifier.tflite"))
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "report" / "hold_study.json"))
    args = ap.parse_args(argv)
    work = Path(args.work)
    meta = json.loads(Path(args.model).with_suffix(".json").read_text(encoding="utf-8"))
    runs = read_runs(work)
    real = load_all(args.datasets)
    drawn = sorted(meta.get("open_set", {}).get("drawn_labels", []))

    # genuine: blocked-fold predictions, back in file order per kinivi class; as recorded, and with
    # a simulated tremor (every frame its own small turn, shear and landmark jitter)
    # each fold's shape envelope from that fold's training rows, as evaluate.py measures recall (the
    # finger rule is the JSON's, chosen on every row: evaluate.py reports its cost per fold)
    shapes = shape_check.shapes(real.X)
    fold_models = [
        (
            val,
            runtime_classifier(
                work / r["model"],
                {**meta, "shape_envelope": shape_check.refit(meta.get("shape_envelope"), shapes[train], real.y[train])},
            ),
        )
        for r, train, val in fold_splits(work, runs, real)
    ]

    def fold_predictions(X: np.ndarray) -> np.ndarray:
        pred = np.full(len(X), -1)
        for idx, clf in fold_models:
            pred[idx], _ = classify(clf, X[idx])
        if (pred < 0).any():
            sys.exit("some rows have no blocked-fold prediction: train --parts folds first")
        return pred

    conditions = {
        "recorded": real.X,
        "tremor": augment(real.X, np.random.default_rng(7), rotate_deg=TREMOR_DEG, mirror_p=0.0),
    }
    result: dict = {"tremor": f"per frame: turn +-{TREMOR_DEG} deg, 5 % shear, landmark jitter (augment.augment)"}
    for name, X in conditions.items():
        pred = fold_predictions(X)
        genuine: dict[str, list[list[str]]] = {}
        for c in sorted(set(real.y[real.source == "kinivi"].tolist())):
            rows = np.flatnonzero((real.source == "kinivi") & (real.y == c))
            rows = rows[np.argsort(real.order[rows])]
            genuine[LABELS[c]] = [[LABELS[p] for p in pred[rows]]]
        frame_recall = {k: float(np.mean([lab == k for lab in v[0]])) for k, v in genuine.items()}
        print(name, "per-frame recall:", {k: round(v, 3) for k, v in frame_recall.items()})
        result[f"genuine_{name}"] = {"frame_recall": frame_recall, "challenges": study(genuine, lambda k: [k])}

    # look-alikes: the family held out of training, predicted by the model that never saw it
    loso = [r for r in runs if r["kind"] == "leave_one_shape_out" and r["held_out_family"] == REAL_NONE_FAMILY]
    if loso:
        nu = load_not_upright(args.datasets)
        nu_pred, _ = classify(runtime_classifier(work / loso[0]["model"], meta), nu.X)
        look: dict[str, list[list[str]]] = {}
        for g in sorted({g for g in nu.group.tolist() if g.startswith("kinivi:")}):  # HaGRID rows are no runs
            rows = np.flatnonzero(nu.group == g)
            rows = rows[np.argsort(nu.order[rows])]
            look[g] = [[LABELS[p] for p in nu_pred[rows[r]]] for r in runs_of(nu.order[rows], 25)]
        result["look_alike"] = study(look, lambda k: drawn)
    result["drawn"] = drawn
    result["command"] = "python -m training.gestures.hold_study " + " ".join(argv if argv is not None else sys.argv[1:])
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
