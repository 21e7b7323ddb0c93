"""Would brightening a dim face crop before the model make dark and backlit faces judgeable?

A candidate run-time rule, tried zero-shot on a liveness model: every NUAA frame through a capture
condition (training/liveness/conditions.py), cropped with the kiosk's crop rule
(kiosk.vision.liveness), brightened by `brighten` below with each setting, then scored. Reported for
the train and the validation subjects (0003 0006 0008) separately.

Result (report/light.json, model v1.1.0): brightening made it far WORSE - validation backlight BPCER
8 % -> 59-66 %, low light 38 % -> 51-79 % - because the gain lifts the noise and the few grey levels
of a dark frame, which the model reads as a print's texture. So the rule was not adopted; the model
is taught bad light instead (augment.light, train.py --light-copies).

    PYTHONPATH=. .venv/bin/python training/liveness/study_light.py ../shared/datasets artifacts/liveness
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import augment  # noqa: E402
import conditions  # noqa: E402
import data  # noqa: E402

from kiosk.vision.liveness import LivenessModel, crop_for_model, detector_box_from_mesh  # noqa: E402


def brighten(crop_bgr: np.ndarray, target: float, max_gain: float) -> np.ndarray:
    """Gain the crop so its centre (the face) has mean grey `target`; only brightening, at most max_gain."""
    h, w = crop_bgr.shape[:2]
    centre = crop_bgr[int(0.35 * h) : int(0.65 * h) + 1, int(0.35 * w) : int(0.65 * w) + 1]
    gain = min(max(target / max(float(centre.mean()), 1.0), 1.0), max_gain)
    return np.clip(crop_bgr.astype(np.float32) * gain, 0, 255).astype(np.uint8)


CONDS = ("as_recorded", "backlight", "low_light", "overexposure", "jpeg_noise")


def error(scores, kind: str, threshold: float) -> float:
    """Live crops scored under the threshold (BPCER), attack crops at or over it (APCER)."""
    s = np.asarray(scores)
    return float(np.mean(s < threshold)) if kind == "live" else float(np.mean(s >= threshold))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--model", default="models/liveness.tflite")
    ap.add_argument("--stride", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("training/liveness/report/light.json"))
    ap.add_argument("--model-only", action="store_true", help="only the model as it is (no brightening)")
    ap.add_argument(
        "--sweep",
        default="",
        help="comma list of thresholds: also print each kind's error under backlight at each, and per subject",
    )
    a = ap.parse_args()
    index = data.load_index(a.work)
    frames = data.load_frames(a.datasets, index)
    model = LivenessModel(a.model)
    rules = {"none": None}
    for target in () if a.model_only else (100.0, 130.0):
        for gmax in (3.0, 5.0):
            rules[f"gain_t{int(target)}_g{int(gmax)}"] = (target, gmax)
    rows = np.arange(len(frames))[:: a.stride]
    val = data.split_mask(index)
    scores: dict = {}  # (rule, split, kind, cond) -> list
    by_subject: dict = {}  # (split, kind, cond, subject) -> list, model as it is
    rec_ids = [f"{index['subject'][i]}_{index['session'][i]}" for i in range(len(frames))]
    for cond in CONDS:
        for i in rows:
            f = frames[i]
            bbox = index["bbox"][i]
            tf = conditions.make(cond, rec_ids[i])
            img = tf(f, bbox)
            kinds = [("live" if index["label"][i] == 1 else "print", img, bbox)]
            if index["label"][i] == 1 and cond in ("as_recorded", "low_light", "backlight"):
                r = np.random.default_rng(zlib.crc32(rec_ids[i].encode()))
                scr, sbox = augment.screen_replay(f, bbox, r)
                kinds.append(("screen", tf(scr, sbox), sbox))
            for kind, im, bx in kinds:
                crop = crop_for_model(im, detector_box_from_mesh(bx, model.bbox_adjust), model.crop_scale, model.size)
                split = "val" if val[i] else "train"
                for name, p in rules.items():
                    c = crop if p is None else brighten(crop, target=p[0], max_gain=p[1])
                    score = model.score_crop(c)
                    scores.setdefault((name, split, kind, cond), []).append(score)
                    if name == "none":
                        by_subject.setdefault((split, kind, cond, index["subject"][i]), []).append(score)
    out = []
    for (name, split, kind, cond), s in sorted(scores.items()):
        err = error(s, kind, model.threshold)
        out.append({"rule": name, "split": split, "kind": kind, "condition": cond, "n": len(s), "error": err})
    a.out.write_text(json.dumps(out, indent=1))
    for split in ("train", "val"):
        print(f"\n== {split}: error (live: BPCER, attacks: APCER) ==")
        keys = sorted({(r["kind"], r["condition"]) for r in out if r["split"] == split})
        print("kind/cond".ljust(26) + "".join(n[:16].rjust(17) for n in rules))
        for k in keys:
            line = f"{k[0]}/{k[1]}".ljust(26)
            for n in rules:
                e = [r for r in out if r["split"] == split and r["rule"] == n and (r["kind"], r["condition"]) == k]
                line += (f"{100 * e[0]['error']:.1f}% n={e[0]['n']}" if e else "-").rjust(17)
            print(line)
    for t in [float(v) for v in a.sweep.split(",") if v]:
        print(f"\n== threshold {t}, backlight: error (live: BPCER, attacks: APCER), pooled [per subject] ==")
        for split in ("train", "val"):
            for kind in ("live", "print", "screen"):
                pooled = scores.get(("none", split, kind, "backlight"), [])
                if not pooled:
                    continue
                per = {
                    key[3]: error(v, kind, t)
                    for key, v in sorted(by_subject.items())
                    if key[:3] == (split, kind, "backlight")
                }
                err = error(pooled, kind, t)
                print(
                    f"{split} {kind}: {100 * err:.1f} % ["
                    + ", ".join(f"{k} {100 * v:.0f} %" for k, v in per.items())
                    + "]"
                )


if __name__ == "__main__":
    main()
