"""Level-1 cost per frame on one thread, as a ratio to the face-mesh stage measured in the same run:
liveness crop + int8 inference, the capture-quality check and the still-frame check.

    taskset -c 0 .venv/bin/python benchmarks/bench_liveness.py [--model models/liveness.tflite]
        [--image ../shared/datasets/photos/business_person.png] [--frames 300]

The image (a real face, resized to 640x480, the camera's size) goes through the kiosk's own face
mesh; the other stages run on the face it found. Absolute milliseconds depend on the machine and
its load; the ratios to the face mesh are what to compare between runs and machines.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.config import shipped_defaults  # noqa: E402
from kiosk.vision.capture_quality import CaptureQuality  # noqa: E402
from kiosk.vision.face import FaceMeshDetector  # noqa: E402
from kiosk.vision.liveness import LivenessModel  # noqa: E402
from kiosk.vision.still import StillnessDetector  # noqa: E402
from kiosk.vision.tflite import RUNTIME  # noqa: E402


def timed(fn, n: int) -> np.ndarray:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "liveness.tflite")
    ap.add_argument(
        "--image", type=Path, default=ROOT.parent / "shared" / "datasets" / "photos" / "business_person.png"
    )
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args()
    img = cv2.imread(str(args.image))
    if img is None:
        raise SystemExit(f"cannot read {args.image} (a photo with one face; --image)")
    frame = cv2.resize(img, (640, 480), interpolation=cv2.INTER_AREA)
    model = LivenessModel(args.model, num_threads=1)
    with FaceMeshDetector(max_faces=2, static_image_mode=False) as mesh:
        faces = mesh.detect(frame)
        if not faces:
            raise SystemExit(f"no face found in {args.image}")
        face = faces[0]
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        shipped = shipped_defaults().liveness
        quality = CaptureQuality()
        still = StillnessDetector(shipped.still_noise_floor, shipped.still_window_frames)
        for _ in range(20):  # warm-up
            mesh.detect(frame)
            model.score(frame, face)
        # interleaved rounds, so a change of machine load hits every stage alike
        stages: dict[str, list[np.ndarray]] = {"face_mesh": [], "liveness": [], "capture_quality": [], "still": []}
        rounds = 5
        for _ in range(rounds):
            n = max(1, args.frames // rounds)
            stages["face_mesh"].append(timed(lambda: mesh.detect(frame), n))
            stages["liveness"].append(timed(lambda: model.score(frame, face), n))
            stages["capture_quality"].append(
                timed(lambda: quality.assess(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), face), n)
            )
            stages["still"].append(timed(lambda: still.update(gray, face.bbox), n))
    med = {k: float(np.median(np.concatenate(v))) for k, v in stages.items()}
    p95 = {k: float(np.percentile(np.concatenate(v), 95)) for k, v in stages.items()}
    print(
        f"runtime {RUNTIME}, 1 thread, 640x480, face {face.bbox[2]}x{face.bbox[3]} px, {args.frames} frames per stage"
    )
    for k in stages:
        print(
            f"{k:16s} median {med[k]:6.2f} ms  p95 {p95[k]:6.2f} ms  ratio to face mesh {med[k] / med['face_mesh']:.2f}"
        )
    print(f"liveness model size {model.size_bytes} bytes ({model.size_bytes / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
