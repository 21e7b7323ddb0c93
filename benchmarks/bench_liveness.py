"""Liveness model latency on one thread: crop (incl. the mesh-box adjustment) + int8 inference, per frame.

    .venv/bin/python benchmarks/bench_liveness.py [--model models/liveness.tflite] [--frames 500]

Uses a 640x480 camera-sized frame with a face-sized box (the face mesh itself is not timed: the
session runs it anyway). Prints median / p95 ms and the model size.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.vision.face import Face  # noqa: E402
from kiosk.vision.liveness import LivenessModel  # noqa: E402
from kiosk.vision.tflite import RUNTIME  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "liveness.tflite")
    ap.add_argument("--frames", type=int, default=500)
    args = ap.parse_args()
    model = LivenessModel(args.model, num_threads=1)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    face = Face(np.zeros((478, 3), np.float32), (250, 150, 140, 170), (640, 480))
    for _ in range(20):  # warm-up
        model.score(frame, face)
    crop_ms, total_ms = [], []
    for _ in range(args.frames):
        t0 = time.perf_counter()
        crop = model.crop(frame, face)
        t1 = time.perf_counter()
        model.score_crop(crop)
        t2 = time.perf_counter()
        crop_ms.append((t1 - t0) * 1e3)
        total_ms.append((t2 - t0) * 1e3)
    total = np.array(total_ms)
    print(f"runtime {RUNTIME}, 1 thread, {args.frames} frames 640x480")
    print(f"liveness crop+inference: median {np.median(total):.2f} ms, p95 {np.percentile(total, 95):.2f} ms "
          f"(crop alone median {np.median(crop_ms):.2f} ms)")
    print(f"model size {model.size_bytes} bytes ({model.size_bytes / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
