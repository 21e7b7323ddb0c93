"""MiniFASNet (minivision Silent-Face-Anti-Spoofing, Apache-2.0) re-implemented in Keras 3.

The graph is read off the PyTorch state dict itself (layer names and weight shapes), so the same code
builds MiniFASNetV2 and MiniFASNetV1SE:

    conv1 (3x3 s2) -> conv2_dw (3x3 dw) -> conv_23 (s2) -> conv_3.model.* (residual)
    -> conv_34 (s2) -> conv_4.model.* -> conv_45 (s2) -> conv_5.model.* -> conv_6_sep (1x1)
    -> conv_6_dw (5x5 dw, valid) -> linear (512->128) -> bn -> prob (128->3)

A "Depth_Wise" block is 1x1 conv+BN+PReLU, 3x3 depthwise+BN+PReLU, 1x1 projection+BN, optionally a
squeeze-excitation gate (V1SE, last block of each residual stage) and a residual add.
PyTorch pads 1 pixel on every side for the strided 3x3 convs; Keras "same" would pad only bottom/right
for stride 2, so padding is explicit (ZeroPadding2D + "valid") to match the weights exactly.
Input: (80, 80, 3) float, channels last, in the colour order and 0..255 range the weights were trained on.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

EPS = 1e-5  # PyTorch BatchNorm default


def load_state_npz(path) -> dict[str, np.ndarray]:
    d = np.load(path)
    return {k: d[k] for k in d.files}


def _bn(x, w, name):
    bn = layers.BatchNormalization(epsilon=EPS, momentum=0.9, name=name.replace(".", "_"))
    x = bn(x)
    bn.set_weights([w[name + ".weight"], w[name + ".bias"], w[name + ".running_mean"], w[name + ".running_var"]])
    return x


def _conv(x, w, name, stride=1, pad=None, act=True, activation="prelu"):
    """Conv_block (act=True: conv+BN+PReLU) or Linear_block (act=False: conv+BN) named like the torch module.

    activation="relu" swaps every PReLU for ReLU (its slopes are dropped): XNNPACK runs int8 ReLU
    fused into the conv, but not int8 PReLU, which made the int8 graph 3x slower on one core."""
    kern = w[name + ".conv.weight"]  # (out, in/groups, kh, kw)
    out_c, in_per_group, kh, kw = kern.shape
    in_c = x.shape[-1]
    pad = (kh // 2) if pad is None else pad
    if pad:
        x = layers.ZeroPadding2D(pad, name=name.replace(".", "_") + "_pad")(x)
    lname = name.replace(".", "_") + "_conv"
    if in_per_group == 1 and in_c == out_c and in_c > 1:
        conv = layers.DepthwiseConv2D((kh, kw), strides=stride, padding="valid", use_bias=False, name=lname)
        x = conv(x)
        conv.set_weights([kern.transpose(2, 3, 0, 1)])  # (kh, kw, in, 1)
    else:
        assert in_per_group == in_c, f"{name}: grouped conv other than depthwise is not supported"
        conv = layers.Conv2D(out_c, (kh, kw), strides=stride, padding="valid", use_bias=False, name=lname)
        x = conv(x)
        conv.set_weights([kern.transpose(2, 3, 1, 0)])  # (kh, kw, in, out)
    x = _bn(x, w, name + ".bn")
    if act and activation == "relu":
        x = layers.ReLU(name=name.replace(".", "_") + "_relu")(x)
    elif act:
        prelu = layers.PReLU(shared_axes=[1, 2], name=name.replace(".", "_") + "_prelu")
        x = prelu(x)
        prelu.set_weights([w[name + ".prelu.weight"].reshape(1, 1, -1)])
    return x


def _se(x, w, name):
    gate = layers.GlobalAveragePooling2D(keepdims=True, name=name.replace(".", "_") + "_pool")(x)
    for i, act in ((1, "relu"), (2, "sigmoid")):
        kern = w[f"{name}.fc{i}.weight"]
        conv = layers.Conv2D(kern.shape[0], 1, use_bias=False, name=name.replace(".", "_") + f"_fc{i}")
        gate = conv(gate)
        conv.set_weights([kern.transpose(2, 3, 1, 0)])
        gate = _bn(gate, w, f"{name}.bn{i}")
        gate = layers.Activation(act, name=name.replace(".", "_") + f"_{act}")(gate)
    return layers.Multiply(name=name.replace(".", "_") + "_gate")([x, gate])


def _depth_wise(x, w, name, stride, residual, activation="prelu"):
    short = x
    y = _conv(x, w, name + ".conv", pad=0, activation=activation)
    y = _conv(y, w, name + ".conv_dw", stride=stride, pad=1, activation=activation)
    y = _conv(y, w, name + ".project", pad=0, act=False)
    if residual:
        if name + ".se_module.fc1.weight" in w:
            y = _se(y, w, name + ".se_module")
        y = layers.Add(name=name.replace(".", "_") + "_add")([short, y])
    return y


def _stage_blocks(w, stage):
    idx = sorted({int(k.split(".")[2]) for k in w if k.startswith(stage + ".model.")})
    return [f"{stage}.model.{i}" for i in idx]


def build(
    weights: dict[str, np.ndarray], dropout: float = 0.0, name: str = "minifasnet", activation: str = "prelu"
) -> keras.Model:
    """MiniFASNet with the given (torch-named, 'module.' stripped) weights; outputs 3-way logits.
    activation: "prelu" (as published) or "relu" (see _conv)."""
    if activation not in ("prelu", "relu"):
        raise ValueError(f"activation must be 'prelu' or 'relu', not {activation!r}")
    w = weights
    a = activation
    inp = keras.Input((80, 80, 3), name="image")
    x = _conv(inp, w, "conv1", stride=2, pad=1, activation=a)
    x = _conv(x, w, "conv2_dw", stride=1, pad=1, activation=a)
    x = _depth_wise(x, w, "conv_23", stride=2, residual=False, activation=a)
    for b in _stage_blocks(w, "conv_3"):
        x = _depth_wise(x, w, b, stride=1, residual=True, activation=a)
    x = _depth_wise(x, w, "conv_34", stride=2, residual=False, activation=a)
    for b in _stage_blocks(w, "conv_4"):
        x = _depth_wise(x, w, b, stride=1, residual=True, activation=a)
    x = _depth_wise(x, w, "conv_45", stride=2, residual=False, activation=a)
    for b in _stage_blocks(w, "conv_5"):
        x = _depth_wise(x, w, b, stride=1, residual=True, activation=a)
    x = _conv(x, w, "conv_6_sep", pad=0, activation=a)
    x = _conv(x, w, "conv_6_dw", pad=0, act=False)
    x = layers.Flatten(name="flatten")(x)
    lin = layers.Dense(w["linear.weight"].shape[0], use_bias=False, name="linear")
    x = lin(x)
    lin.set_weights([w["linear.weight"].T])
    x = _bn(x, w, "bn")
    if dropout:
        x = layers.Dropout(dropout, name="drop")(x)
    prob = layers.Dense(w["prob.weight"].shape[0], use_bias=False, name="prob")
    x = prob(x)
    prob.set_weights([w["prob.weight"].T])
    return keras.Model(inp, x, name=name)
