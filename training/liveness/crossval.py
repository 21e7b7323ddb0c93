"""Leave-subjects-out rotation of the whole liveness recipe, evaluated through the kiosk.

The shipped model is validated on 3 of the 9 NUAA subjects (data.SHIPPED_VAL_SUBJECTS); a worst
subject among 3 says little about the next person. Here the same recipe (teacher, student, int8
export: the steps of `python -m training.liveness`, with the same arguments) is run again with each
other group of 3 subjects held out, and each fold's model is evaluated on its held-out subjects by
evaluate.py (VisionPipeline + SessionEngine, default config). With the shipped model's own report
that gives every one of the 9 subjects a figure from a model that never saw them.

    PYTHONPATH=. .venv/bin/python training/liveness/crossval.py --datasets ../shared/datasets [--folds A,B] [--parallel 2]
    PYTHONPATH=. .venv/bin/python training/liveness/crossval.py --summary-only    # only re-merge the reports
    PYTHONPATH=. .venv/bin/python training/liveness/crossval.py --steps evaluate  # after a runtime change
    PYTHONPATH=. .venv/bin/python training/liveness/crossval.py --variant NAME --train-args=--hard-capture
        # the student's recipe changed, all three folds (C retrained too), fold teachers reused

Needs the `extract` and `port` steps' outputs in --work (`python -m training.liveness extract port`).
Each fold works in <work>/fold_<name>/ (links to those outputs) and runs its steps in one child
process chain with LIVENESS_VAL_SUBJECTS set; folds run side by side (one core each: TensorFlow and
the evaluation are single-threaded). The merge goes to report/crossval_liveness.json and prints
the card's tables. The runtime signals' thresholds (identity, capture quality, frozen feeds) stay
the shipped ones: they were measured on the shipped split's training subjects, so for folds A and
B they are not blind (said in the card).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
# one recipe: the steps, their order and their arguments are those of `python -m training.liveness`
from training.liveness.__main__ import SHARED_STEPS, TEACHER_FILE, commands  # noqa: E402
from training.liveness.__main__ import STEPS as RECIPE_STEPS  # noqa: E402
from training.liveness.data import SHIPPED_VAL_SUBJECTS  # noqa: E402

# every other subject once; each group mixes sessions with and without glasses where there are any.
# C is the shipped split: its baseline figures are the shipped model's own report; a --variant
# retrains it like the others.
FOLDS = {"A": ("0001", "0004", "0007"), "B": ("0002", "0005", "0009"), "C": SHIPPED_VAL_SUBJECTS}
BASELINE_FOLDS = ("A", "B")
# a fold runs the recipe's steps but those whose outputs it shares, and those commands(fold=True) drops
STEPS = tuple(s for s in RECIPE_STEPS if s not in SHARED_STEPS and s in commands("", "", fold=True))
TEACHER_STEPS = ("teacher", "export-teacher")
SHARED_FILES = ("nuaa_faces.npz", "MiniFASNetV2.npz", "MiniFASNetV1SE.npz")
SHIPPED_REPORT = HERE / "report" / "runtime_eval_liveness.json"


def fold_dir(work: Path, name: str, variant: str = "") -> Path:
    return work / (f"fold_{name}-{variant}" if variant else f"fold_{name}")


def run_fold(name: str, args, python: dict[str, str]) -> subprocess.Popen:
    """One fold's steps in a child chain. A variant (--variant, --train-args: the student's recipe
    changed) reuses the fold's teacher when the baseline rotation already trained it: the teacher
    only judges the well-lit twins of the training crops, which a student's augmentation leaves alone."""
    work = fold_dir(Path(args.work), name, args.variant)
    (work / "report").mkdir(parents=True, exist_ok=True)
    links = [Path(args.work) / f for f in SHARED_FILES]
    base_teacher = fold_dir(Path(args.work), name) / TEACHER_FILE
    steps = [s for s in STEPS if s in args.steps.split(",")]
    if args.variant and base_teacher.exists():
        links.append(base_teacher)
        steps = [s for s in steps if s not in TEACHER_STEPS]
    for src in links:
        dst = work / src.name
        if src.exists() and not dst.exists():
            dst.symlink_to(src.resolve())
    table = commands(args.datasets, str(work), fold=True)
    table["train"][1].extend(args.train_args.split())
    chain = " && ".join(
        f"echo '== {step}' && " + " ".join([python[table[step][0]], str(HERE / table[step][1][0]), *table[step][1][1:]])
        for step in steps
    )
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        OMP_NUM_THREADS="1",
        LIVENESS_VAL_SUBJECTS=",".join(FOLDS[name]),
    )
    print(f"fold {name} (held out {', '.join(FOLDS[name])}): log {work / 'crossval.log'}", flush=True)
    with open(work / "crossval.log", "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(["bash", "-c", chain], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def fold_reports(work: Path, variant: str = "") -> dict[str, dict]:
    """fold name -> its runtime evaluation report; the baseline's C is the shipped model's own."""
    out = {} if variant else {"C": json.loads(SHIPPED_REPORT.read_text())}
    for name in FOLDS if variant else BASELINE_FOLDS:
        f = fold_dir(work, name, variant) / "report" / "runtime_eval_liveness.json"
        if f.exists():
            out[name] = json.loads(f.read_text())
    return dict(sorted(out.items()))


def summarise(reports: dict[str, dict]) -> dict:
    per_subject, attacks, sessions = {}, {}, {}
    for fold, r in reports.items():
        fl = r["frame_level"]
        for subj, v in fl["per_subject_all_conditions"].items():
            rec = fl["per_subject_as_recorded"].get(subj, {})
            per_subject[subj] = {
                "fold": fold,
                "judged": v["judged"],
                "frames": v["frames"],
                "BPCER_runtime": v["BPCER_runtime"],
                "BPCER_raw": v["BPCER_raw"],
                "BPCER_runtime_as_recorded": rec.get("BPCER_runtime"),
            }
        attacks[fold] = {
            k: {"judged": a["judged"], "APCER_runtime": a["APCER_runtime"]} for k, a in fl["attacks"].items()
        }
        sessions[fold] = {k: {"sessions": s["sessions"], "accepted": s["accepted"]} for k, s in r["sessions"].items()}
    genuine = Counter()
    attack = Counter()
    for per_kind in sessions.values():
        for kind, s in per_kind.items():
            c = genuine if kind.startswith("live/") else attack
            c["sessions"] += s["sessions"]
            c["accepted"] += s["accepted"]
    # wrong frames back from each subject's rate (4 decimals x at most a few thousand judged
    # frames: exact after rounding)
    pooled_live = Counter()
    for v in per_subject.values():
        if v["BPCER_runtime"] is not None:
            pooled_live["judged"] += v["judged"]
            pooled_live["wrong"] += round(v["BPCER_runtime"] * v["judged"])
    worst = max(per_subject, key=lambda p: per_subject[p]["BPCER_runtime"] or 0.0)
    return {
        "folds": {k: list(v) for k, v in FOLDS.items()},
        "per_subject": dict(sorted(per_subject.items())),
        "worst_subject": worst,
        "BPCER_runtime_pooled": pooled_live["wrong"] / max(pooled_live["judged"], 1),
        "attacks": attacks,
        "sessions": sessions,
        "genuine_sessions": dict(genuine),
        "attack_sessions": dict(attack),
    }


def tables(s: dict) -> str:
    pct = lambda v: "-" if v is None else f"{100 * v:.1f} %"  # noqa: E731
    lines = [
        "| subject | fold (held out with) | judged / frames | BPCER runtime | raw | as recorded |",
        "|---|---|---|---|---|---|",
    ]
    for subj, v in s["per_subject"].items():
        mates = ", ".join(x for x in s["folds"][v["fold"]] if x != subj)
        lines.append(
            f"| {subj}{' (worst)' if subj == s['worst_subject'] else ''} | {v['fold']} ({mates}) | "
            f"{v['judged']} / {v['frames']} | {pct(v['BPCER_runtime'])} | {pct(v['BPCER_raw'])} | "
            f"{pct(v['BPCER_runtime_as_recorded'])} |"
        )
    lines += ["", f"pooled judged live frames wrong: {pct(s['BPCER_runtime_pooled'])}", ""]
    kinds = sorted({k for a in s["attacks"].values() for k in a})
    folds = list(s["attacks"])
    lines += ["| attack (APCER runtime, judged frames) | " + " | ".join(folds) + " |", "|---|" + "---|" * len(folds)]
    for k in kinds:
        cells = [s["attacks"][f].get(k) for f in folds]
        lines.append(
            f"| {k} | "
            + " | ".join("-" if c is None else f"{pct(c['APCER_runtime'])} ({c['judged']})" for c in cells)
            + " |"
        )
    lines += ["", "| sessions accepted / played | " + " | ".join(folds) + " |", "|---|" + "---|" * len(folds)]
    for k in sorted({k for a in s["sessions"].values() for k in a}):
        cells = [s["sessions"][f].get(k) for f in folds]
        lines.append(
            f"| {k} | " + " | ".join("-" if c is None else f"{c['accepted']} / {c['sessions']}" for c in cells) + " |"
        )
    g, a = s["genuine_sessions"], s["attack_sessions"]
    lines += [
        "",
        f"genuine sessions accepted {g.get('accepted', 0)} / {g.get('sessions', 0)}; "
        f"attack sessions accepted {a.get('accepted', 0)} / {a.get('sessions', 0)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--work", default="artifacts/liveness")
    ap.add_argument("--folds", default="", help=f"which of {', '.join(FOLDS)} to train (default: A,B; a variant: all)")
    ap.add_argument("--variant", default="", help="a name: train into fold_<name>-<variant> with --train-args")
    ap.add_argument("--train-args", default="", help="extra arguments of the student's train.py, e.g. --hard-capture")
    ap.add_argument("--parallel", type=int, default=2, help="folds run side by side")
    ap.add_argument(
        "--steps",
        default=",".join(STEPS),
        help="which steps of each fold, e.g. evaluate: the trained folds again after a runtime change",
    )
    ap.add_argument("--runtime-python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--train-python", default="/work/venvs/train/bin/python")
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--update-meta", action="store_true", help="write the rotation's figures into models/liveness.json")
    ap.add_argument("--out", type=Path, default=None, help="default report/crossval_liveness[-<variant>].json")
    args = ap.parse_args(argv)
    if args.train_args and not args.variant:
        ap.error("--train-args changes the recipe: give it a --variant name")
    out = args.out or HERE / "report" / f"crossval_liveness{'-' + args.variant if args.variant else ''}.json"
    work = Path(args.work)
    if not args.summary_only:
        if unknown_steps := sorted(set(args.steps.split(",")) - set(STEPS)):
            ap.error(f"--steps: unknown {unknown_steps}; steps {list(STEPS)}")
        default = list(FOLDS) if args.variant else list(BASELINE_FOLDS)
        names = [f.strip() for f in args.folds.split(",") if f.strip()] or default
        if unknown := [n for n in names if n not in FOLDS]:
            ap.error(f"--folds: unknown {unknown}; known {list(FOLDS)}")
        if missing := [f for f in SHARED_FILES[:2] if not (work / f).exists()]:
            ap.error(f"{work}: {missing} missing: run `python -m training.liveness extract port` first")
        python = {"runtime": args.runtime_python, "train": args.train_python}
        t0, pending, running, failed = time.time(), list(names), {}, []
        while pending or running:
            while pending and len(running) < max(args.parallel, 1):
                name = pending.pop(0)
                running[name] = run_fold(name, args, python)
            for name, p in list(running.items()):
                if p.poll() is not None:
                    del running[name]
                    if p.returncode:
                        failed.append(name)
            time.sleep(2)
        print(f"folds done in {time.time() - t0:.0f} s", flush=True)
        if failed:
            print(f"folds failed: {failed} (see their crossval.log)", file=sys.stderr)
            return 1
    reports = fold_reports(work, args.variant)
    # the baseline's merge is the card's figure for all 9 subjects: one made from the folds a fresh
    # machine happens to hold would silently replace it with fewer subjects (a variant's merge says
    # which folds it has, and may have fewer)
    if not args.variant and (absent := [f for f in FOLDS if f not in reports]):
        where = ", ".join(str(fold_dir(work, f) / "report" / "runtime_eval_liveness.json") for f in absent)
        print(f"folds {absent} have no report ({where}): {out} left as it is", file=sys.stderr)
        return 1
    summary = summarise(reports)
    summary["variant"] = {"name": args.variant, "train_args": args.train_args} if args.variant else None
    summary["command"] = "PYTHONPATH=. .venv/bin/python training/liveness/crossval.py " + " ".join(argv or sys.argv[1:])
    out.write_text(json.dumps(summary, indent=1) + "\n")
    if args.update_meta and not args.variant:
        meta_path = ROOT / "models" / "liveness.json"
        meta = json.loads(meta_path.read_text())
        worst = summary["worst_subject"]
        meta["leave_subjects_out"] = {
            "what": "the same recipe retrained with each group of 3 of the 9 NUAA subjects held out "
            "(the shipped split is one of them), each evaluated through the kiosk on its held-out subjects",
            "folds": summary["folds"],
            "BPCER_runtime_pooled": round(summary["BPCER_runtime_pooled"], 4),
            "worst_subject": worst,
            "BPCER_runtime_worst_subject": summary["per_subject"][worst]["BPCER_runtime"],
            "genuine_sessions": summary["genuine_sessions"],
            "attack_sessions": summary["attack_sessions"],
            "report": "training/liveness/report/crossval_liveness.json",
        }
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(tables(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
