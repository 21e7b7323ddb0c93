"""Measure the thresholds of the runtime signals that sit beside the liveness model, on NUAA.

    PYTHONPATH=. .venv/bin/python training/liveness/study_runtime_signals.py ../shared/datasets artifacts/liveness

1. Identity (kiosk/vision/tracking.py): `geometry_signature` distance between frames of the same
   recording (a track-id jump of the same person), the same subject in another session / as a print
   of them, and different subjects. All 9 subjects (no model is trained here).
2. Capture quality (kiosk/vision/capture_quality.py): its measures on the TRAIN subjects' live frames
   as recorded and under each synthetic condition (conditions.py), beside the liveness model's score,
   so each threshold can be set where frames as recorded are not flagged and the frames the model
   gets wrong are. Validation subjects are left for evaluate.py.
   `far`: where a small face starts to fool the model (frames scaled down, train subjects).
3. Frozen feeds (kiosk/vision/still.py): the face-region change between consecutive frames of every
   NUAA recording, against the detector's noise floor.
Writes training/liveness/report/runtime_signals.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import conditions  # noqa: E402
import data  # noqa: E402

from kiosk.config import shipped_defaults  # noqa: E402
from kiosk.vision.capture_quality import CaptureThresholds, judge, measure  # noqa: E402
from kiosk.vision.face import Face  # noqa: E402
from kiosk.vision.liveness import LivenessModel  # noqa: E402
from kiosk.vision.still import StillnessDetector  # noqa: E402
from kiosk.vision.tracking import FaceTracker, geometry_signature, signature_distance  # noqa: E402


def pct(x, qs=(0, 1, 5, 50, 95, 99, 100)) -> dict:
    x = np.asarray(x, float)
    return {f"p{q}": round(float(np.percentile(x, q)), 4) for q in qs} if len(x) else {}


OTHER_PERSON_STUDIED = 0.06  # kiosk.vision.tracking.FaceTracker: "at 0.06 it caught 0.9 % of other people"


def identity_study(index) -> dict:
    sig = np.array([geometry_signature(lm.astype(np.float32)) for lm in index["landmarks"]])
    subj, sess = index["subject"], index["session"]
    n = len(sig)
    same_rec, same_subj, other = [], [], []
    # per-recording reference = the running mean a tracker would hold after a few frames
    rec_key = np.array([f"{a}/{b}" for a, b in zip(subj, sess, strict=False)])
    ref = {k: sig[rec_key == k][:10].mean(axis=0) for k in np.unique(rec_key)}
    for i in range(n):
        same_rec.append(signature_distance(sig[i], ref[rec_key[i]]))
        for k, r in ref.items():
            s_k = k.split("/")[0]
            if s_k == subj[i] and k != rec_key[i]:
                same_subj.append(signature_distance(sig[i], r))
            elif s_k != subj[i]:
                other.append(signature_distance(sig[i], r))
    same_rec, same_subj, other = map(np.array, (same_rec, same_subj, other))
    t = FaceTracker()
    out = {
        "frames": int(n),
        "distance_to_own_recording": pct(same_rec),
        "distance_to_same_subject_other_recording": pct(same_subj),
        "distance_to_other_subject": pct(other),
    }
    # other_person is off in the tracker (None); the study still reports the value it was judged at
    for name, thr in (("same_person", t.same_person), ("other_person", t.other_person or OTHER_PERSON_STUDIED)):
        out[f"at_{name}_{thr}"] = {
            "own_recording_above": round(float(np.mean(same_rec > thr)), 4),
            "same_subject_other_recording_above": round(float(np.mean(same_subj > thr)), 4),
            "other_subject_below": round(float(np.mean(other <= thr)), 4),
        }
    return out


def capture_study(datasets, index, frames, model) -> dict:
    rows = np.where((index["label"] == 1) & ~data.split_mask(index))[0]
    t = CaptureThresholds()
    out = {"subjects": sorted(set(index["subject"][rows])), "frames": int(len(rows)), "thresholds": vars(t)}
    for cond in conditions.CONDITIONS:
        meas, scores, flags = [], [], []
        fns = {}
        for i in rows:
            key = f"{index['subject'][i]}_{index['session'][i]}"
            fn = fns.setdefault(key, conditions.make(cond, key))
            img = fn(frames[i], index["bbox"][i])
            lm = index["landmarks"][i].astype(np.float32).copy()
            if cond == "far":
                lm[:, :2] = conditions.far_points(lm[:, :2], img.shape, fn.scale)
                lm[:, 2] *= fn.scale
            x0, y0 = np.floor(lm[:, :2].min(axis=0)).astype(int)
            x1, y1 = np.ceil(lm[:, :2].max(axis=0)).astype(int)
            face = Face(lm, (int(x0), int(y0), int(x1 - x0), int(y1 - y0)), (img.shape[1], img.shape[0]))
            m = measure(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), face)
            meas.append(m)
            scores.append(model.score(img, face))
            flags.append(judge(m, t))
        scores = np.array(scores)
        wrong = scores < model.threshold
        flagged = np.array([f is not None for f in flags])
        entry = {
            "model_wrong": round(float(wrong.mean()), 4),
            "flagged": round(float(flagged.mean()), 4),
            "model_wrong_among_unflagged": round(float(wrong[~flagged].mean()), 4) if (~flagged).any() else None,
            "flags": {str(k.value if k else None): int(sum(1 for f in flags if f == k)) for k in set(flags)},
        }
        for field in (
            "face_mean",
            "face_highlight",
            "background_mean",
            "overexposed",
            "face_px",
            "sharpness",
            "outside",
        ):
            entry[field] = pct([getattr(m, field) for m in meas])
        out[cond] = entry
        print(
            cond, {k: entry[k] for k in ("model_wrong", "flagged", "model_wrong_among_unflagged", "flags")}, flush=True
        )
    return out


def far_sweep(index, frames, model, scales=(0.2, 0.25, 0.3, 0.35, 0.45)) -> dict:
    """Where a small face starts to fool the model: every 3rd train-subject frame scaled down inside
    the frame (as conditions.far), the live error and the print error per scale."""
    out = {}
    tr = ~data.split_mask(index)
    for f in scales:
        entry = {}
        for name, label in (("live", 1), ("print", 0)):
            rows = np.where((index["label"] == label) & tr)[0][::3]
            scores, widths = [], []
            for i in rows:
                img = frames[i]
                h, w = img.shape[:2]
                small = cv2.resize(img, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)
                top, left = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
                scaled = cv2.copyMakeBorder(
                    small, top, h - small.shape[0] - top, left, w - small.shape[1] - left, cv2.BORDER_REPLICATE
                )
                lm = index["landmarks"][i].astype(np.float32).copy()
                lm[:, :2] = lm[:, :2] * f + [left, top]
                x0, y0 = lm[:, :2].min(axis=0)
                x1, y1 = lm[:, :2].max(axis=0)
                face = Face(lm, (int(x0), int(y0), int(x1 - x0), int(y1 - y0)), (w, h))
                scores.append(model.score(scaled, face))
                widths.append(float(x1 - x0))
            sc = np.array(scores)
            wrong = sc < model.threshold if label == 1 else sc >= model.threshold
            entry[name] = {
                "frames": int(len(rows)),
                "median_face_px": round(float(np.median(widths)), 1),
                "wrong": round(float(wrong.mean()), 4),
            }
        out[str(f)] = entry
        print("far", f, entry, flush=True)
    return out


def shipped_still() -> StillnessDetector:
    """The detector as the kiosk runs it, with the thresholds of default_config.toml."""
    liveness = shipped_defaults().liveness
    return StillnessDetector(liveness.still_noise_floor, liveness.still_window_frames)


def still_study(index, frames) -> dict:
    out = {}
    rec_key = np.array([f"{a}/{b}" for a, b in zip(index["subject"], index["session"], strict=False)])
    det = shipped_still()
    for label, name in ((1, "live"), (0, "print")):
        changes = []
        for k in np.unique(rec_key[index["label"] == label]):
            rows = np.where(rec_key == k)[0]
            rows = rows[np.argsort(index["frame"][rows])]
            prev = None
            for i in rows:
                g = cv2.cvtColor(frames[i], cv2.COLOR_BGR2GRAY)
                d = shipped_still()
                if prev is not None:
                    d.change(prev, index["bbox"][i])
                    changes.append(d.change(g, index["bbox"][i]))
                prev = g
        changes = np.array(changes)
        out[name] = {
            "pairs": int(len(changes)),
            "change": pct(changes),
            "below_noise_floor": int(np.sum(changes < det.noise_floor)),
        }
    # sensor noise alone on a perfectly still scene, for scale: two noisy copies of one frame
    g = cv2.cvtColor(frames[0], cv2.COLOR_BGR2GRAY).astype(np.float32)
    rng = np.random.default_rng(0)
    for sigma in (0.5, 1.0, 2.0):
        a = np.clip(g + rng.normal(0, sigma, g.shape), 0, 255).round().astype(np.uint8)
        b = np.clip(g + rng.normal(0, sigma, g.shape), 0, 255).round().astype(np.uint8)
        d = shipped_still()
        d.change(a, index["bbox"][0])
        out[f"sensor_noise_sigma_{sigma}"] = round(d.change(b, index["bbox"][0]), 3)
    out["noise_floor"] = det.noise_floor
    out["window"] = det.window
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "report" / "runtime_signals.json")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "liveness.tflite")
    ap.add_argument("--only", choices=("identity", "capture", "still", "far"), default=None)
    args = ap.parse_args()
    index = data.load_index(args.work)
    report = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if args.only in (None, "identity"):
        report["identity"] = identity_study(index)
        print(json.dumps(report["identity"], indent=1), flush=True)
    if args.only in (None, "capture", "still", "far"):
        frames = data.load_frames(args.datasets, index)
        if args.only in (None, "still"):
            report["still"] = still_study(index, frames)
            print(json.dumps(report["still"], indent=1), flush=True)
        model = LivenessModel(args.model)
        if args.only in (None, "capture"):
            report["capture"] = capture_study(args.datasets, index, frames, model)
        if args.only in (None, "far"):
            report["far"] = far_sweep(index, frames, model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
