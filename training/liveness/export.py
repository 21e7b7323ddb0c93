"""Step 4 (training venv): export the Keras liveness model to TFLite int8 (int8 in/out, int8 inside,
calibrated on train-subject crops only) plus a float32 reference, and write models/liveness.json.

    /work/venvs/train/bin/python training/liveness/export.py ../shared/datasets artifacts/liveness \
        [--keras artifacts/liveness/liveness_finetuned.keras] [--threshold 0.5]

--keras pretrained exports the plain port (MiniFASNetV2 weights as published) instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[2]
SCALE = 2.7


def representative_crops(datasets, work, n=300, seed=7):
    import augment
    import data

    index = data.load_index(work)
    rng = np.random.default_rng(seed)
    train_rows = np.where(~data.split_mask(index))[0]
    pick = rng.choice(train_rows, n, replace=False)
    sub = {k: v[pick] for k, v in index.items()}
    frames = data.load_frames(datasets, sub)
    # as recorded, capture-augmented and in bad light: the int8 ranges must cover dark crops too
    frames = [
        f if k % 4 == 0 else augment.capture(augment.light(f, sub["bbox"][k], rng) if k % 4 == 3 else f, rng)
        for k, f in enumerate(frames)
    ]
    return data.make_crops(frames, sub, SCALE).astype(np.float32)


def log_of(keras_path: Path, report: Path) -> dict:
    """The training log train.py wrote into `report` for this model, or {}."""
    for f in sorted(report.glob("train_log*.json")):
        log = json.loads(f.read_text())
        if log.get("out") == Path(keras_path).name:
            return log
    return {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--keras", default=None, help="path of the .keras model, or 'pretrained'")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--version", default="1.1.0")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "liveness.tflite")
    ap.add_argument(
        "--report", type=Path, default=Path(__file__).resolve().parent / "report", help="where train.py put its log"
    )
    args = ap.parse_args()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import data
    import keras
    import minifasnet
    from train import live_prob_model, tflite_live_scores

    index = data.load_index(args.work)
    train_subjects = ",".join(sorted(set(index["subject"][~data.split_mask(index)].tolist())))

    if args.keras == "pretrained":
        model = live_prob_model(minifasnet.build(minifasnet.load_state_npz(args.work / "MiniFASNetV2.npz")))
        source = "MiniFASNetV2 (minivision, Apache-2.0) ported as published, not fine-tuned"
    else:
        path = Path(args.keras) if args.keras else args.work / "liveness_finetuned.keras"
        model = keras.models.load_model(path, safe_mode=False)
        source = (
            "MiniFASNetV2 (minivision, Apache-2.0) ported to Keras, fine-tuned on NUAA train-list "
            f"subjects {train_subjects} + synthetic screen replays + capture augmentation"
        )
        if log_of(path, args.report).get("light_copies", 0) > 0:
            source += " + bad-light augmentation (dark room, backlight, side light; train.py --light-copies)"
        if any(isinstance(layer, keras.layers.ReLU) for layer in model.layers):
            source += (
                "; PReLU replaced by ReLU and distilled from the PReLU model (train.py --activation relu "
                "--teacher), which XNNPACK runs about 3x faster in int8"
            )

    import tempfile

    saved = Path(tempfile.mkdtemp(prefix="liveness_sm_"))
    model.export(
        saved,
        format="tf_saved_model",
        input_signature=[tf.TensorSpec([1, 80, 80, 3], tf.float32, name="image")],
        verbose=False,
    )
    rep = representative_crops(args.datasets, args.work)

    def rep_data():
        for c in rep:
            yield [c[None]]

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    float_path = args.work / f"{args.out.stem}_float.tflite"
    float_path.write_bytes(conv.convert())
    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep_data
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(conv.convert())

    s, z = tf.lite.Interpreter(model_path=str(args.out)).get_input_details()[0]["quantization"]
    probe = rep[:64]
    got = tflite_live_scores(args.out, probe)
    ref = model.predict(probe, verbose=0).ravel()
    err = float(np.abs(got - ref).max())
    print(
        f"int8 {args.out} {args.out.stat().st_size} bytes, input scale {s} zp {z}; "
        f"max |int8 - keras| on 64 train crops {err:.3f}; float copy {float_path}"
    )

    meta = {
        "name": "liveness",
        "version": args.version,
        "labels": ["spoof", "live"],
        "output": "one value: probability that the face is live (0..1)",
        "input": {
            "width": 80,
            "height": 80,
            "color_order": "BGR",
            "value_range": [0, 255],
            "value_scale": 1.0,
            "dtype": "int8 (scale/zero point in the tflite; kiosk.vision.tflite quantises)",
            "crop_scale": SCALE,
            "crop_rule": "minivision CropImage: scale x detector box about its "
            "centre, scale lowered to fit the frame, box shifted inside, resized without keeping aspect",
            "bbox_adjust": {
                "width": 1.04,
                "height": 0.91,
                "shift_y": 0.066,
                "why": "MediaPipe mesh landmark box -> face-detector-like box (measured on NUAA "
                "against MediaPipe face detection)",
            },
        },
        "threshold": args.threshold,
        "rules": {"real_frames": 100, "spoof_frames": 25, "note": "defaults; the kiosk reads its config"},
        "validated_recall": {},
        "validation": "filled in by training/liveness/evaluate.py --update-meta",
        "trained_on": source,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "licence": "weights derived from minivision Silent-Face-Anti-Spoofing (Apache-2.0)",
    }
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
