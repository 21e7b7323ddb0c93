"""Study (not used by the kiosk): could emotion frames run the cheap face mesh instead of the Face Landmarker?

The Face Landmarker task is three models: a face detector, a 478-point landmark model with a 256 px
input, and a small model that turns 146 of those landmarks into the 52 blendshapes the emotion head
reads. The legacy face mesh gives the same 478 points from a 192 px input in about half the time.
So an emotion frame could run the mesh (as every other frame does) and only the bundle's blendshape
model on the mesh's landmarks. This measures what that would cost the emotion head.

    # runtime venv: the mesh path's blendshapes of the held-out images, the check that the bundle's
    # model reproduces the task on the task's own landmarks, and the per-frame times (one core)
    taskset -c 0 .venv/bin/python training/emotion/study_mesh_blendshapes.py features ../shared/datasets
    # training venv: the head (head.py's recipe) trained on each path's blendshapes, several seeds,
    # top-1 accuracy on the duplicate-grouped validation split
    /work/venvs/train/bin/python training/emotion/study_mesh_blendshapes.py heads ../shared/datasets

Reads artifacts/emotion/{features.npz,split.npz} (the one command's `split` and `features` steps)
and writes artifacts/emotion/features_mesh.npz and training/emotion/report/mesh_blendshapes.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

REPORT = HERE / "report" / "mesh_blendshapes.json"
BUNDLE = ROOT / "models" / "face_landmarker.task"

# kLandmarksSubsetIdxs of MediaPipe's face_blendshapes_graph.cc: the blendshape model's input points.
SUBSET = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144,
    145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173,
    176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284,
    285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332,
    334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386,
    387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473,
    474, 475, 476, 477,
)  # fmt: skip


def _report() -> dict:
    return json.loads(REPORT.read_text()) if REPORT.is_file() else {}


def _write(report: dict) -> None:
    REPORT.write_text(json.dumps(report, indent=1) + "\n")


class BundleBlendshapes:
    """The bundle's face_blendshapes.tflite on (x, y) pixel landmarks (the task feeds it the same)."""

    def __init__(self, bundle: Path = BUNDLE):
        from ai_edge_litert.interpreter import Interpreter

        with zipfile.ZipFile(bundle) as z:
            self._it = Interpreter(model_content=z.read("face_blendshapes.tflite"), num_threads=1)
        self._it.allocate_tensors()
        self._in = self._it.get_input_details()[0]["index"]
        self._out = self._it.get_output_details()[0]["index"]

    def scores(self, landmarks: np.ndarray) -> np.ndarray:
        self._it.set_tensor(self._in, np.ascontiguousarray(landmarks[list(SUBSET), :2], np.float32)[None])
        self._it.invoke()
        return self._it.get_tensor(self._out).reshape(-1).copy()


def frames_640(photos: Path) -> list[np.ndarray]:
    """The sample photos with faces, scaled to the camera mode as the kiosk's sources scale them."""
    import cv2

    from kiosk.vision.sources import fit_within

    images = (cv2.imread(str(p)) for p in sorted(photos.glob("*")) if "thumb" not in p.name)
    return [fit_within(img, 640, 480) for img in images if img is not None]


def features(datasets: Path, work: Path, rounds: int) -> None:
    from split import load_fer

    from kiosk.vision.emotion import fer_crop_to_frame
    from kiosk.vision.face import FaceLandmarkerDetector, FaceMeshDetector

    model = BundleBlendshapes()
    report = _report()
    # 1. the bundle's model on the task's own landmarks gives the task's blendshapes
    diffs = []
    with FaceLandmarkerDetector(max_faces=4, static_image_mode=True) as task:
        for img in frames_640(datasets / "photos"):
            for face in task.detect(img):
                diffs.append(float(np.abs(model.scores(face.landmarks) - face.blendshapes).max()))
    report["bundle_model_vs_task_max_abs_diff"] = max(diffs)
    print(f"bundle model on the task's landmarks: max |difference| {max(diffs):.2e} over {len(diffs)} faces")

    # 2. per-frame time, tracking mode, small drift (as bench_face_models.py), interleaved rounds
    rng = np.random.default_rng(0)
    base = frames_640(datasets / "photos")
    stream = [
        np.clip(img.astype(np.int16) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
        for img in base
        for _ in range(40)
    ]
    times: dict[str, list[float]] = {"mesh": [], "mesh + blendshape model": [], "face landmarker": []}
    for _ in range(rounds):
        for name in times:
            det = FaceLandmarkerDetector(max_faces=2) if name == "face landmarker" else FaceMeshDetector(max_faces=2)
            with det:
                det.detect(stream[0])
                for f in stream:
                    t0 = time.perf_counter()
                    faces = det.detect(f)
                    if faces and name == "mesh + blendshape model":
                        model.scores(faces[0].landmarks)
                    times[name].append((time.perf_counter() - t0) * 1e3)
    report["ms_per_frame"] = {
        k: {"median": round(statistics.median(v), 2), "p95": round(float(np.percentile(v, 95)), 2)}
        for k, v in times.items()
    }
    ref = statistics.median(times["mesh + blendshape model"])
    report["landmarker_over_mesh_path_median"] = round(statistics.median(times["face landmarker"]) / ref, 3)
    print(json.dumps(report["ms_per_frame"]), "landmarker / mesh path:", report["landmarker_over_mesh_path_median"])

    # 3. the held-out images' blendshapes through the mesh path (the CNN logits are kept)
    images, _, _ = load_fer(datasets)
    src = dict(np.load(work / "features.npz"))
    shapes = np.full_like(src["blendshapes"], np.nan)
    todo = np.flatnonzero(src["done"])
    with FaceMeshDetector(max_faces=1, static_image_mode=True) as mesh:
        for i in todo:
            faces = mesh.detect(fer_crop_to_frame(images[i]))
            if faces:
                shapes[i] = model.scores(faces[0].landmarks)
    found_task = ~np.isnan(src["blendshapes"][todo, 0])
    found_mesh = ~np.isnan(shapes[todo, 0])
    both = todo[found_task & found_mesh]
    corr = {
        name: round(float(np.corrcoef(src["blendshapes"][both, k], shapes[both, k])[0, 1]), 3)
        for k, name in enumerate(src["blendshape_names"])
        if k and np.std(shapes[both, k]) > 0
    }
    report["held_out_images"] = int(len(todo))
    report["face_found"] = {
        "face landmarker": round(float(found_task.mean()), 4),
        "mesh": round(float(found_mesh.mean()), 4),
    }
    report["blendshape_correlation_median"] = round(float(np.median(list(corr.values()))), 3)
    report["blendshape_correlation"] = {
        k: corr[k] for k in ("mouthSmileLeft", "jawOpen", "browInnerUp", "browDownLeft", "mouthFrownLeft")
    }
    src["blendshapes"] = shapes
    np.savez(work / "features_mesh.npz", **src)
    _write(report)
    print(json.dumps({k: report[k] for k in ("face_found", "blendshape_correlation_median", "blendshape_correlation")}))


def heads(work: Path, seeds: list[int]) -> None:
    import head

    meta = json.loads((ROOT / "models" / "emotion.json").read_text(encoding="utf-8"))
    split = np.load(work / "split.npz")
    train, val = split["head_train"], split["validation"]
    report = _report()
    report["head_validation_accuracy"] = {}
    for name, file in (("face landmarker", "features.npz"), ("mesh + blendshape model", "features_mesh.npz")):
        tmp = work / "study_heads"
        tmp.mkdir(exist_ok=True)
        (tmp / "features.npz").write_bytes((work / file).read_bytes())
        x, y, _ = head.head_inputs(tmp, float(meta["temperature"]))
        accs = []
        for seed in seeds:
            m = head.train_head(x[train], y[train], seed)
            accs.append(float(np.mean(m.predict(x[val], verbose=0).argmax(1) == y[val])))
            print(f"{name}: seed {seed} validation accuracy {accs[-1]:.4f}", flush=True)
        report["head_validation_accuracy"][name] = {
            "seeds": seeds,
            "each": [round(a, 4) for a in accs],
            "mean": round(statistics.mean(accs), 4),
            "sd": round(statistics.stdev(accs), 4),
        }
    _write(report)
    print(json.dumps(report["head_validation_accuracy"], indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=("features", "heads"))
    ap.add_argument("datasets", type=Path)
    ap.add_argument("--work", type=Path, default=ROOT / "artifacts" / "emotion")
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds (features)")
    ap.add_argument("--seeds", default="1,2,3,4,5,6", help="head seeds (heads)")
    args = ap.parse_args()
    if args.step == "features":
        features(args.datasets, args.work, args.rounds)
    else:
        heads(args.work, [int(s) for s in args.seeds.split(",")])


if __name__ == "__main__":
    main()
