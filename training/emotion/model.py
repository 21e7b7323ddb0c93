"""Compact residual separable-conv CNN (mini-Xception style) for 48x48 grayscale faces.

Output is logits (no softmax): the runtime applies softmax(logits / temperature).
"""

from __future__ import annotations

import keras
from keras import layers


def _sep_block(x, filters: int, name: str):
    shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False, name=f"{name}_skip")(x)
    shortcut = layers.BatchNormalization(name=f"{name}_skip_bn")(shortcut)
    for i in range(2):
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        if i == 0:
            x = layers.ReLU(name=f"{name}_relu{i}")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    x = layers.Add(name=f"{name}_add")([x, shortcut])
    return layers.ReLU(name=f"{name}_out")(x)


def build_model(num_classes: int = 7, size: int = 48, width: int = 32, dropout: float = 0.3) -> keras.Model:
    inp = keras.Input((size, size, 1), name="face")
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name="stem_conv0")(inp)
    x = layers.BatchNormalization(name="stem_bn0")(x)
    x = layers.ReLU(name="stem_relu0")(x)
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name="stem_conv1")(x)
    x = layers.BatchNormalization(name="stem_bn1")(x)
    x = layers.ReLU(name="stem_relu1")(x)
    for i, mult in enumerate((2, 4, 8)):  # 48 -> 24 -> 12 -> 6
        x = _sep_block(x, width * mult, f"block{i + 1}")
    x = layers.SeparableConv2D(width * 8, 3, padding="same", use_bias=False, name="head_sep")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.ReLU(name="head_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    out = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inp, out, name="emotion_cnn")


def build_vgg(
    num_classes: int = 7,
    size: int = 48,
    width: int = 16,
    dropout: float = 0.3,
    channels: tuple[int, ...] | None = None,
    convs: tuple[int, ...] = (1, 2, 2, 2),
) -> keras.Model:
    """Plain small VGG: regular 3x3 convs, which oneDNN trains far faster per FLOP on CPU than
    depthwise ones (the training machine is one shared core).

    Four stages at 48 / 24 / 12 / 6 px. `channels` (one per stage) overrides `width` x (1, 2, 4, 8);
    `convs` is the number of 3x3 conv-BN-ReLU layers per stage.
    """
    channels = tuple(channels) if channels else tuple(width * m for m in (1, 2, 4, 8))
    inp = keras.Input((size, size, 1), name="face")
    x = inp
    for stage, (ch, n_conv) in enumerate(zip(channels, convs)):  # 48 -> 24 -> 12 -> 6
        for i in range(n_conv):
            x = layers.Conv2D(ch, 3, padding="same", use_bias=False, name=f"s{stage}_conv{i}")(x)
            x = layers.BatchNormalization(name=f"s{stage}_bn{i}")(x)
            x = layers.ReLU(name=f"s{stage}_relu{i}")(x)
        if stage < 3:
            x = layers.MaxPooling2D(2, name=f"s{stage}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    out = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inp, out, name="emotion_vgg")
