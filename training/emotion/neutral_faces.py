"""Emotion challenges passed by people who are not showing the emotion: real camera faces, per person.

    .venv/bin/python training/emotion/neutral_faces.py ../shared/datasets --out training/emotion/report/neutral_faces.json

The FER2013 figures (evaluate.py) are single web photos. This check uses the live recordings of
the NUAA database (`nuaa_train/real/<subject>`: 9 people in front of a webcam, 320x240 frames,
several recordings each), which show people looking into the camera without being asked for any
expression. Every frame goes through the kiosk's own path for an emotion frame: the Face Landmarker
(landmarks + blendshapes, IMAGE mode: the frames are a sample of each recording, not consecutive),
`EmotionClassifier.classify` (alignment, CNN, fusion head, per-class thresholds) and the session's
`Judge.matches`. A frame that passes the "happy" challenge here is a false accept if the person is
not smiling; whether they are is read off the frames by eye (the card says how many), since NUAA has
no expression labels. Reported per person (worst named), per recording, and the longest run of
frames in a recording's file order that passes one challenge (a challenge needs 25 frames held;
file order skips frames, so a run here spans more time than the same run live).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import cv2  # noqa: E402
from runtime_eval import DRAWN, passes, runtime_judge  # noqa: E402

from kiosk.session.challenges import Judge  # noqa: E402
from kiosk.vision.emotion import EmotionClassifier  # noqa: E402
from kiosk.vision.face import FaceLandmarkerDetector  # noqa: E402

# NUAA file names: subject_glasses_location_session_frame.jpg
NAME = re.compile(r"^(\d{4})_(\d{2})_(\d{2})_(\d{2})_(\d+)\.jpg$")


def recordings(real: Path) -> dict[str, list[Path]]:
    """Recording id (subject_glasses_location_session) -> its frames in frame-number order."""
    out: dict[str, list[tuple[int, Path]]] = defaultdict(list)
    for path in sorted(real.glob("*/*.jpg")):
        m = NAME.match(path.name)
        if m:
            out["_".join(m.groups()[:4])].append((int(m.group(5)), path))
    return {rec: [p for _, p in sorted(frames)] for rec, frames in sorted(out.items())}


def longest_run(flags: list[bool]) -> int:
    best = run = 0
    for f in flags:
        run = run + 1 if f else 0
        best = max(best, run)
    return best


def judge_frame(
    detector: FaceLandmarkerDetector, clf: EmotionClassifier, judge: Judge, path: Path
) -> tuple[str, dict[str, bool]] | None:
    """One frame through the kiosk's emotion path: (its label or "none", whether it passes each
    DRAWN challenge), or None when the landmarker finds no face."""
    frame = cv2.imread(str(path))
    faces = detector.detect(frame) if frame is not None else []
    if not faces:
        return None
    result = clf.classify(frame, faces[0])
    return result.label or "none", {c: result.label == c and passes(judge, c, result) for c in DRAWN}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets")
    ap.add_argument("--model", default="models/emotion.tflite")
    ap.add_argument("--landmarker", default="models/face_landmarker.task")
    ap.add_argument("--out", default="training/emotion/report/neutral_faces.json")
    args = ap.parse_args(argv)
    clf = EmotionClassifier(args.model)
    judge = runtime_judge()
    recs = recordings(Path(args.datasets) / "nuaa_train" / "real")
    per_subject: dict[str, dict] = {}
    per_recording: dict[str, dict] = {}
    with FaceLandmarkerDetector(args.landmarker, max_faces=1, static_image_mode=True) as det:
        for rec, frames in recs.items():
            subject = rec[:4]
            flags: dict[str, list[bool]] = {c: [] for c in DRAWN}
            tops: Counter[str] = Counter()
            found = 0
            for path in frames:
                judged = judge_frame(det, clf, judge, path)
                if judged is None:
                    continue
                found += 1
                label, passed = judged
                tops[label] += 1
                for c in DRAWN:
                    flags[c].append(passed[c])
            passes_per_challenge = {c: sum(f) for c, f in flags.items()}
            per_recording[rec] = {
                "frames": len(frames),
                "with_face": found,
                "passes": passes_per_challenge,
                "longest_run": {c: longest_run(f) for c, f in flags.items()},
                "labels": dict(tops.most_common()),
            }
            s = per_subject.setdefault(subject, {"frames": 0, "with_face": 0, "passes": Counter(), "labels": Counter()})
            s["frames"] += len(frames)
            s["with_face"] += found
            s["passes"].update(passes_per_challenge)
            s["labels"].update(tops)
            print(f"{rec}: {found}/{len(frames)} faces, passes {per_recording[rec]['passes']}", flush=True)
    total_faces = sum(s["with_face"] for s in per_subject.values())
    summary: dict[str, dict] = {}
    for c in DRAWN:
        shares = {subj: s["passes"][c] / max(s["with_face"], 1) for subj, s in per_subject.items()}
        worst = max(shares, key=lambda k: shares[k])
        summary[c] = {
            "pooled": sum(s["passes"][c] for s in per_subject.values()) / max(total_faces, 1),
            "worst_subject": worst,
            "worst_share": shares[worst],
            "recordings_with_a_run_of_25": sum(r["longest_run"][c] >= 25 for r in per_recording.values()),
            "longest_run": max(r["longest_run"][c] for r in per_recording.values()),
        }
    report = {
        "command": "python training/emotion/neutral_faces.py ../shared/datasets",
        "faces": total_faces,
        "recordings": len(per_recording),
        "per_challenge": summary,
        "per_subject": {
            subj: {
                "frames": s["frames"],
                "with_face": s["with_face"],
                "passes": {c: s["passes"][c] for c in DRAWN},
                "labels": dict(s["labels"].most_common()),
            }
            for subj, s in sorted(per_subject.items())
        },
        "per_recording": per_recording,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"faces": total_faces, "per_challenge": summary}, indent=1))
    print("labels per subject:")
    for subj, s in sorted(per_subject.items()):
        print(f"  {subj}: {s['with_face']} faces, {dict(s['labels'].most_common())}")


if __name__ == "__main__":
    main()
