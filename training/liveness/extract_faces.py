"""Step 1 (runtime venv, needs MediaPipe): find the face in every NUAA frame once.

Writes <work>/nuaa_faces.npz with, per frame: path, label (1 live / 0 print), subject, session,
frame number, the MediaPipe face-mesh bbox (what the kiosk has at run time), the 478 landmarks and,
for the crop-scale study, the MediaPipe short-range face *detector* box (a detector-style box like the
RetinaFace box MiniFASNet was trained with).

    .venv/bin/python training/liveness/extract_faces.py ../shared/datasets artifacts/liveness
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from kiosk.vision.face import FaceMeshDetector  # noqa: E402


def parse_name(path: Path) -> tuple[str, str, int]:
    # SSSS_GG_LL_PP_N: subject, glasses, location, session, frame
    parts = path.stem.split("_")
    return parts[0], "_".join(parts[1:4]), int(parts[4])


def detector_box(detector, frame_bgr: np.ndarray) -> tuple[int, int, int, int]:
    h, w = frame_bgr.shape[:2]
    res = detector.process(np.ascontiguousarray(frame_bgr[:, :, ::-1]))
    if not res.detections:
        return (-1, -1, -1, -1)
    best = max(res.detections, key=lambda d: d.score[0])
    b = best.location_data.relative_bounding_box
    return (int(b.xmin * w), int(b.ymin * h), int(b.width * w), int(b.height * h))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    args = ap.parse_args()
    import mediapipe as mp

    root = args.datasets / "nuaa_train"
    files = sorted(root.glob("*/*/*.jpg"))
    if not files:
        raise SystemExit(f"no NUAA frames under {root}")
    rows = {k: [] for k in ("path", "label", "subject", "session", "frame", "bbox", "landmarks", "det_box")}
    missed = 0
    with (
        FaceMeshDetector(max_faces=1, static_image_mode=True) as mesh,
        mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.3) as det,
    ):
        for i, f in enumerate(files):
            img = cv2.imread(str(f))
            faces = mesh.detect(img)
            if not faces:
                missed += 1
                continue
            subject, session, frame = parse_name(f)
            rows["path"].append(str(f.relative_to(root)))
            rows["label"].append(1 if f.parts[-3] == "real" else 0)
            rows["subject"].append(subject)
            rows["session"].append(f"{f.parts[-3]}_{session}")
            rows["frame"].append(frame)
            rows["bbox"].append(faces[0].bbox)
            rows["landmarks"].append(faces[0].landmarks.astype(np.float16))
            rows["det_box"].append(detector_box(det, img))
            if i % 500 == 0:
                print(f"{i}/{len(files)}", flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    out = args.work / "nuaa_faces.npz"
    np.savez_compressed(out, **{k: np.array(v) for k, v in rows.items()})
    print(f"{len(rows['path'])} faces, {missed} frames without a face -> {out}")


if __name__ == "__main__":
    main()
