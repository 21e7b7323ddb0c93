"""MediaPipe hands, full (`model_complexity=1`, shipped) vs lite (0), same run, one core.

    taskset -c 0 .venv/bin/python benchmarks/bench_hand_models.py [--frames 100] [--rounds 3]

Both in VIDEO / tracking mode on the sample photos that show a hand, scaled to 640 x 480 with a
small per-frame noise (a camera never repeats a frame), a fresh detector per photo, interleaved
photo by photo and in rounds so load changes hit both. Prints median / p95 per frame and the ratio lite / full, and how far apart the two models put
the landmarks and whether the gesture classifier gives the same label on both. The last two are a
sanity check on a handful of photos, not a validation: the classifier was trained on full-model
landmarks, and no hand images exist here to measure the lite model's recall on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from kiosk.vision.gestures import GestureClassifier  # noqa: E402
from kiosk.vision.hands import HandDetector  # noqa: E402
from kiosk.vision.sources import fit_within  # noqa: E402


def scenes(photos: Path, n: int) -> dict[str, list[np.ndarray]]:
    """Per photo in which a hand is found: n noisy frames of it at the camera mode."""
    rng = np.random.default_rng(0)
    out = {}
    for p in sorted(photos.glob("*")):
        img = cv2.imread(str(p))
        if img is None:
            continue
        img = fit_within(img, 640, 480)  # as the kiosk's sources deliver a photo
        with HandDetector(static_image_mode=True) as probe:
            if not probe.detect(img):
                continue
        out[p.name] = [
            np.clip(img.astype(np.int16) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8) for _ in range(n)
        ]
    return out


def main() -> None:
    datasets = Path(os.environ.get("KIOSK_DATASETS", ROOT.parent / "shared" / "datasets"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", default=str(datasets / "photos"))
    ap.add_argument("--frames", type=int, default=100, help="frames per photo with a hand")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    by_photo = scenes(Path(args.photos), args.frames)
    if not by_photo:
        sys.exit(f"no photo with a hand in {args.photos}")
    classifier = GestureClassifier(str(ROOT / "models" / "gesture_classifier.tflite"))
    times: dict[int, list[float]] = {1: [], 0: []}
    hands: dict[int, dict[str, list]] = {1: {}, 0: {}}  # first round: the hand found in each frame
    for r in range(args.rounds):
        for photo, scene in by_photo.items():
            for complexity in (1, 0):
                # one detector per photo: a camera sees one scene at a time, and tracking carried
                # over a cut to another photo measures the cut, not the model
                with HandDetector(model_complexity=complexity) as det:
                    det.detect(scene[0])  # the first call loads the graph and finds the hand
                    for f in scene:
                        t0 = time.perf_counter()
                        found = det.detect(f)
                        times[complexity].append((time.perf_counter() - t0) * 1e3)
                        if r == 0:
                            hands[complexity].setdefault(photo, []).append(found[0] if found else None)
    for complexity, name in ((1, "full (shipped)"), (0, "lite")):
        v = times[complexity]
        print(f"{name:15s} median {statistics.median(v):6.2f} ms  p95 {np.percentile(v, 95):6.2f} ms  (n={len(v)})")
    print(f"ratio lite / full: median {statistics.median(times[0]) / statistics.median(times[1]):.3f}")
    for photo in by_photo:
        both = [
            (a, b) for a, b in zip(hands[1][photo], hands[0][photo], strict=True) if a is not None and b is not None
        ]
        if not both:
            print(f"{photo}: no frame with a hand from both")
            continue
        # landmark distance in units of the hand's size (wrist to middle-finger knuckle)
        dist = [
            float(np.linalg.norm(a.landmarks[:, :2] - b.landmarks[:, :2], axis=1).mean())
            / max(float(np.linalg.norm(a.landmarks[9, :2] - a.landmarks[0, :2])), 1.0)
            for a, b in both
        ]
        labels = [(classifier.classify(a).label, classifier.classify(b).label) for a, b in both]
        same = np.mean([full == lite for full, lite in labels])
        print(
            f"{photo}: {len(both)} frames, landmarks apart by {statistics.median(dist):.3f} hand sizes "
            f"(median); labels full {dict(Counter(f for f, _ in labels))}, lite {dict(Counter(lt for _, lt in labels))}; "
            f"the same on {100.0 * same:.0f} %"
        )


if __name__ == "__main__":
    main()
