"""Operator tool: record hand landmarks per gesture at the kiosk, in the kiosk's feature format.

Runs in the RUNTIME venv (MediaPipe). Each row appended to the CSV is
    label, subject, handedness, f0 .. f41, palm_tilt
(kiosk.vision.gestures.hand_features, then palm_tilt_degrees from MediaPipe's depth: what the open
hand's palm_facing bound is chosen on; a file begun before that column keeps its own columns)
The subject id lets train.py validate on people it never trained on: use one id per person.

Interactive (camera, video file or image folder), press a key to record the hand in view:
    .venv/bin/python -m training.gestures.collect --source 0 --subject p07 --out data/gestures_p07.csv
Headless, a folder of photos of one gesture (or --label-from-folder for <folder>/<label>/*.jpg):
    .venv/bin/python -m training.gestures.collect --source photos/like --label like --subject p07 --out x.csv --headless
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk.vision.gestures import hand_features, palm_tilt_degrees  # noqa: E402
from training.gestures.labels import LABELS  # noqa: E402
from training.gestures.loaders import COLLECT_HEADER as HEADER  # noqa: E402

KEYS = {
    "1": "like",
    "2": "dislike",
    "3": "call_me",
    "4": "four",
    "5": "hi_five",
    "6": "victory",
    "7": "perfect",
    "8": "mamma_mia",
    "9": "crossed_fingers",
    "0": "fist",
    "o": "one",
    "r": "rock",
    "n": "none",
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
CONNECTIONS = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (0, 5),
    (5, 6),
    (6, 7),
    (7, 8),
    (5, 9),
    (9, 10),
    (10, 11),
    (11, 12),
    (9, 13),
    (13, 14),
    (14, 15),
    (15, 16),
    (13, 17),
    (0, 17),
    (17, 18),
    (18, 19),
    (19, 20),
]


class CsvSink:
    """Appends rows, writing the header when the file is new."""

    def __init__(self, path: str | Path, subject: str):
        self.path, self.subject = Path(path), subject
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        header = HEADER
        if not new:  # append in the file's own columns (one begun before palm_tilt has none)
            with open(self.path, newline="", encoding="utf-8") as fh:
                header = next(csv.reader(fh), HEADER)
        self._with_tilt = "palm_tilt" in header
        self._fh = open(self.path, "a", newline="", encoding="utf-8")
        self._w = csv.writer(self._fh)
        if new:
            self._w.writerow(HEADER)
        self.counts: dict[str, int] = {}

    def write(self, label: str, hand) -> None:
        feats = hand_features(hand.landmarks, hand.handedness)
        row = [label, self.subject, hand.handedness] + [f"{v:.5f}" for v in feats]
        if self._with_tilt:
            tilt = palm_tilt_degrees(hand.landmarks)
            row.append("" if tilt is None else f"{tilt:.2f}")
        self._w.writerow(row)
        self._fh.flush()
        self.counts[label] = self.counts.get(label, 0) + 1

    def close(self) -> None:
        self._fh.close()


def image_files(folder: Path):
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def frames(source: str):
    """Yields (name, BGR frame): camera index, video file or image folder."""
    import cv2

    path = Path(source)
    if path.is_dir():
        for p in image_files(path):
            img = cv2.imread(str(p))
            if img is not None:
                yield p, img
        return
    cap = cv2.VideoCapture(int(source) if source.isdigit() else str(source))
    if not cap.isOpened():
        raise SystemExit(f"cannot open source {source}")
    try:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield Path(f"frame{i:06d}"), frame
            i += 1
    finally:
        cap.release()


def draw(frame, hands, sink, last):
    import cv2

    view = frame.copy()
    for hand in hands:
        pts = hand.landmarks[:, :2].astype(int)
        for a, b in CONNECTIONS:
            cv2.line(view, tuple(pts[a]), tuple(pts[b]), (0, 255, 0), 2)
        cv2.putText(view, hand.handedness, tuple(pts[0] + [5, 20]), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 2)
    help_text = "  ".join(f"{k}:{v}" for k, v in KEYS.items())
    cv2.putText(view, help_text, (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
    cv2.putText(
        view,
        f"q: quit   last: {last}   saved: {sink.counts}",
        (8, 36),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (0, 255, 255),
        1,
    )
    return view


def run(args) -> dict[str, int]:
    from kiosk.vision.hands import HandDetector

    source_is_folder = Path(args.source).is_dir()
    sink = CsvSink(args.out, args.subject)
    last = "-"
    try:
        with HandDetector(max_hands=1, static_image_mode=source_is_folder) as det:
            for n, (name, frame) in enumerate(frames(args.source)):
                if n % args.every:
                    continue
                hands = det.detect(frame)
                if args.headless:
                    label = name.parent.name if args.label_from_folder else args.label
                    if label not in LABELS:
                        print(f"skip {name}: folder/label {label!r} is not one of {LABELS}")
                        continue
                    if hands:
                        sink.write(label, hands[0])
                    else:
                        print(f"no hand in {name}")
                    continue
                import cv2

                cv2.imshow("gesture collection", draw(frame, hands, sink, last))
                key = cv2.waitKey(0 if source_is_folder else 1) & 0xFF
                if key in (ord("q"), 27):
                    break
                label = KEYS.get(chr(key)) if key < 128 else None
                if label and hands:
                    sink.write(label, hands[0])
                    last = label
            if not args.headless:
                import cv2

                cv2.destroyAllWindows()
    finally:
        sink.close()
    print(f"{args.out}: {sink.counts}")
    return sink.counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True, help="camera index (0), video file or image folder")
    ap.add_argument("--out", required=True, help="CSV to append to")
    ap.add_argument("--subject", default="unknown", help="id of the person recorded (one per person)")
    ap.add_argument("--label", choices=LABELS, help="headless: label every detected hand with this gesture")
    ap.add_argument("--label-from-folder", action="store_true", help="headless: label = name of the image's folder")
    ap.add_argument("--headless", action="store_true", help="no window (needs --label or --label-from-folder)")
    ap.add_argument("--every", type=int, default=1, help="use every Nth frame")
    args = ap.parse_args(argv)
    if args.headless and not (args.label or args.label_from_folder):
        ap.error("--headless needs --label or --label-from-folder")
    return run(args)


if __name__ == "__main__":
    main()
