"""Augmentations on whole frames (before the crop, so bezels and glare land in the model's context).

screen_replay(): makes a *screen replay attack* out of a real frame, for the attack type NUAA lacks:
  the frame is shown on a display (pixel grid / RGB sub-pixel stripes at a random pitch and angle ->
  moire after re-sampling, display gamma / white point / black level / saturation shifts), inside a
  dark bezel on a background, re-photographed (slight perspective, glare, blur, noise, JPEG).
  Returns the new frame and the face box moved with it.
light(): the light a kiosk meets and an office does not - a dark room (under-exposed, then lifted by the
  camera's auto-gain, which lifts the noise too), a window behind the person (face in shadow, background
  burnt out), light from one side. Applied to live and attack frames alike, so darkness never becomes a
  spoof cue; deliberately NOT the generator of training/liveness/conditions.py (different masks and
  ranges), so the evaluation's conditions stay unseen in form.
capture(): what any camera does to any frame - blur (defocus / motion), exposure (bright light,
  dark room, under-exposed dark skin), colour temperature, noise, JPEG. Applied to every class alike,
  so none of these becomes a spoof cue by itself.
"""

from __future__ import annotations

import cv2
import numpy as np


def _jpeg(img, q):
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(q)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _pixel_grid(h, w, rng, fine=False):
    """Multiplicative display-pixel mask: RGB sub-pixel stripes and dark gaps, random pitch and angle.

    fine=True: a high-density panel seen from further away (pitch and depth outside the training
    ranges) - used only for the out-of-distribution validation kind "screen_fine".
    """
    pitch = rng.uniform(1.0, 1.5) if fine else rng.uniform(1.6, 4.5)  # camera pixels per display pixel
    angle = np.deg2rad(rng.uniform(-12, 12))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xx * np.cos(angle) + yy * np.sin(angle)) / pitch
    v = (-xx * np.sin(angle) + yy * np.cos(angle)) / pitch
    depth = rng.uniform(0.04, 0.12) if fine else rng.uniform(0.15, 0.5)
    gap = 1 - depth * (0.5 + 0.5 * np.cos(2 * np.pi * v)) ** 4  # dark rows between pixels
    mask = np.empty((h, w, 3), np.float32)
    for c, phase in enumerate((2 / 3, 1 / 3, 0.0)):  # BGR order: stripes R, G, B left to right
        stripe = 0.5 + 0.5 * np.cos(2 * np.pi * (u - phase))
        mask[..., c] = (1 - depth) + depth * stripe
    return mask * gap[..., None]


def _display_colour(img, rng):
    x = img.astype(np.float32) / 255.0
    x = x ** rng.uniform(0.7, 1.4)  # display / camera gamma mismatch
    white = np.array([rng.uniform(0.9, 1.15), rng.uniform(0.92, 1.05), rng.uniform(0.8, 1.05)])
    x = x * white  # white point (blue-ish panels)
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * rng.uniform(0.6, 1.4)  # gamut: saturation shift
    black = rng.uniform(0.0, 0.12)
    x = black + (1 - black) * x * rng.uniform(0.75, 1.1)  # lifted blacks, lower contrast
    return x


def _glare(h, w, rng):
    """Additive specular reflection: an elongated bright blob somewhere on the screen."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    sx, sy = rng.uniform(0.08, 0.5) * w, rng.uniform(0.05, 0.3) * h
    a = rng.uniform(0, np.pi)
    u = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)
    v = -(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a)
    return rng.uniform(0.1, 0.6) * np.exp(-((u / sx) ** 2) - (v / sy) ** 2)


def screen_replay(frame, bbox, rng, background=None, fine=False):
    h, w = frame.shape[:2]
    # 1. The screen shows the frame, sampled on its pixel grid (aliasing = moire when re-captured).
    shown = frame
    if not fine and rng.random() < 0.7:
        f = rng.uniform(0.35, 0.8)
        small = cv2.resize(frame, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        shown = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    x = _display_colour(shown, rng)
    x = x * _pixel_grid(h, w, rng, fine)
    if rng.random() < 0.6:
        x = x + _glare(h, w, rng)[..., None]
    screen = np.clip(x * 255, 0, 255).astype(np.uint8)
    # 2. The screen with its bezel sits in the camera frame, smaller, slightly turned.
    if background is None:
        background = np.full_like(frame, rng.integers(30, 200))
    bg = cv2.GaussianBlur(background, (0, 0), rng.uniform(1, 4))
    s = rng.uniform(0.75, 1.0)
    bezel = int(rng.uniform(0.0, 0.08) * w * s)
    sw, sh = w * s, h * s
    ox, oy = rng.uniform(0, w - sw + 1e-3), rng.uniform(0, h - sh + 1e-3)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jit = rng.uniform(-0.03, 0.03, (4, 2)) * [sw, sh]
    dst = (np.float32([[ox, oy], [ox + sw, oy], [ox + sw, oy + sh], [ox, oy + sh]]) + jit).astype(np.float32)
    M = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(screen, M, (w, h))
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), M, (w, h))
    frame_mask = cv2.dilate(inside, np.ones((2 * bezel + 1, 2 * bezel + 1), np.uint8)) if bezel else inside
    out = bg.copy()
    out[frame_mask > 0] = rng.integers(0, 40)  # dark bezel
    out[inside > 0] = warped[inside > 0]
    # 3. The camera sees it.
    out = capture(out, rng, strength=0.7)
    corners = np.float32(
        [
            [bbox[0], bbox[1]],
            [bbox[0] + bbox[2], bbox[1]],
            [bbox[0] + bbox[2], bbox[1] + bbox[3]],
            [bbox[0], bbox[1] + bbox[3]],
        ]
    )
    moved = cv2.perspectiveTransform(corners[None], M)[0]
    x0, y0 = moved.min(axis=0)
    x1, y1 = moved.max(axis=0)
    return out, (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def capture(img, rng, strength=1.0, hard=False):
    """hard: also what a far or moving person and a cheap camera give (train.py --hard-capture):
    fewer pixels on the face (the frame sampled down and back up), longer motion blur, stronger JPEG."""
    out = img.astype(np.float32)
    if hard and rng.random() < 0.3 * strength:  # far from the camera: fewer pixels on the face
        h, w = out.shape[:2]
        f = rng.uniform(0.35, 0.75)
        small = cv2.resize(out, (max(int(w * f), 8), max(int(h * f), 8)), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5 * strength:  # exposure: bright light / dark room / dark skin under-exposed
        gain = np.exp(rng.uniform(-0.9, 0.6))
        out = 255 * (np.clip(out / 255 * gain, 0, 1) ** rng.uniform(0.8, 1.25))
    if rng.random() < 0.3 * strength:  # colour temperature
        out = out * np.array([rng.uniform(0.8, 1.2), 1.0, rng.uniform(0.8, 1.2)])
    if rng.random() < 0.35 * strength:  # blur: defocus or motion
        if rng.random() < 0.5:
            out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 2.0))
        else:
            k = int(rng.integers(3, 14 if hard else 9))
            kern = np.zeros((k, k), np.float32)
            kern[k // 2] = 1.0 / k
            rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0)
            kern = cv2.warpAffine(kern, rot, (k, k))
            out = cv2.filter2D(out, -1, kern / max(kern.sum(), 1e-6))
    if rng.random() < 0.4 * strength:
        out = out + rng.normal(0, rng.uniform(2, 8), out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.5 * strength:
        out = _jpeg(out, rng.integers(30 if hard else 40, 95))
    return out


def light(img, bbox, rng):
    """One random bad-light setting for this frame (see module doc); uint8 BGR out."""
    x = img.astype(np.float32)
    h, w = img.shape[:2]
    kind = rng.choice(("dark", "backlight", "side"), p=(0.45, 0.35, 0.2))
    if kind == "dark":
        gain = rng.uniform(0.12, 0.45)
        x = x * gain + rng.normal(0, rng.uniform(1.0, 4.0), x.shape)  # read noise before the camera's gain
        if rng.random() < 0.6:  # auto-gain lifts the picture part way back, noise and banding with it
            x = np.round(np.clip(x, 0, 255)) * rng.uniform(1.0, 0.8 / gain)
    elif kind == "backlight":
        bx, by, bw, bh = (float(v) for v in bbox)
        cx, cy = bx + bw / 2 + rng.uniform(-0.1, 0.1) * bw, by + bh / 2 + rng.uniform(-0.1, 0.2) * bh
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r = rng.uniform(0.7, 1.3)  # the shadowed body: a soft blob around the head and shoulders
        blob = np.exp(-(((xx - cx) / (r * bw)) ** 2 + ((yy - cy) / (r * 1.3 * bh)) ** 2))[..., None]
        shade = rng.uniform(0.22, 0.55)
        glow = rng.uniform(70, 175)
        bright = np.minimum(255.0, x * rng.uniform(0.8, 1.1) + glow)
        x = blob * x * shade + (1 - blob) * bright
        x = x + rng.normal(0, rng.uniform(0.5, 3.0), x.shape)
    else:  # light from one side: a gain ramp across the frame
        lo, hi = rng.uniform(0.25, 0.6), rng.uniform(0.9, 1.4)
        ramp = np.linspace(lo, hi, w, dtype=np.float32)
        if rng.random() < 0.5:
            ramp = ramp[::-1]
        x = x * ramp[None, :, None]
    return np.clip(x, 0, 255).astype(np.uint8)
