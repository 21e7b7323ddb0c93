"""One command for the emotion models: `python -m training.emotion all --datasets ../shared/datasets`.

Steps (each also runs alone: `python -m training.emotion STEP ...`):
  cnn       train.py from scratch for --cnn-minutes of wall time (or --cnn-epochs), then
            export.py: the int8 CNN models/emotion.tflite          (training venv, --cnn-minutes),
            then tune_cnn.py: mirror-averaging and temperature on split.py's val (runtime venv, ~1 min);
            with --cnn-restart-epochs (or --cnn-restart-minutes) a second cycle first: a warm
            restart from the first cycle's int8 export (train.py --init-tflite), as v1.1.0 was
            made by hand
  split     dedup.py: exact + near-duplicate groups, held-out split          (runtime venv, ~2-5 min)
  features  features.py: CNN logits + Face Landmarker blendshapes per image  (runtime venv, ~20 ms/image)
  head      head.py: 5 fold heads + the final head, int8 export               (training venv, ~2-5 min)
  calibrate calibrate.py: per-class thresholds from out-of-fold outputs      (runtime venv)
  evaluate  evaluate.py: validation figures, report/, models/emotion.json    (runtime venv)
  all       split .. evaluate on the shipped CNN; with --retrain-cnn the CNN first (all six)

    python -m training.emotion all --retrain-cnn --cnn-epochs 40 --cnn-channels 24,48,96,192 --cnn-threads 2 --datasets ../shared/datasets
    python -m training.emotion all --retrain-cnn --cnn-epochs 18 --cnn-restart-epochs 15 --cnn-threads 2 --datasets ../shared/datasets

rebuild everything from the dataset: the first is the shipped v2.0.0 (a wider CNN, 40 epochs, one
cosine cycle), the second v1.1.0's two-cycle recipe (run twice on 2026-12-02: the same CNN both
times, 0.5 points above v1.1.0 on the validation split). Every run and the rules that chose between
them: README.md. Schedules by epochs are the same on any machine; --cnn-minutes and
--cnn-restart-minutes run over elapsed wall time instead (a faster machine trains more epochs in
them; the json records epochs and minutes).

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
STEPS = ("cnn", "split", "features", "head", "calibrate", "evaluate")


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
    ap.add_argument(
        "--cnn-minutes",
        type=float,
        default=80.0,
        help="wall-clock budget of the CNN's training (warm-up + cosine over elapsed time)",
    )
    ap.add_argument(
        "--cnn-epochs",
        type=int,
        default=0,
        help="train the CNN's first cycle for this many epochs (a cosine over steps, as v1.0.0) "
        "instead of --cnn-minutes of wall time",
    )
    ap.add_argument(
        "--cnn-restart-minutes",
        type=float,
        default=0.0,
        help="a second cycle: a warm restart from the first cycle's int8 export for this many minutes "
        "(v1.1.0's 63 minutes; the same on any machine: --cnn-restart-epochs 15); 0 = one cycle",
    )
    ap.add_argument(
        "--cnn-restart-epochs",
        type=int,
        default=0,
        help="the second cycle by epochs instead of minutes (v1.1.0's 63 minutes were 15 epochs: "
        "--cnn-epochs 18 --cnn-restart-epochs 15 is its recipe on any machine); 0 = by minutes or none",
    )
    ap.add_argument(
        "--cnn-channels",
        default="",
        help="the CNN's channels per stage (train.py --channels), e.g. 24,48,96,192; default 16,32,64,128",
    )
    ap.add_argument(
        "--cnn-limit",
        type=int,
        default=0,
        help="train the CNN on only this many images (a smoke test of the steps, not a model)",
    )
    ap.add_argument(
        "--retrain-cnn",
        action="store_true",
        help="all: train the CNN from scratch first (it replaces models/emotion.tflite); else all keeps the shipped one",
    )
    ap.add_argument(
        "--cnn-threads",
        type=int,
        default=1,
        help="TensorFlow threads of the CNN's training (the other steps run on one thread)",
    )
    ap.add_argument("--version", default="2.0.0", help="version of the CNN + head pair written into the json")
    args = ap.parse_args(argv)
    if args.cnn_epochs == 1 or args.cnn_epochs < 0:
        ap.error("--cnn-epochs: at least 2 (one warm-up epoch, then the cosine), or 0 for --cnn-minutes")
    if args.cnn_restart_epochs and args.cnn_restart_minutes:
        ap.error("--cnn-restart-epochs and --cnn-restart-minutes: one or the other")
    if args.cnn_restart_epochs == 1 or args.cnn_restart_epochs < 0:
        ap.error("--cnn-restart-epochs: at least 2, or 0")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    # one thread per step (the machine is shared); the CNN step's intra-op threads: --cnn-threads
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_NUM_INTEROP_THREADS="1")
    cnn_dir, restart_dir = work / "cnn", work / "cnn_restart"
    two_cycles = args.cnn_restart_minutes > 0 or args.cnn_restart_epochs > 0
    first_cycle = (
        ["--epochs", args.cnn_epochs]
        if args.cnn_epochs > 0
        else ["--epochs", "1000", "--time-budget-min", args.cnn_minutes]  # 1000: a bound; the budget ends it
    )
    second_cycle = (
        ["--epochs", args.cnn_restart_epochs]
        if args.cnn_restart_epochs > 0
        else ["--epochs", "1000", "--time-budget-min", args.cnn_restart_minutes]
    )

    def train(out: Path, *schedule: object) -> list[object]:
        return [
            args.train_python,
            HERE / "train.py",
            args.datasets,
            "--out",
            out,
            *schedule,
            "--threads",
            args.cnn_threads,
            "--limit",
            args.cnn_limit,
            *(["--channels", args.cnn_channels] if args.cnn_channels else []),
        ]

    def export(keras: Path, out: Path) -> list[object]:
        return [
            args.train_python,
            HERE / "export.py",
            args.datasets,
            "--keras",
            keras,
            "--out",
            out,
            "--version",
            args.version,
        ]

    first_cycle_model = cnn_dir / "first_cycle.tflite"
    commands = {
        "cnn": train(cnn_dir, *first_cycle),
        # the first cycle's int8 model, which the second cycle starts from (as v1.1.0 started from v1.0.0)
        "export_first_cycle": export(cnn_dir / "best.keras", first_cycle_model),
        "cnn_restart": train(
            restart_dir,
            *second_cycle,
            "--warmup-frac",
            "0.05",
            "--lr",
            "1e-3",
            "--init-tflite",
            first_cycle_model,
        ),
        "export": export((restart_dir if two_cycles else cnn_dir) / "best.keras", ROOT / "models" / "emotion.tflite"),
        # mirror-averaging and temperature on split.py's val part, as v1.1.0's were chosen
        "tune_cnn": [args.runtime_python, HERE / "tune_cnn.py", args.datasets],
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
        "calibrate": [args.runtime_python, HERE / "calibrate.py", "--work", work, "--version", args.version],
        "evaluate": [args.runtime_python, HERE / "evaluate.py", args.datasets, "--work", work],
    }
    steps = list(STEPS) if args.step == "all" else [args.step]
    if args.step == "all" and not args.retrain_cnn:
        steps.remove("cnn")
    if "cnn" in steps:  # training (one or two cycles), then the int8 export the later steps read
        after = ["export_first_cycle", "cnn_restart", "export"] if two_cycles else ["export"]
        after.append("tune_cnn")
        at = steps.index("cnn") + 1
        steps[at:at] = after
    for step in steps:
        cmd = [str(c) for c in commands[step]]
        print(f"== {step}: {' '.join(cmd)}", flush=True)
        threads = str(args.cnn_threads) if step in ("cnn", "cnn_restart") else "1"
        rc = subprocess.call(cmd, cwd=ROOT, env=env | {"OMP_NUM_THREADS": threads, "TF_NUM_INTRAOP_THREADS": threads})
        if rc != 0:
            print(f"step {step} failed with exit code {rc}", file=sys.stderr)
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
