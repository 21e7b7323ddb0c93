"""Tune the offline recogniser's decision thresholds on the benchmark's tuning set.

Reads the decoder passes that ``bench_voice_commands.py --set dev --dump FILE`` wrote (tuning
voices, speeds and sentences only: the held-out ``--set test`` is never read here) and searches
``SpotterTuning``'s per-language thresholds with the runtime's own ``accept`` and
``parse_command``. The objective: the most commands recognised on clean + white noise (the
issue's target conditions) with at most ``--max-ordinary`` of ordinary sentences and at most
``--max-wrong`` of commands turned into another command. Prints the best thresholds per language
and the figures they reach on the tuning set; copy them into ``SpotterTuning``.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_voice_commands.py --set dev --language en --dump dev_en.jsonl
    PYTHONPATH=$PWD .venv/bin/python benchmarks/tune_voice_commands.py dev_en.jsonl dev_de.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.speech.commands import Decoding, SpotterTuning, accept, parse_command  # noqa: E402

TARGET_CONDITIONS = ("clean", "white20")


def load(paths: list[Path], held_out_ok: bool = False) -> list[dict]:
    """The dumps' rows; rows of the held-out set are refused unless the caller tunes nothing."""
    rows = []
    for path in paths:
        with path.open(encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    held_out = [r for r in rows if r["set"] != "dev"]
    if held_out and not held_out_ok:
        raise SystemExit(f"{len(held_out)} rows are not from the tuning set (--set dev): refusing to tune on them")
    return rows


def evaluate(rows: list[dict], language: str, tuning: SpotterTuning) -> dict[str, float]:
    commands = correct = wrong = ordinary = accepted = 0
    for row in rows:
        d = row["decoding"]
        decoding = Decoding(**d) if d else Decoding(None, None, None)
        phrase = accept(decoding, language, tuning)
        got = parse_command(phrase, language)
        if row["expected"] is None:
            ordinary += 1
            accepted += got is not None
        else:
            commands += 1
            correct += got is not None and got.value == row["expected"]
            wrong += got is not None and got.value != row["expected"]
    return {
        "recognised": correct / max(commands, 1),
        "wrong": wrong / max(commands, 1),
        "ordinary": accepted / max(ordinary, 1),
        "commands": commands,
        "sentences": ordinary,
    }


def with_thresholds(base: SpotterTuning, language: str, **values: float) -> SpotterTuning:
    changes = {}
    for name, value in values.items():
        table = dict(getattr(base, name))
        table[language] = value
        changes[name] = tuple(sorted(table.items()))
    return dataclasses.replace(base, **changes)


def features(rows: list[dict], language: str) -> dict[str, np.ndarray]:
    """Per recording: the decoder's scores, the command its grammar phrase means, and whether
    that is the command said (never true for ordinary sentences)."""
    fit, margin, agree, right, is_command, command = [], [], [], [], [], []
    for row in rows:
        d = row["decoding"] or {}
        heard = parse_command(d.get("command"), language)
        fit.append(d["fit"] if d.get("fit") is not None else -np.inf)
        margin.append(d["margin"] if d.get("margin") is not None else -np.inf)
        agree.append(d.get("command") is not None and d.get("garbage") == d.get("command"))
        is_command.append(row["expected"] is not None)
        right.append(heard is not None and heard.value == row["expected"])
        command.append(heard.value if heard is not None else "")
    return {
        "fit": np.array(fit),
        "margin": np.array(margin),
        "agree": np.array(agree),
        "right": np.array(right),
        "is_command": np.array(is_command),
        "command": np.array(command),
    }


def accepted(f: dict[str, np.ndarray], fit: float, margin: float, alone: float) -> np.ndarray:
    """Per recording, whether ``accept`` with these thresholds takes the grammar's phrase."""
    return (f["fit"] >= fit) & (f["margin"] >= margin) & (f["agree"] | (f["fit"] >= alone))


def rates(f: dict[str, np.ndarray], fit: float, margin: float, alone: float) -> tuple[float, float, float]:
    """(recognised, wrong command, ordinary -> command) on clean + white noise."""
    ok = accepted(f, fit, margin, alone)
    commands, sentences = max(f["is_command"].sum(), 1), max((~f["is_command"]).sum(), 1)
    return (
        (ok & f["is_command"] & f["right"]).sum() / commands,
        (ok & f["is_command"] & ~f["right"]).sum() / commands,
        (ok & ~f["is_command"]).sum() / sentences,
    )


def tune(f: dict[str, np.ndarray], max_ordinary: float, max_wrong: float) -> tuple[float, float, float] | None:
    """(min_fit, min_margin, min_fit_alone) with the most commands recognised within the
    limits (ties: fewer ordinary sentences accepted, fewer wrong commands), or None."""
    finite = f["fit"][np.isfinite(f["fit"])]
    fit_grid = sorted(set(np.round(np.percentile(finite, np.arange(0, 100, 0.5)), 1)))
    alone_grid = [-np.inf, *fit_grid[::4], np.inf]
    margin_grid = [-np.inf, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    best = None
    for fit, margin, alone in itertools.product(fit_grid, margin_grid, alone_grid):
        if fit > alone:
            continue
        recognised, wrong, ordinary = rates(f, fit, margin, alone)
        if ordinary > max_ordinary or wrong > max_wrong:
            continue
        key = (recognised, -ordinary, -wrong)
        if best is None or key > best[0]:
            best = (key, (float(fit), float(margin), float(alone)))
    return None if best is None else best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dumps", type=Path, nargs="+")
    parser.add_argument("--max-ordinary", type=float, default=0.01)
    parser.add_argument("--max-wrong", type=float, default=0.02)
    parser.add_argument(
        "--cross-validate", action="store_true", help="also tune on all tuning voices but one, report on that one"
    )
    args = parser.parse_args()
    rows = [r for r in load(args.dumps) if r["condition"] in TARGET_CONDITIONS]
    base_tuning = SpotterTuning()
    for language in sorted({r["language"] for r in rows}):
        mine = [r for r in rows if r["language"] == language]
        if args.cross_validate:
            for voice in sorted({r["voice"] for r in mine}):
                train = features([r for r in mine if r["voice"] != voice], language)
                held = features([r for r in mine if r["voice"] == voice], language)
                found = tune(train, args.max_ordinary, args.max_wrong)
                if found is None:
                    print(f"{language} without {voice}: no thresholds meet the limits")
                    continue
                r, w, o = rates(held, *found)
                print(
                    f"{language} tuned without {voice}, on {voice}: recognised {100 * r:.1f} %, "
                    f"wrong {100 * w:.1f} %, ordinary -> command {100 * o:.1f} %"
                )
        f = features(mine, language)
        found = tune(f, args.max_ordinary, args.max_wrong)
        if found is None:
            print(f"{language}: no thresholds meet the limits")
            continue
        fit, margin, alone = found
        tuning = with_thresholds(base_tuning, language, min_fit=fit, min_margin=margin, min_fit_alone=alone)
        figures = evaluate(mine, language, tuning)  # the runtime's own accept + parse_command
        print(
            f"{language}: min_fit={fit} min_margin={margin} min_fit_alone={alone} -> tuning set recognised {100 * figures['recognised']:.1f} % of {figures['commands']}, wrong "
            f"{100 * figures['wrong']:.1f} %, ordinary -> command {100 * figures['ordinary']:.1f} % "
            f"of {figures['sentences']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
