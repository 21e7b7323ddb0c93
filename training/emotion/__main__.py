"""One command for the emotion models: `python -m training.emotion all --datasets ../shared/datasets`.

Steps (each also runs alone: `python -m training.emotion STEP ...`):
  split     dedup.py: exact + near-duplicate groups, held-out split          (runtime venv, ~2-5 min)
  features  features.py: CNN logits + Face Landmarker blendshapes per image  (runtime venv, ~30 ms/image)
  head      head.py: 5 fold heads + the final head, int8 export               (training venv, ~2-5 min)
  calibrate calibrate.py: per-class thresholds from out-of-fold outputs      (runtime venv)
  evaluate  evaluate.py: validation figures, report/, models/emotion.json    (runtime venv)
  all       the five in order

The CNN (models/emotion.tflite, v1.1.0) is NOT retrained here: every step starts from the shipped
file. Retraining it is train.py + export.py (see README.md); v1.1.0 itself warm-started from
v1.0.0 (`git show f72004b:models/emotion.tflite`), so it cannot be rebuilt by one command.

Two interpreters: the runtime venv (mediapipe, ai-edge-litert: the kiosk's own classes) and the
training venv (TensorFlow, training/requirements-train.txt). Defaults: .venv/bin/python and
$KIOSK_TRAIN_PYTHON or /work/venvs/train/bin/python.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STEPS = ("split", "features", "head", "calibrate", "evaluate")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m training.emotion", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("step", choices=STEPS + ("all",))
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--work", default="artifacts/emotion")
    ap.add_argument("--runtime-python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--train-python", default=os.environ.get("KIOSK_TRAIN_PYTHON", "/work/venvs/train/bin/python"))
    ap.add_argument(
        "--all-images",
        action="store_true",
        help="features for all 28,709 images (default: the 5,734 held-out ones the head uses)",
    )
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1"
    )
    commands = {
        "split": [
            args.runtime_python,
            HERE / "dedup.py",
            args.datasets,
            "--out",
            work / "split.npz",
            "--montage",
            work / "dup_pairs.png",
        ],
        "features": [args.runtime_python, HERE / "features.py", args.datasets, "--out", work / "features.npz"]
        + ([] if args.all_images else ["--heldout-only"]),
        "head": [args.train_python, HERE / "head.py", "--work", work],
        "calibrate": [args.runtime_python, HERE / "calibrate.py", "--work", work],
        "evaluate": [args.runtime_python, HERE / "evaluate.py", args.datasets, "--work", work],
    }
    for step in STEPS if args.step == "all" else (args.step,):
        cmd = [str(c) for c in commands[step]]
        print(f"== {step}: {' '.join(cmd)}", flush=True)
        rc = subprocess.call(cmd, cwd=ROOT, env=env)
        if rc != 0:
            print(f"step {step} failed with exit code {rc}", file=sys.stderr)
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
