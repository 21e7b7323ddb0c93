"""Int8 export: full-integer TFLite (int8 input and output), calibrated on the training features."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np


def export_int8(model, representative: np.ndarray, path: str | Path, calib_rows: int = 1000) -> int:
    """Keras model -> SavedModel (batch fixed to 1) -> int8 .tflite at `path`; returns its size in bytes."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    calib = representative[rng.choice(len(representative), min(calib_rows, len(representative)), replace=False)]

    def rep():
        for row in calib:
            yield [row[None, :].astype(np.float32)]

    with tempfile.TemporaryDirectory() as tmp:
        # Keras 3 models cannot go through from_keras_model/concrete functions reliably: use a SavedModel
        model.export(tmp, format="tf_saved_model", input_signature=[tf.TensorSpec([1, 42], tf.float32)], verbose=False)
        conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        data = conv.convert()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)
