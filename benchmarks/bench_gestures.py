"""Gesture classifier latency per classification (features + int8 inference, one thread) and size.

    .venv/bin/python benchmarks/bench_gestures.py [--runs 5000] [--reference OLD.tflite]
    taskset -c 0 .venv/bin/python benchmarks/bench_gestures.py     # pin to one core

With --reference (a model file with its .json beside it, e.g. the previous version from git), the
same calls are timed on it in the same run, interleaved, and the medians are given as ratios: on a
shared machine only the ratio is comparable between runs.

MediaPipe hand detection is not included (it runs once per frame, whatever the challenge). The
hands carry depth, so classify(hand) includes the palm tilt (palm_tilt_degrees) that `palm_facing` reads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from kiosk.vision.gestures import GestureClassifier, hand_features, palm_tilt_degrees  # noqa: E402
from kiosk.vision.hands import Hand  # noqa: E402
from kiosk.vision.tflite import RUNTIME  # noqa: E402
from training.gestures.synth import HandPoser  # noqa: E402


def stats(us: np.ndarray) -> str:
    return f"median {np.median(us):.1f} us  p95 {np.percentile(us, 95):.1f} us  mean {us.mean():.1f} us"


def time_calls(fn, items, runs):
    out = np.empty(runs)
    for i in range(runs):
        item = items[i % len(items)]
        t0 = time.perf_counter()
        fn(item)
        out[i] = (time.perf_counter() - t0) * 1e6
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "gesture_classifier.tflite"))
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--reference", help="another gesture model (.tflite with its .json) timed in the same run")
    args = ap.parse_args()

    clf = GestureClassifier(args.model)
    poser = HandPoser(np.random.default_rng(0))
    hands = []
    for label in [lbl for lbl in clf.labels]:
        pts = poser.sample_with_depth(label) * 120 + [320, 320, 0]  # with depth, as MediaPipe gives it
        hands.append(Hand(pts.astype(np.float32), "Left" if len(hands) % 2 else "Right", 0.99, (640, 480)))
    feats = [hand_features(h.landmarks, h.handedness) for h in hands]
    for h in hands:  # warm-up
        clf.classify(h)

    x = [f[None, :] for f in feats]
    models = {"model": clf}
    if args.reference:
        models["reference"] = GestureClassifier(args.reference)
        for h in hands:
            models["reference"].classify(h)
    for name in models:
        path = Path(args.model if name == "model" else args.reference)
        print(
            f"{name} {path.name}: {path.stat().st_size} bytes ({path.stat().st_size / 1024:.1f} KiB), "
            f"runtime {RUNTIME}, 1 thread, {args.runs} runs"
        )
    medians: dict[str, dict[str, float]] = {name: {} for name in models}
    samples: dict[tuple[str, str], list[np.ndarray]] = {}
    calls = [
        ("classify(hand)      (features + inference): ", "classify", hands),
        ("classify_features   (inference + softmax):  ", "classify_features", feats),
        ("TFLiteModel.predict (int8 invoke only):     ", "predict", x),
    ]
    for title, what, items in calls:
        for _ in range(2):  # interleaved rounds: load changes hit both models alike
            for name, c in models.items():
                fn = c.model.predict if what == "predict" else getattr(c, what)
                us = time_calls(fn, items, args.runs // 2)
                samples.setdefault((name, what), []).append(us)
        for name in models:
            us = np.concatenate(samples[(name, what)])
            medians[name][what] = float(np.median(us))
            print(f"{name:9s} {title}{stats(us)}")
    # the depth check's own share of classify(hand), measured in the same run
    tilt_us = time_calls(lambda h: palm_tilt_degrees(h.landmarks), hands, args.runs)
    print(
        f"palm_tilt_degrees   (the depth check's measure): {stats(tilt_us)}; "
        f"{np.median(tilt_us) / medians['model']['classify']:.2f} of classify(hand)"
    )
    if "reference" in models:
        print(
            "ratio model / reference (medians): "
            + ", ".join(f"{what} {medians['model'][what] / medians['reference'][what]:.2f}" for _, what, _ in calls)
        )


if __name__ == "__main__":
    main()
