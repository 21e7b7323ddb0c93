"""Photometric and geometric augmentation for 48x48 grayscale face crops (numpy + OpenCV).

Why these: the kiosk sees webcam faces aligned by MediaPipe (small residual rotation / scale /
shift errors), in all kinds of light, often soft, noisy or JPEG-compressed, sometimes partly
occluded (glasses, hair, hands). FER2013 itself is web-scraped and varies in all of these too.
"""

from __future__ import annotations

import cv2
import numpy as np


def _affine(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = img.shape[0]
    angle = rng.uniform(-12, 12)
    scale = rng.uniform(0.88, 1.12)
    tx, ty = rng.uniform(-0.08, 0.08, size=2) * size
    m = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), angle, scale)
    m[:, 2] += (tx, ty)
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = img.astype(np.float32) / 255.0
    if rng.random() < 0.5:  # gamma: non-linear lighting that per-image standardisation does not undo
        x = np.power(x, rng.uniform(0.6, 1.6))
    if rng.random() < 0.3:  # side light: a horizontal brightness ramp
        ramp = np.linspace(-1, 1, x.shape[1], dtype=np.float32)[None, :] * rng.uniform(-0.25, 0.25)
        x = x + ramp
    x = x * rng.uniform(0.7, 1.3) + rng.uniform(-0.15, 0.15)
    return np.clip(x * 255.0, 0, 255).astype(np.uint8)


def _degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = img.shape[0]
    r = rng.random()
    if r < 0.2:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.2))
    elif r < 0.35:  # low-resolution face far from the camera
        small = int(rng.integers(20, 36))
        img = cv2.resize(
            cv2.resize(img, (small, small), interpolation=cv2.INTER_AREA), (size, size), interpolation=cv2.INTER_LINEAR
        )
    if rng.random() < 0.2:
        img = np.clip(img + rng.normal(0, rng.uniform(2, 8), img.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.25:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return img


def _erase(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = img.shape[0]
    h, w = (rng.uniform(0.15, 0.35, size=2) * size).astype(int)
    y, x = rng.integers(0, size - h), rng.integers(0, size - w)
    img = img.copy()
    img[y : y + h, x : x + w] = rng.integers(0, 256)
    return img


def augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random variant of a (48, 48) uint8 face."""
    if rng.random() < 0.5:
        img = img[:, ::-1]
    img = _affine(np.ascontiguousarray(img), rng)
    img = _photometric(img, rng)
    img = _degrade(img, rng)
    if rng.random() < 0.2:
        img = _erase(img, rng)
    return img
