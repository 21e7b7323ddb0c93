"""Convert the trained Keras model to an int8 TFLite model and write its base metadata.

    /work/venvs/train/bin/python training/emotion/export.py ../shared/datasets \
        --keras artifacts/emotion/run4/best.keras --out models/emotion.tflite

Full-integer quantisation (int8 weights and activations, float32 input/output so the runtime can
apply the temperature to unquantised logits). The representative set is 500 standardised training
images. Writes models/emotion.tflite and models/emotion.json; evaluate.py then adds the
temperature, validated recall and metrics to the json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from split import SEED, load_fer, split_indices  # noqa: E402

from kiosk.vision.emotion import CLIP, FER_EYE_DISTANCE, FER_EYE_MID, FER_EYE_TO_MOUTH, STD_FLOOR, standardize  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets")
    ap.add_argument("--keras", default="artifacts/emotion/run4/best.keras")
    ap.add_argument("--out", default="models/emotion.tflite")
    ap.add_argument("--version", default="1.0.0")
    args = ap.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    images, labels, classes = load_fer(args.datasets)
    parts = split_indices(images, labels)
    rng = np.random.default_rng(SEED)
    rep_idx = rng.choice(parts["train"], 500, replace=False)
    rep = np.stack([standardize(images[i]) for i in rep_idx])[..., None]

    model = keras.models.load_model(args.keras)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rep[i : i + 1]] for i in range(len(rep)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.float32
    converter.inference_output_type = tf.float32
    blob = converter.convert()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(blob)

    train_cfg_file = Path(args.keras).with_name("train_config.json")
    train_cfg = json.loads(train_cfg_file.read_text()) if train_cfg_file.exists() else {}
    meta = {
        "name": "emotion",
        "version": args.version,
        "labels": classes,
        "input": {
            "size": 48,
            "channels": 1,
            "layout": "NHWC float32",
            "align": "kiosk.vision.emotion.align_face: MediaPipe mesh eye corners (33,133 / 362,263) and mouth "
            "corners (61,291); eye line horizontal; similarity transform putting the eye midpoint at "
            f"{list(FER_EYE_MID)} of the side, eye distance {FER_EYE_DISTANCE} and eye-to-mouth "
            f"{FER_EYE_TO_MOUTH} combined as hypot; BGR->gray",
            "normalize": f"x = gray/255; (x - mean(x)) / max(std(x), {STD_FLOOR}); clip to +-{CLIP}",
            "flip_average": False,
        },
        "output": "logits; probabilities = softmax(logits / temperature)",
        "temperature": 1.0,
        "validated_recall": {},
        "min_margin_hint": 0.15,
        "trained_on": "FER2013 train split (fer2013_train.npz), stratified duplicate-grouped split "
        f"train/val/test 80/10/10, seed {SEED} (training/emotion/split.py)",
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training": {
            k: train_cfg.get(k)
            for k in (
                "arch",
                "width",
                "channels",
                "epochs",
                "epochs_run",
                "time_budget_min",
                "train_minutes",
                "init_tflite",
                "batch",
                "lr",
                "label_smoothing",
                "class_weight_power",
                "best_val_acc",
            )
            if train_cfg.get(k) not in (None, "", 0, 0.0)
        },
    }
    if "epochs_run" in meta["training"]:  # time-budgeted run: --epochs was only an upper bound
        meta["training"]["epochs"] = meta["training"].pop("epochs_run")
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    # Agreement between the Keras model and the int8 model on the val split.
    x_val = np.stack([standardize(images[i]) for i in parts["val"]])[..., None]
    keras_pred = model.predict(x_val, batch_size=256, verbose=0).argmax(1)
    interp = tf.lite.Interpreter(model_content=blob, num_threads=1)
    interp.allocate_tensors()
    i_in, i_out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    lite_pred = []
    for x in x_val:
        interp.set_tensor(i_in, x[None])
        interp.invoke()
        lite_pred.append(int(interp.get_tensor(i_out)[0].argmax()))
    lite_pred = np.array(lite_pred)
    y_val = labels[parts["val"]]
    print(f"wrote {out} ({len(blob) / 1024:.1f} KiB) and {out.with_suffix('.json')}")
    print(
        f"val accuracy keras float {np.mean(keras_pred == y_val):.4f}  int8 {np.mean(lite_pred == y_val):.4f}  "
        f"agreement {np.mean(keras_pred == lite_pred):.4f}"
    )


if __name__ == "__main__":
    main()
