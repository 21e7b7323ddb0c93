"""Face Landmarker (478 landmarks + blendshapes + transform) vs the legacy face mesh, same run.

    taskset -c 0 .venv/bin/python benchmarks/bench_face_models.py [--frames 150] [--rounds 4]

1. Detector alone: both in VIDEO / tracking mode on the same 640x480 frames (the sample photos with
   a small drift, so tracking works as on a camera), interleaved in rounds so load changes hit both.
2. The whole pipeline with every detector on (what `kiosk bench` runs): this tree's VisionPipeline
   (on frames that need an emotion the Face Landmarker replaces the mesh, and the fused head reads
   its blendshapes) vs the same pipeline held to the legacy mesh on every frame, as before (no
   blendshapes: the emotion head takes its CNN-only path), interleaved in rounds.
Prints median / p95 per frame for each and the ratio landmarker / mesh.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from kiosk.config import load_config  # noqa: E402
from kiosk.headless import ALL_NEEDS  # noqa: E402
from kiosk.vision.face import FaceLandmarkerDetector, FaceMeshDetector  # noqa: E402
from kiosk.vision.pipeline import VisionPipeline  # noqa: E402


def frames_from(photos: Path, n: int) -> list[np.ndarray]:
    out = []
    for p in sorted(photos.glob("*")):
        img = cv2.imread(str(p))
        if img is None or "thumb" in p.name:
            continue
        h, w = img.shape[:2]
        s = min(640 / w, 480 / h)
        img = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((480, 640, 3), np.uint8)
        y0, x0 = (480 - img.shape[0]) // 2, (640 - img.shape[1]) // 2
        canvas[y0 : y0 + img.shape[0], x0 : x0 + img.shape[1]] = img
        for k in range(n // 2):  # a slow drift of a few pixels, like a person standing still
            dx, dy = 3.0 * np.sin(k / 7.0), 2.0 * np.cos(k / 5.0)
            out.append(
                cv2.warpAffine(
                    canvas, np.float32([[1, 0, dx], [0, 1, dy]]), (640, 480), borderMode=cv2.BORDER_REPLICATE
                )
            )
    return out


def pct(v: list[float], q: float) -> float:
    return float(np.percentile(np.array(v), q))


def line(name: str, v: list[float]) -> str:
    return f"{name:34s} median {statistics.median(v):7.2f} ms  p95 {pct(v, 95):7.2f} ms  (n={len(v)})"


def main() -> None:
    datasets = Path(os.environ.get("KIOSK_DATASETS", ROOT.parent / "shared" / "datasets"))
    if not datasets.is_dir():
        datasets = Path("/work/shared/datasets")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", default=str(datasets / "photos"))
    ap.add_argument("--frames", type=int, default=150, help="frames per detector per round")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    frames = frames_from(Path(args.photos), args.frames)[: args.frames]

    times: dict[str, list[float]] = {"mesh": [], "landmarker": [], "pipeline_mesh": [], "pipeline_landmarker": []}
    found = {"mesh": 0, "landmarker": 0}
    cfg = load_config()
    for _ in range(args.rounds):
        for name, make in (
            ("mesh", lambda: FaceMeshDetector(max_faces=2)),
            ("landmarker", lambda: FaceLandmarkerDetector(max_faces=2)),
        ):
            with make() as det:
                det.detect(frames[0])  # first call loads graphs
                for f in frames:
                    t0 = time.perf_counter()
                    faces = det.detect(f)
                    times[name].append((time.perf_counter() - t0) * 1e3)
                    found[name] += bool(faces)
        for name in ("pipeline_mesh", "pipeline_landmarker"):
            pipe = VisionPipeline(cfg)
            if name == "pipeline_mesh":
                pipe._landmarker_error = "benchmark: the pipeline before, mesh on every frame"
            try:
                pipe.process(frames[0], ALL_NEEDS)
                for f in frames:
                    t0 = time.perf_counter()
                    pipe.process(f, ALL_NEEDS)
                    times[name].append((time.perf_counter() - t0) * 1e3)
            finally:
                pipe.close()
    print(f"{len(frames)} frames x {args.rounds} rounds, 640x480, interleaved; faces found: {found}")
    for name, v in times.items():
        print(line(name, v))
    for a, b in (("landmarker", "mesh"), ("pipeline_landmarker", "pipeline_mesh")):
        print(
            f"ratio {a} / {b}: median {statistics.median(times[a]) / statistics.median(times[b]):.3f}, "
            f"p95 {pct(times[a], 95) / pct(times[b], 95):.3f}"
        )


if __name__ == "__main__":
    main()
