"""Feature-space augmentation for real rows: small in-plane rotation, aspect and shear changes,
landmark jitter and mirroring (covers MediaPipe handedness mistakes), then the kiosk normalisation."""

from __future__ import annotations

import numpy as np


def renormalise(xy: np.ndarray) -> np.ndarray:
    """(N, 21, 2) -> (N, 42) wrist-relative, divided by the max abs value (as hand_features)."""
    xy = xy - xy[:, :1, :]
    scale = np.abs(xy).reshape(len(xy), -1).max(axis=1).clip(1e-6)
    return (xy / scale[:, None, None]).reshape(len(xy), 42).astype(np.float32)


def augment(X: np.ndarray, rng: np.random.Generator, rotate_deg=15.0, mirror_p=0.25) -> np.ndarray:
    """rotate_deg: a scalar or one value per row (orientation-defined classes get less)."""
    n = len(X)
    xy = X.reshape(n, 21, 2).astype(np.float64)
    a = rng.uniform(-1, 1, n) * np.broadcast_to(rotate_deg, (n,)) * np.pi / 180
    c, s = np.cos(a), np.sin(a)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (n, 2, 2)
    shear = np.eye(2) + rng.normal(0, 0.05, (n, 2, 2))  # aspect + shear
    xy = np.einsum("nij,nkj->nki", rot @ shear, xy)
    xy += rng.normal(0, 1, (n, 1, 1)).clip(0, None) * rng.normal(0, 0.015, xy.shape)
    flip = rng.random(n) < mirror_p
    xy[flip, :, 0] *= -1
    return renormalise(xy)
