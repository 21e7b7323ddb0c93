"""Warm-start a `build_vgg` Keras model from an exported int8 TFLite model of the same architecture.

The int8 file holds per-channel quantised conv kernels with the batch norm folded in
(W' = W * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps)). We dequantise them,
put W' into the conv layers and choose batch-norm parameters that reproduce the folded bias exactly
in inference mode and approximately in training mode:

    moving_mean = m, moving_var = s^2, gamma = sqrt(s^2 + eps), beta = m + b'

where m and s are the per-channel mean and std of the conv output on a calibration batch. Then
BN(x) = x + b' at inference, and with batch statistics close to (m, s) also while training.
Used to continue training the shipped model for another cosine cycle (a warm restart).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def _dequant(interp, tensor_details: dict, idx: int) -> np.ndarray:
    d = tensor_details[idx]
    q = d["quantization_parameters"]
    v = interp.get_tensor(idx).astype(np.float64)
    scales, zeros = q["scales"], q["zero_points"]
    if len(scales) == 0:
        return v
    shape = [1] * v.ndim
    if len(scales) > 1:
        shape[q["quantized_dimension"]] = -1
    return (v - np.reshape(zeros, shape)) * np.reshape(scales, shape)


def tflite_weights(path: str) -> tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """[(conv kernel HWIO, folded bias)] in graph order, and (dense kernel IO, dense bias)."""
    interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    td = {t["index"]: t for t in interp.get_tensor_details()}
    convs, dense = [], None
    for op in interp._get_ops_details():
        if op["op_name"] == "CONV_2D":
            w = _dequant(interp, td, op["inputs"][1]).transpose(1, 2, 3, 0)  # OHWI -> HWIO
            convs.append((w.astype(np.float32), _dequant(interp, td, op["inputs"][2]).astype(np.float32)))
        elif op["op_name"] == "FULLY_CONNECTED":
            w = _dequant(interp, td, op["inputs"][1]).T  # (out, in) -> (in, out)
            dense = (w.astype(np.float32), _dequant(interp, td, op["inputs"][2]).astype(np.float32))
    return convs, dense


def init_from_tflite(model: keras.Model, path: str, calib_x: np.ndarray) -> None:
    convs, (dw, db) = tflite_weights(path)
    conv_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(conv_layers) == len(convs), (len(conv_layers), len(convs))
    for layer, (w, b) in zip(conv_layers, convs):
        assert tuple(layer.kernel.shape) == w.shape, (layer.name, layer.kernel.shape, w.shape)
        layer.kernel.assign(w)
        bn = model.get_layer(layer.name.replace("_conv", "_bn"))
        out = keras.Model(model.input, layer.output).predict(calib_x, batch_size=256, verbose=0)
        m = out.reshape(-1, out.shape[-1]).mean(0)
        var = out.reshape(-1, out.shape[-1]).var(0) + 1e-6
        bn.moving_mean.assign(m)
        bn.moving_variance.assign(var)
        bn.gamma.assign(np.sqrt(var + bn.epsilon))
        bn.beta.assign(m + b)
    dense = model.get_layer("logits")
    dense.kernel.assign(dw)
    dense.bias.assign(db)
