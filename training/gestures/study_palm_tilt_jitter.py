"""How much MediaPipe's palm tilt (the depth check, `kiosk.vision.gestures.palm_tilt_degrees`) moves
between near-identical frames. No recording here has consecutive frames with depth, so each shared
photo with a hand stands in for a held pose: 50 copies, each shifted by up to 3 px, scaled by up to
2 %, with sensor noise (sigma 3 grey levels) and JPEG quality 80, through the runtime's HandDetector
(one image at a time). Reports the spread of the first hand's tilt per photo.

    .venv/bin/python training/gestures/study_palm_tilt_jitter.py --datasets ../shared/datasets
    # -> training/gestures/report/palm_tilt_jitter.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.vision.gestures import palm_tilt_degrees  # noqa: E402

COPIES = 50


def jittered(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    s = 1 + rng.uniform(-0.02, 0.02)
    m = np.array([[s, 0, rng.uniform(-3, 3)], [0, s, rng.uniform(-3, 3)]], np.float32)
    x = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    x = np.clip(x + rng.normal(0, 3, x.shape), 0, 255).astype(np.uint8)
    return cv2.imdecode(cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, 80])[1], cv2.IMREAD_COLOR)


def main(argv=None) -> None:
    import cv2

    from kiosk.vision.hands import HandDetector

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--out", default=str(ROOT / "training" / "gestures" / "report" / "palm_tilt_jitter.json"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    out: dict = {"copies": COPIES, "jitter": "shift <= 3 px, scale +-2 %, noise sigma 3, JPEG 80", "photos": {}}
    with HandDetector(max_hands=1, static_image_mode=True) as det:
        for path in sorted((Path(args.datasets) / "photos").iterdir()):
            img = cv2.imread(str(path))
            if img is None or not det.detect(img):
                continue
            tilts = []
            for _ in range(COPIES):
                hands = det.detect(jittered(img, rng))
                tilt = palm_tilt_degrees(hands[0].landmarks) if hands else None
                if tilt is not None:
                    tilts.append(tilt)
            t = np.array(tilts)
            out["photos"][path.name] = {
                "found": len(t),
                "median": round(float(np.median(t)), 1),
                "sd": round(float(t.std()), 2),
                "p5": round(float(np.percentile(t, 5)), 1),
                "p95": round(float(np.percentile(t, 95)), 1),
            }
            print(path.name, out["photos"][path.name])
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
