"""One command for the whole gesture pipeline, from the project root:

    python -m training.gestures all --datasets ../shared/datasets [--jobs 2] [train.py options]

runs train.py (validation runs, leave-one-shape-out, the shipped int8 model) in the training
interpreter (TensorFlow), then evaluate.py in the runtime interpreter (ai-edge-litert, MediaPipe):
per-class thresholds, report/metrics.json, report/report.md and the figures, and the measured
recall in models/gesture_classifier.json, then hold_study.py (challenges on real consecutive frames
through the runtime engine: report/hold_study.json). `--jobs N` shares the training runs between N processes.
Interpreters: this one when it can import the needed package, else --train-python / --runtime-python
(or $GESTURE_TRAIN_PYTHON / $GESTURE_RUNTIME_PYTHON; the runtime default is .venv/bin/python).

    python -m training.gestures train|evaluate|hold_study|compare|collect ...   # one step, in this interpreter
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = {
    "train": "training.gestures.train",
    "evaluate": "training.gestures.evaluate",
    "hold_study": "training.gestures.hold_study",
    "compare": "training.gestures.compare",
    "collect": "training.gestures.collect",
}
SINGLE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def interpreter(explicit: str | None, env_var: str, needs: str, fallback: Path | None) -> str:
    """The Python that can import `needs`: the explicit one, this one, $env_var, or the fallback."""
    if explicit:
        return explicit
    if importlib.util.find_spec(needs) is not None:
        return sys.executable
    for candidate in (os.environ.get(env_var), fallback):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise SystemExit(
        f"no Python with {needs!r} found: pass --{'train' if needs == 'tensorflow' else 'runtime'}-python "
        f"or set {env_var}"
    )


def split_training(train_args: list[str], jobs: int) -> list[list[str]]:
    """train.py invocations that together train every part once."""
    from training.gestures.labels import REAL_NONE_FAMILY
    from training.gestures.synth import SYNTH_NONE_FAMILIES

    if jobs <= 1:
        return [train_args]
    families = SYNTH_NONE_FAMILIES + [REAL_NONE_FAMILY]
    # the first process also trains folds, cross-dataset, synthetic-only and the shipped model (9 models)
    share = [[] for _ in range(jobs)]
    load = [9] + [0] * (jobs - 1)
    for f in families:
        k = load.index(min(load))
        share[k].append(f)
        load[k] += 1
    out = [
        train_args
        + ["--parts", "folds", "cross", "synthetic_only", "shipped"]
        + (["loso", "--loso-families", *share[0]] if share[0] else [])
    ]
    out += [train_args + ["--parts", "loso", "--loso-families", *fams] for fams in share[1:] if fams]
    return out


def run_all(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m training.gestures all",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--work", default=str(ROOT / "artifacts" / "gestures"))
    ap.add_argument("--out", default=str(ROOT / "models" / "gesture_classifier"))
    ap.add_argument("--report", default=str(ROOT / "training" / "gestures" / "report"))
    ap.add_argument("--jobs", type=int, default=1, help="training processes (each single-threaded)")
    ap.add_argument("--train-python")
    ap.add_argument("--runtime-python")
    args, train_extra = ap.parse_known_args(argv)
    train_py = interpreter(args.train_python, "GESTURE_TRAIN_PYTHON", "tensorflow", None)
    runtime_py = interpreter(
        args.runtime_python, "GESTURE_RUNTIME_PYTHON", "ai_edge_litert", ROOT / ".venv" / "bin" / "python"
    )
    env = {
        **os.environ,
        **SINGLE_THREAD,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    common = ["--datasets", args.datasets, "--work", args.work, "--out", args.out, *train_extra]

    t0 = time.time()
    procs = [
        subprocess.Popen([train_py, "-m", STEPS["train"], *a], cwd=ROOT, env=env)
        for a in split_training(common, args.jobs)
    ]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"training failed (exit codes {codes})")
    print(f"training done in {time.time() - t0:.0f}s", flush=True)
    model = str(Path(args.out).with_suffix(".tflite"))
    runtime_steps = {  # evaluate.py, then the challenge study on the evaluated model
        "evaluate": ["--report", args.report],
        "hold_study": ["--out", str(Path(args.report) / "hold_study.json")],
    }
    for step, extra in runtime_steps.items():
        cmd = [runtime_py, "-m", STEPS[step], "--datasets", args.datasets, "--work", args.work, "--model", model]
        code = subprocess.call([*cmd, *extra], cwd=ROOT, env=env)
        if code:
            raise SystemExit(f"{step} failed (exit code {code})")
    print(f"all done in {time.time() - t0:.0f}s: {args.out}.tflite/.json, {args.report}/", flush=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in {*STEPS, "all"}:
        raise SystemExit(f"usage: python -m training.gestures {{all,{','.join(STEPS)}}} [options]\n\n{__doc__}")
    if argv[0] == "all":
        run_all(argv[1:])
    else:
        importlib.import_module(STEPS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    main()
