"""How do the active cues behave on real NUAA clips vs NUAA photo attacks (moved, tilted, bent)?

Replays every NUAA recording's cached face-mesh landmarks in frame order through ParallaxCue and
BlinkDetector (kiosk/vision/active_cues.py, default thresholds, set before this study) and writes
report/active_cues.json. NUAA clips are sparse samples of short videos in which people were asked to
look at the camera, so this measures landmark noise and what moving photos do, not a kiosk session.

    .venv/bin/python training/liveness/study_active_cues.py artifacts/liveness
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
from kiosk.vision.active_cues import BlinkDetector, ParallaxCue  # noqa: E402
from kiosk.vision.face import Face  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work", type=Path)
    args = ap.parse_args()
    d = np.load(args.work / "nuaa_faces.npz")
    rec = np.array([f"{s}_{x}" for s, x in zip(d["subject"], d["session"], strict=False)])
    rows = []
    for r in np.unique(rec):
        sel = np.where(rec == r)[0]
        sel = sel[np.argsort(d["frame"][sel])]
        cue, blink = ParallaxCue(), BlinkDetector()
        blinks = 0
        for i in sel:
            face = Face(d["landmarks"][i].astype(np.float32), tuple(d["bbox"][i]), (320, 240))
            cue.update(face)
            blinks += blink.update(face)
        rows.append(
            {
                "recording": r,
                "kind": "real" if "_real_" in r else "print",
                "frames": int(len(sel)),
                "max_parallax": round(cue.max_parallax, 4),
                "max_motion": round(cue.max_motion, 4),
                "verdict": cue.verdict,
                "blinks": int(blinks),
            }
        )
    summary = {}
    for kind in ("real", "print"):
        k = [r for r in rows if r["kind"] == kind]
        summary[kind] = {
            "recordings": len(k),
            "verdict_3d": sum(r["verdict"] is True for r in k),
            "verdict_flat": sum(r["verdict"] is False for r in k),
            "verdict_unknown": sum(r["verdict"] is None for r in k),
            "median_max_parallax": float(np.median([r["max_parallax"] for r in k])),
            "recordings_with_blink": sum(r["blinks"] > 0 for r in k),
        }
    (HERE / "report").mkdir(exist_ok=True)
    (HERE / "report" / "active_cues.json").write_text(json.dumps({"summary": summary, "recordings": rows}, indent=2))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
