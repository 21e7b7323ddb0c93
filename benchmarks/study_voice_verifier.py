"""Study (not shipped): a logistic verifier in place of the spotter's three thresholds.

Leave-one-voice-out within the tuning set: for each tuning voice, the shipped rule's thresholds
(``tune_voice_commands.tune``) and a logistic regression over the same decoder passes (fit, margin
clipped to +-5, open pass agrees, share of the utterance in the phrase's words, log of those frames,
words in the phrase), each with its operating point chosen on the other voices for at most 2 %
ordinary -> command and 3 % wrong commands, are scored on the voice left out; pooled at the end.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_voice_commands.py --set dev --language en \\
        --conditions clean,white20 --dump /tmp/dev_en.jsonl        # and de; 3-4 min each
    PYTHONPATH=$PWD .venv/bin/python benchmarks/study_voice_verifier.py /tmp/dev_en.jsonl /tmp/dev_de.jsonl

Each dump's ceiling is printed too: the share of command recordings whose grammar phrase is the
right command. An accept rule can only take that phrase or refuse it, so no rule over these passes
recognises more. ``--ceiling-only`` prints just that and tunes nothing, so it may read dumps of the
held-out set (``bench_voice_commands.py --conditions clean,white20 --dump``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tune_voice_commands as tv  # noqa: E402

MAX_ORDINARY, MAX_WRONG = 0.02, 0.03  # the shipped thresholds' limits


def inputs(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Per recording the verifier's inputs (last column: the bias) and whether a phrase was found."""
    x, found = [], []
    for row in rows:
        d = row["decoding"] or {}
        ok = d.get("command") is not None and d.get("fit") is not None
        found.append(ok)
        if not ok:
            x.append([0.0] * 7)
            continue
        margin = float(np.clip(d["margin"] if d.get("margin") is not None else -5.0, -5.0, 5.0))
        in_words, frames = max(d.get("speech_frames") or 1, 1), max(d.get("frames") or 1, 1)
        agree = float(d.get("garbage") == d["command"])
        x.append([d["fit"], margin, agree, in_words / frames, float(np.log(in_words)), len(d["command"].split()), 1.0])
    return np.array(x, float), np.array(found)


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 200):
    """Ridge-regularised logistic regression by Newton steps; returns the scoring function."""
    mu, sd = x[:, :-1].mean(0), x[:, :-1].std(0) + 1e-9

    def standard(a: np.ndarray) -> np.ndarray:
        return np.hstack([(a[:, :-1] - mu) / sd, a[:, -1:]])

    z, w = standard(x), np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        hessian = (z * (p * (1 - p))[:, None]).T @ z + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, z.T @ (p - y) + l2 * w)
    return lambda a: standard(a) @ w


def counts(accepted: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    """(right, wrong, ordinary accepted, commands, ordinary sentences)."""
    c = f["is_command"]
    return np.array(
        [
            (accepted & c & f["right"]).sum(),
            (accepted & c & ~f["right"]).sum(),
            (accepted & ~c).sum(),
            c.sum(),
            (~c).sum(),
        ]
    )


def operating_point(score: np.ndarray, f: dict[str, np.ndarray], found: np.ndarray) -> float:
    best: tuple[tuple[int, int, int], float] | None = None
    for t in np.unique(score[found]):
        right, wrong, ordinary, commands, sentences = counts(found & (score >= t), f)
        if ordinary / sentences > MAX_ORDINARY or wrong / commands > MAX_WRONG:
            continue
        key = (right, -ordinary, -wrong)
        if best is None or key > best[0]:
            best = (key, float(t))
    return np.inf if best is None else best[1]


def figures(c: np.ndarray) -> str:
    return (
        f"recognised {100 * c[0] / c[3]:.1f} % ({c[0]}/{c[3]}), wrong {100 * c[1] / c[3]:.1f} %, "
        f"ordinary -> command {100 * c[2] / c[4]:.1f} % ({c[2]}/{c[4]})"
    )


def ceiling(rows: list[dict], language: str) -> str:
    f = tv.features(rows, language)
    right, commands = int((f["right"] & f["is_command"]).sum()), int(f["is_command"].sum())
    return f"grammar phrase right {100 * right / commands:.1f} % ({right}/{commands})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dumps", type=Path, nargs="+")
    parser.add_argument("--ceiling-only", action="store_true", help="only the ceiling; may read held-out dumps")
    args = parser.parse_args()
    for path in args.dumps:
        # nothing is tuned on a dump read for its ceiling only, so it may be of any set
        rows = [r for r in tv.load([path], held_out_ok=args.ceiling_only) if r["condition"] in tv.TARGET_CONDITIONS]
        language = rows[0]["language"]
        print(f"{language} ({rows[0]['set']} set): {ceiling(rows, language)}")
        if args.ceiling_only:
            continue
        shipped, learned = np.zeros(5, int), np.zeros(5, int)
        for voice in sorted({r["voice"] for r in rows}):
            train = [r for r in rows if r["voice"] != voice]
            held = [r for r in rows if r["voice"] == voice]
            f_train, f_held = tv.features(train, language), tv.features(held, language)
            thresholds = tv.tune(f_train, MAX_ORDINARY, MAX_WRONG) or (np.inf, np.inf, np.inf)
            shipped += counts(tv.accepted(f_held, *thresholds), f_held)
            (x_train, found_train), (x_held, found_held) = inputs(train), inputs(held)
            y = (f_train["right"] & f_train["is_command"]).astype(float)
            score = logistic(x_train[found_train], y[found_train])
            s_train = np.full(len(train), -np.inf)
            s_train[found_train] = score(x_train[found_train])
            s_held = np.full(len(held), -np.inf)
            s_held[found_held] = score(x_held[found_held])
            learned += counts(found_held & (s_held >= operating_point(s_train, f_train, found_train)), f_held)
        print(f"{language}, left-out voices pooled, shipped rule: {figures(shipped)}")
        print(f"{language}, left-out voices pooled, logistic:     {figures(learned)}")


if __name__ == "__main__":
    main()
