"""Emotion model latency per face (align + standardise + int8 CNN + int8 fusion head) on one thread, and size.

    .venv/bin/python benchmarks/bench_emotion.py [--photo PATH] [--runs 500]
    taskset -c 0 .venv/bin/python benchmarks/bench_emotion.py      # pin to one core

The Face Landmarker is not included (it is the frame's face model; see bench_face_models.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from kiosk.vision.emotion import EmotionClassifier, align_face  # noqa: E402
from kiosk.vision.face import FaceLandmarkerDetector  # noqa: E402


def stats(ms: list[float]) -> str:
    a = np.array(ms)
    return f"median {np.median(a):.3f} ms  p95 {np.percentile(a, 95):.3f} ms  mean {a.mean():.3f} ms"


def main() -> None:
    datasets = Path(os.environ.get("KIOSK_DATASETS", ROOT.parent / "shared" / "datasets"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "emotion.tflite"))
    ap.add_argument("--photo", default=str(datasets / "photos" / "business_person.png"))
    ap.add_argument("--runs", type=int, default=500)
    args = ap.parse_args()

    frame = cv2.imread(args.photo)
    if frame is None:
        sys.exit(f"cannot read {args.photo}")
    # The kiosk camera delivers 640x480; scale the photo the same way so the crop cost is realistic.
    frame = cv2.resize(frame, (640, int(round(frame.shape[0] * 640 / frame.shape[1]))))
    with FaceLandmarkerDetector(max_faces=1, static_image_mode=True) as det:
        faces = det.detect(frame)
    if not faces:
        sys.exit("no face found in the photo")
    face = faces[0]
    clf = EmotionClassifier(args.model)
    for _ in range(20):  # warm-up
        clf.classify(frame, face)

    align_ms, infer_ms, head_ms, total_ms = [], [], [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        crop = align_face(frame, face, clf.size)
        t1 = time.perf_counter()
        cnn = clf.cnn_probabilities(crop)
        t2 = time.perf_counter()
        clf.decide(clf.fuse(cnn, face.blendshapes), face.blendshapes is not None)
        t3 = time.perf_counter()
        align_ms.append((t1 - t0) * 1e3)
        infer_ms.append((t2 - t1) * 1e3)
        head_ms.append((t3 - t2) * 1e3)
        total_ms.append((t3 - t0) * 1e3)
    print(
        f"model {args.model}: {Path(clf.model_path).stat().st_size / 1024:.1f} KiB, "
        f"flip_average={clf.flip_average}, 1 thread, face box {face.bbox[2]}x{face.bbox[3]} px in 640 px frame"
    )
    print(f"align              {stats(align_ms)}")
    print(f"CNN (model)        {stats(infer_ms)}")
    print(
        f"head + decision    {stats(head_ms)}  (blendshapes {'present' if face.blendshapes is not None else 'missing'})"
    )
    print(f"per face total     {stats(total_ms)}  ({args.runs} runs)")


if __name__ == "__main__":
    main()
