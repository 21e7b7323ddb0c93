"""Gesture classifier latency per classification (features + int8 inference, one thread) and size.

    .venv/bin/python benchmarks/bench_gestures.py [--runs 5000]
    taskset -c 0 .venv/bin/python benchmarks/bench_gestures.py     # pin to one core

MediaPipe hand detection is not included (it runs once per frame, whatever the challenge).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from kiosk.vision.gestures import GestureClassifier, hand_features  # noqa: E402
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
    args = ap.parse_args()

    clf = GestureClassifier(args.model)
    poser = HandPoser(np.random.default_rng(0))
    hands = []
    for label in [lbl for lbl in clf.labels]:
        xy = poser.sample(label) * 120 + 320
        hands.append(Hand(np.c_[xy, np.zeros(21)].astype(np.float32), "Left" if len(hands) % 2 else "Right", 0.99, (640, 480)))
    feats = [hand_features(h.landmarks, h.handedness) for h in hands]
    for h in hands:  # warm-up
        clf.classify(h)

    print(f"model {Path(args.model).name}: {Path(args.model).stat().st_size} bytes ({Path(args.model).stat().st_size / 1024:.1f} KiB), "
          f"runtime {RUNTIME}, 1 thread, {args.runs} runs")
    print("classify(hand)      (features + inference): " + stats(time_calls(clf.classify, hands, args.runs)))
    print("classify_features   (inference + softmax):  " + stats(time_calls(clf.classify_features, feats, args.runs)))
    x = [f[None, :] for f in feats]
    print("TFLiteModel.predict (int8 invoke only):     " + stats(time_calls(clf.model.predict, x, args.runs)))


if __name__ == "__main__":
    main()
