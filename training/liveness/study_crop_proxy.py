"""A quick crop-level look at a liveness model on held-out subjects, per subject and capture condition.

Minutes instead of the runtime evaluation's quarter hour, and without the kiosk around the model:
it chooses which recipe variants are worth a leave-subjects-out rotation (crossval.py), whose
runtime figures alone decide. Every 3rd frame of the held-out subjects (LIVENESS_VAL_SUBJECTS, as
in every step) through each synthetic capture condition (conditions.py: the whole frame changed,
the face box moved with a `far` frame), cropped as the model expects; plus the validation set's
synthetic screen replays (valset.py). A live frame is wrong when P(live) < 0.5.

    LIVENESS_VAL_SUBJECTS=0002,0005,0009 PYTHONPATH=. /work/venvs/train/bin/python \
        training/liveness/study_crop_proxy.py ../shared/datasets artifacts/liveness \
        artifacts/liveness/fold_B/liveness.tflite published:MiniFASNetV2 --out report/proxy.json

A model is a .tflite file (the runtime's int8 export) or `published:<name>`: the ported weights as
published, not fine-tuned (MiniFASNetV2 at its 2.7x crop, MiniFASNetV1SE at its 4.0x crop), with
--all-subjects to judge every NUAA subject (none of them was seen by the published models).
Runs in the training venv (TensorFlow).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conditions  # noqa: E402
import data  # noqa: E402

PUBLISHED_SCALE = {"MiniFASNetV2": 2.7, "MiniFASNetV1SE": 4.0}
RUNTIME_SCALE = 2.7  # the shipped model's crop (export.py)
STRIDE = 3


def scorer(spec: str, work: Path):
    """(P(live) of float crops, the crop scale it needs) for a model spec; `a.tflite+b.tflite`
    averages the models' P(live) (each at the runtime's crop); `mirror:<spec>` averages a model's
    P(live) on each crop and on its mirror image."""
    if spec.startswith("mirror:"):
        score, scale = scorer(spec.removeprefix("mirror:"), work)
        return (lambda x: (score(x) + score(x[:, :, ::-1])) / 2), scale
    if "+" in spec:
        parts = [scorer(part, work) for part in spec.split("+")]
        if {scale for _, scale in parts} != {RUNTIME_SCALE}:
            raise SystemExit(f"{spec}: an average needs models at the runtime's crop")
        return (lambda x: np.mean([score(x) for score, _ in parts], axis=0)), RUNTIME_SCALE
    if spec.startswith("published:"):
        import minifasnet
        from train import live_prob_model

        name = spec.split(":", 1)[1]
        model = live_prob_model(minifasnet.build(minifasnet.load_state_npz(work / f"{name}.npz")))
        return (lambda x: model.predict(x.astype(np.float32), batch_size=256, verbose=0).ravel()), PUBLISHED_SCALE[name]
    from train import tflite_live_scores

    return (lambda x: tflite_live_scores(spec, x.astype(np.float32))), RUNTIME_SCALE


def condition_frames(frames, index, rows):
    """condition -> (frames, boxes) of the given rows, each recording in the one setting the
    runtime evaluation gives it (conditions.make keyed by <subject>_<session>, as evaluate.py)."""
    out = {}
    for cond in conditions.CONDITIONS:
        imgs, boxes, fns = [], [], {}
        for i in rows:
            key = f"{index['subject'][i]}_{index['session'][i]}"
            fn = fns.setdefault(key, conditions.make(cond, key))
            box = np.array(index["bbox"][i], float)
            imgs.append(fn(frames[i], box))
            if cond == "far":  # the frame shrank about its centre: so did the face box
                box = np.concatenate([conditions.far_points(box[:2], frames[i].shape, fn.scale), box[2:] * fn.scale])
            boxes.append(box)
        out[cond] = (imgs, np.array(boxes))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("models", nargs="+", help="a .tflite file or published:<MiniFASNetV2|MiniFASNetV1SE>")
    ap.add_argument("--all-subjects", action="store_true", help="every subject, not only the held-out ones")
    ap.add_argument("--out", type=Path, default=None, help="JSON with every figure")
    args = ap.parse_args()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import valset

    index = data.load_index(args.work)
    frames = data.load_frames(args.datasets, index)
    rows = np.arange(len(index["label"])) if args.all_subjects else np.flatnonzero(data.split_mask(index))
    rows = rows[::STRIDE]
    subject, live = index["subject"][rows], index["label"][rows] == 1
    by_condition = condition_frames(frames, index, rows)
    screens = valset.build(frames, index, RUNTIME_SCALE)
    results = {}
    for spec in args.models:
        score, scale = scorer(spec, args.work)
        res: dict = {"crop_scale": scale, "live_wrong": {}, "print_accepted": {}}
        wrong_all = []
        for cond, (imgs, boxes) in by_condition.items():
            p = score(data.make_crops(imgs, {"bbox": boxes}, scale))
            wrong_all.append(p[live] < 0.5)
            res["live_wrong"][cond] = {
                s: round(float((p[live & (subject == s)] < 0.5).mean()), 4) for s in sorted(set(subject[live]))
            }
            res["print_accepted"][cond] = round(float((p[~live] >= 0.5).mean()), 4)
        res["live_wrong_pooled"] = round(float(np.concatenate(wrong_all).mean()), 4)
        per_subject = {
            s: round(float(np.mean([res["live_wrong"][c][s] for c in res["live_wrong"]])), 4)
            for s in sorted(set(subject[live]))
        }
        res["live_wrong_per_subject_mean_over_conditions"] = per_subject
        if scale == RUNTIME_SCALE:  # valset's screens are cropped for the runtime's scale
            res["screen_accepted"] = {
                k: round(float((score(screens[k][0]) >= 0.5).mean()), 4) for k in ("screen", "screen_fine")
            }
        results[spec] = res
        print(
            f"== {spec}: live frames wrong {res['live_wrong_pooled']:.3f} over all conditions; per subject "
            + " ".join(f"{s}={v:.3f}" for s, v in per_subject.items())
            + (f"; screens accepted {res['screen_accepted']}" if "screen_accepted" in res else ""),
            flush=True,
        )
        for cond in res["live_wrong"]:
            print(
                f"   {cond:12s} "
                + " ".join(f"{s}={v:.2f}" for s, v in res["live_wrong"][cond].items())
                + f"  print accepted {res['print_accepted'][cond]:.3f}",
                flush=True,
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "subjects": sorted(set(subject.tolist())),
                    "stride": STRIDE,
                    "models": results,
                    "command": " ".join(sys.argv),
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
