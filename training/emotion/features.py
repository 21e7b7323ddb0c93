"""Per-image features of fer2013_train.npz through the runtime classes (runtime venv, ~20 ms/image).

    nice -n 10 .venv/bin/python training/emotion/features.py ../shared/datasets --out artifacts/emotion/features.npz

For every FER2013 image: the CNN's mirror-averaged logits (`EmotionClassifier.logits`, the shipped
models/emotion.tflite) and the Face Landmarker's 52 blendshapes of the upscaled crop
(`kiosk.vision.emotion.crop_blendshapes`, the runtime's detector in IMAGE mode), or NaN where it
finds no face. The images the CNN never trained on (old val + test of split.py) go first, and the
file is rewritten every 1,000 images, so a partial run is usable and a restart resumes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import numpy as np  # noqa: E402
from split import load_fer, split_indices  # noqa: E402

from kiosk.vision.emotion import EmotionClassifier, crop_blendshapes  # noqa: E402
from kiosk.vision.face import BLENDSHAPE_NAMES, FaceLandmarkerDetector  # noqa: E402


def extraction_order(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Images the CNN did not train on first (they are the ones the head and validation use)."""
    old = split_indices(images, labels)
    return np.concatenate([old["val"], old["test"], old["train"]])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets")
    ap.add_argument("--out", default="artifacts/emotion/features.npz")
    ap.add_argument("--model", default="models/emotion.tflite")
    ap.add_argument("--landmarker", default="models/face_landmarker.task")
    ap.add_argument("--limit", type=int, default=0, help="stop after this many images (0: all)")
    ap.add_argument(
        "--heldout-only",
        action="store_true",
        help="only the images the CNN never trained on (all the head and evaluation use)",
    )
    args = ap.parse_args(argv)
    images, labels, _ = load_fer(args.datasets)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = len(images)
    logits = np.full((n, 7), np.nan, np.float32)
    shapes = np.full((n, len(BLENDSHAPE_NAMES)), np.nan, np.float32)
    done = np.zeros(n, bool)
    digest = hashlib.sha256(Path(args.model).read_bytes()).hexdigest()
    clf = EmotionClassifier(args.model)
    if out.is_file():
        old = np.load(out)
        logits, shapes, done = old["cnn_logits"], old["blendshapes"], old["done"]
        print(f"resuming: {int(done.sum())} done", flush=True)
        made_with = str(old["model_sha256"]) if "model_sha256" in old else ""
        mirrored = bool(old["flip_average"]) if "flip_average" in old else None
        if made_with != digest or mirrored != clf.flip_average:
            # another CNN (or mirror-averaging) since: its logits are stale, the blendshapes (the slow part) are not
            print("the CNN changed since: recomputing its logits, keeping the blendshapes", flush=True)
            for i in np.flatnonzero(done):
                logits[i] = clf.logits(images[i])
    order = extraction_order(images, labels)
    if args.heldout_only:
        order = order[: len(images) - len(split_indices(images, labels)["train"])]
    todo = [int(i) for i in order if not done[i]]
    if args.limit:
        todo = todo[: args.limit]

    def save() -> None:
        tmp = out.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            cnn_logits=logits,
            blendshapes=shapes,
            done=done,
            labels=labels,
            blendshape_names=np.array(BLENDSHAPE_NAMES),
            model=str(args.model),
            model_sha256=digest,
            flip_average=clf.flip_average,
        )
        tmp.replace(out)

    t0 = time.time()
    with FaceLandmarkerDetector(args.landmarker, max_faces=1, static_image_mode=True) as det:
        for k, i in enumerate(todo, 1):
            logits[i] = clf.logits(images[i])
            bs = crop_blendshapes(det, images[i])
            if bs is not None:
                shapes[i] = bs
            done[i] = True
            if k % 1000 == 0 or k == len(todo):
                save()
                found = ~np.isnan(shapes[done, 0])
                print(
                    f"{k}/{len(todo)} {time.time() - t0:.0f}s, landmarker found a face in "
                    f"{found.mean():.3f} of {int(done.sum())}",
                    flush=True,
                )
    save()


if __name__ == "__main__":
    main()
