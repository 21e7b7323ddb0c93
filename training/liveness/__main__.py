"""One command for the whole level-1 liveness model, from the datasets to the evaluated model card:

    python -m training.liveness all --datasets ../shared/datasets [--work artifacts/liveness]
    python -m training.liveness evaluate --datasets ../shared/datasets        # one step (or several)
    python -m training.liveness all --datasets ../shared/datasets --jobs 4    # evaluate in 4 shards

Steps, in order (each is a script in this folder; README.md says what each does and how long):
    extract   face mesh on every NUAA frame               runtime venv (MediaPipe)
    port      MiniFASNetV2/V1SE .pth -> Keras, checked     training venv (torch + TensorFlow)
    teacher   fine-tune the PReLU port                     training venv
    export-teacher  its int8 TFLite (the distillation teacher)
    train     the shipped ReLU student, distilled          training venv
    export    int8 TFLite -> models/liveness.tflite + .json
    signals   thresholds of the runtime signals (identity, capture quality, frozen feeds)  runtime venv
    evaluate  through VisionPipeline + SessionEngine -> report/, models/liveness_det.png, json figures

Two interpreters, because MediaPipe (the kiosk's face mesh) and TensorFlow training live in different
environments: --runtime-python (default .venv/bin/python) and --train-python (default
/work/venvs/train/bin/python; install it from training/requirements-train.txt).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STEPS = ("extract", "port", "teacher", "export-teacher", "train", "export", "signals", "evaluate")
SHARED_STEPS = ("extract", "port")  # outputs every leave-subjects-out fold links to (crossval.py)
TEACHER_FILE = "liveness_prelu.tflite"  # the distillation teacher, in the work folder


def commands(datasets: str, work: str, fold: bool = False) -> dict[str, tuple[str, list[str]]]:
    """step -> (which interpreter, script arguments). fold: a leave-subjects-out run (crossval.py):
    the same recipe, but its model, logs and report stay in `work` and nothing shipped is touched."""
    teacher = f"{work}/{TEACHER_FILE}"
    table = {
        "extract": ("runtime", ["extract_faces.py", datasets, work]),
        "port": ("train", ["port_minifasnet.py", datasets, work]),
        # the teacher keeps v1.0.0's recipe (no bad-light copies): it only ever judges the well-lit
        # twin of a training crop, and the student learns that light does not change the answer
        "teacher": ("train", ["train.py", datasets, work, "--light-copies", "0"]),
        "export-teacher": ("train", ["export.py", datasets, work, "--out", teacher, "--version", "1.0.0"]),
        "train": (
            "train",
            [
                "train.py",
                datasets,
                work,
                "--activation",
                "relu",
                "--teacher",
                teacher,
                "--out",
                "liveness_relu_kd.keras",
            ],
        ),
        "export": ("train", ["export.py", datasets, work, "--keras", f"{work}/liveness_relu_kd.keras"]),
        "signals": ("runtime", ["study_runtime_signals.py", datasets, work]),
        "evaluate": ("runtime", ["evaluate.py", datasets, work, "--update-meta"]),
    }
    if fold:
        report, model = f"{work}/report", f"{work}/liveness.tflite"
        for step in ("teacher", "export-teacher", "train"):
            table[step][1].extend(["--report", report])
        table["export"][1].extend(["--out", model, "--report", report, "--version", "fold"])
        table["evaluate"] = (
            "runtime",
            ["evaluate.py", datasets, work, "--model", model, "--out", report, "--det", f"{report}/liveness_det.png"],
        )
        del table["signals"]  # the runtime signals keep the shipped thresholds (the kiosk's config)
    return table


def run_sharded(cmd: list[str], jobs: int, env: dict[str, str]) -> int:
    """evaluate.py as `jobs` parallel shards (each writes its part into the work folder), then one
    merge that writes the report and the figures, exactly as one process would."""
    base = [c for c in cmd if c != "--update-meta"]
    procs = [subprocess.Popen([*base, "--shard", f"{k}/{jobs}"], cwd=ROOT, env=env) for k in range(jobs)]
    codes = [p.wait() for p in procs]
    if any(codes):
        print(f"evaluate shards failed (exit codes {codes})", file=sys.stderr)
        return next(c for c in codes if c)
    return subprocess.call([*cmd, "--merge", str(jobs)], cwd=ROOT, env=env)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m training.liveness", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("steps", nargs="+", help=f"'all' or any of: {', '.join(STEPS)}")
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--work", default="artifacts/liveness")
    ap.add_argument("--runtime-python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--train-python", default="/work/venvs/train/bin/python")
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="evaluate: run the recordings as this many parallel shards, then merge (one per free core)",
    )
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, not {args.jobs}")
    steps = list(STEPS) if args.steps == ["all"] else args.steps
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        ap.error(f"unknown step(s) {', '.join(unknown)}; steps: all, {', '.join(STEPS)}")
    if not (Path(args.datasets) / "nuaa_train").is_dir():
        ap.error(f"--datasets {args.datasets}: no nuaa_train folder there (see ../shared/datasets/README.md)")
    python = {"runtime": args.runtime_python, "train": args.train_python}
    for which, exe in python.items():
        if not Path(exe).exists():
            ap.error(f"--{which}-python {exe} not found")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    table = commands(args.datasets, args.work)
    for step in [s for s in STEPS if s in steps]:
        which, script = table[step]
        cmd = [python[which], str(HERE / script[0]), *script[1:]]
        print(f"== {step}: {' '.join(cmd)}", flush=True)
        t0 = time.time()
        if step == "evaluate" and args.jobs > 1:
            rc = run_sharded(cmd, args.jobs, env)
        else:
            rc = subprocess.call(cmd, cwd=ROOT, env=env)
        if rc != 0:
            print(f"step {step} failed (exit {rc})", file=sys.stderr)
            return rc
        print(f"== {step} done in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
