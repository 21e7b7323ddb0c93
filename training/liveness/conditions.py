"""Synthetic capture conditions for evaluation: what a kiosk camera meets that NUAA's office did not.

Each condition is a whole-frame transform with one fixed setting per recording (a visit happens in
one light), applied before the kiosk's own face mesh runs, so detection, tracking, capture quality
and the liveness crop all see the degraded frame.

    as_recorded   the frame unchanged
    backlight     bright window behind the person: the camera exposes for the background, the face
                  falls into shadow, the background burns out
    low_light     dark room: exposure x0.2-0.3, lifted sensor noise
    overexposure  light straight on the face: exposure x2.0-2.6, clipped
    motion_blur   a moving head: a 9-15 px linear blur at a random angle
    far           small face: the frame scaled to 45-55 % inside a 320x240 frame (edges replicated)
    jpeg_noise    cheap webcam: sensor noise sigma 5-8 and JPEG quality 25-40
Glasses are not synthesised: NUAA's file names say who wears them (field GG).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import cv2
import numpy as np

CONDITIONS = ("as_recorded", "backlight", "low_light", "overexposure", "motion_blur", "far", "jpeg_noise")


def _jpeg(img: np.ndarray, q: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(q)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _face_mask(shape, bbox, feather: float) -> np.ndarray:
    """Soft ellipse over the face box (1 inside, 0 outside), float32 (h, w, 1)."""
    h, w = shape[:2]
    x, y, bw, bh = bbox
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (int(x + bw / 2), int(y + bh / 2)), (int(bw * 0.62), int(bh * 0.75)), 0, 0, 360, 1.0, -1)
    k = max(3, int(feather * bw) | 1)
    return cv2.GaussianBlur(mask, (k, k), 0)[..., None]


def far_points(xy: np.ndarray, shape: tuple, scale: float) -> np.ndarray:
    """Where points (x, y) of a frame land in its `far` version: scaled by the far transform's
    `scale` about the frame centre, as that transform places the shrunken frame."""
    h, w = shape[:2]
    return xy * scale + [(w - int(w * scale)) // 2, (h - int(h * scale)) // 2]


def make(condition: str, key: str, seed: int = 2024) -> Callable[[np.ndarray, tuple], np.ndarray]:
    """The transform for one recording (`key` fixes its random setting): f(frame_bgr, face_bbox)."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r} (known: {', '.join(CONDITIONS)})")
    rng = np.random.default_rng(seed + zlib.crc32(f"{condition}/{key}".encode()))
    if condition == "as_recorded":
        return lambda img, bbox: img
    if condition == "backlight":
        face_gain, glow = rng.uniform(0.3, 0.45), rng.uniform(110, 160)

        def backlight(img, bbox):
            x = img.astype(np.float32)
            m = _face_mask(img.shape, bbox, 0.35)
            dark = x * face_gain
            bright = np.minimum(255.0, x * 0.9 + glow)
            return np.clip(m * dark + (1 - m) * bright, 0, 255).astype(np.uint8)

        return backlight
    if condition == "low_light":
        gain, sigma = rng.uniform(0.2, 0.3), rng.uniform(3, 5)
        noise_seed = int(rng.integers(1 << 31))
        counter = iter(range(1 << 30))

        def low_light(img, bbox):
            r = np.random.default_rng(noise_seed + next(counter))
            x = img.astype(np.float32) * gain + r.normal(0, sigma, img.shape)
            return np.clip(x, 0, 255).astype(np.uint8)

        return low_light
    if condition == "overexposure":
        gain = rng.uniform(2.0, 2.6)
        return lambda img, bbox: np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    if condition == "motion_blur":
        k = int(rng.integers(9, 16))
        kern = np.zeros((k, k), np.float32)
        kern[k // 2] = 1.0
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
        kern = cv2.warpAffine(kern, rot, (k, k))
        kern /= max(float(kern.sum()), 1e-6)
        return lambda img, bbox: cv2.filter2D(img, -1, kern)
    if condition == "far":
        f = rng.uniform(0.45, 0.55)

        def far(img, bbox):
            h, w = img.shape[:2]
            small = cv2.resize(img, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)
            top, left = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
            return cv2.copyMakeBorder(
                small, top, h - small.shape[0] - top, left, w - small.shape[1] - left, cv2.BORDER_REPLICATE
            )

        far.scale = f  # type: ignore[attr-defined]  # read by the studies to move cached landmarks (far_points)
        return far
    # jpeg_noise
    sigma, q = rng.uniform(5, 8), int(rng.integers(25, 41))
    noise_seed = int(rng.integers(1 << 31))
    counter2 = iter(range(1 << 30))

    def jpeg_noise(img, bbox):
        r = np.random.default_rng(noise_seed + next(counter2))
        x = np.clip(img.astype(np.float32) + r.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)
        return _jpeg(x, q)

    return jpeg_noise
