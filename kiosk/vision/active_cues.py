"""Cheap active liveness cues from the face mesh the session already computes (no model, no Qt).

What they can and cannot tell
-----------------------------
- Blink (`BlinkDetector`): a completed close-open of both eyes. Defeats a still printed photo or a
  still image on a screen. Does NOT defeat a video replay (people blink in videos), nor a photo mask
  with the eyes cut out. Misses: people who do not blink within the window, eyes hidden by dark
  glasses or hair, some ptosis / eye conditions, very low light (landmarks jitter) - so it should be
  a bonus or a soft requirement, never the only way through (config `liveness.require_blink`).
- 3D parallax (`ParallaxCue`): when the head turns, the nose tip moves relative to the eyes, mouth
  corners and face outline in a way no flat object can: every point of a photo or a screen (however
  it is tilted, moved or scaled) maps to the next frame through one plane-to-plane homography; a
  real face's nose tip sits ~3 cm in front of that plane and leaves the homography by ~depth*sin(yaw).
  Defeats flat photos and still images moved, tilted or bent slightly in front of the camera.
  Does NOT defeat a video replay of a real person turning (the parallax is in the video), nor a
  3D mask. Needs the person to turn the head a little (~10 deg); with a perfectly still head it
  says "unknown", never "flat". A strongly bent (cylindrical) photo creates some parallax.
Both use the unmirrored pixel landmarks of kiosk.vision.face.Face.
"""

from __future__ import annotations

from collections import deque

import numpy as np

# MediaPipe face-mesh indices: p1 (outer corner), p2, p3 (upper lid), p4 (inner corner), p5, p6 (lower lid)
RIGHT_EYE = (33, 160, 158, 133, 153, 144)
LEFT_EYE = (362, 385, 387, 263, 373, 380)
NOSE_TIP = 1
# Points near one plane of the face: eye corners, mouth corners, outline at cheeks/chin/forehead
PLANAR_POINTS = (
    33,
    133,
    362,
    263,
    61,
    291,
    10,
    152,
    234,
    454,
    93,
    323,
    132,
    361,
    58,
    288,
    172,
    397,
    136,
    365,
    149,
    378,
    109,
    338,
    67,
    297,
    103,
    332,
    54,
    284,
)


def _eye_ratio(pts: np.ndarray, idx) -> float:
    p = pts[list(idx), :2].astype(np.float64)
    width = np.linalg.norm(p[0] - p[3])
    if width < 1e-6:
        return 0.0
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2.0 * width))


def eye_aspect_ratio(face) -> float:
    """Mean eye aspect ratio (lid distance / eye width) of both eyes; ~0.25-0.35 open, <0.15 closed."""
    pts = face.landmarks
    return 0.5 * (_eye_ratio(pts, RIGHT_EYE) + _eye_ratio(pts, LEFT_EYE))


class BlinkDetector:
    """Fires once per completed blink (eyes close, then reopen within max_closed_frames).

    Thresholds are relative to the person's own open-eye EAR (a high percentile of the recent
    history), so narrow eyes, glasses and camera angle do not need a global threshold:
    closed = EAR < close_ratio * open_ref, open again = EAR > open_ratio * open_ref.
    """

    def __init__(
        self,
        close_ratio: float = 0.65,
        open_ratio: float = 0.85,
        history: int = 90,
        warmup: int = 10,
        min_closed_frames: int = 1,
        max_closed_frames: int = 15,
    ):
        self.close_ratio, self.open_ratio = close_ratio, open_ratio
        self.warmup = warmup
        self.min_closed, self.max_closed = min_closed_frames, max_closed_frames
        self._ears: deque[float] = deque(maxlen=history)
        self._closed_for = 0
        self.blinks = 0

    @property
    def open_reference(self) -> float | None:
        if len(self._ears) < self.warmup:
            return None
        return float(np.percentile(self._ears, 90))

    def reset(self) -> None:
        self._ears.clear()
        self._closed_for = 0
        self.blinks = 0

    def update(self, face) -> bool:
        return self.update_ear(eye_aspect_ratio(face))

    def update_ear(self, ear: float) -> bool:
        """Same as update() on a precomputed EAR value (True when a blink has just completed)."""
        ref = self.open_reference
        self._ears.append(float(ear))
        if ref is None or ref <= 1e-6:
            return False
        if ear < self.close_ratio * ref:
            self._closed_for += 1
            return False
        if self._closed_for and ear > self.open_ratio * ref:
            closed, self._closed_for = self._closed_for, 0
            if self.min_closed <= closed <= self.max_closed:
                self.blinks += 1
                return True
        return False


def fit_homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares 3x3 homography src -> dst (N >= 4 points, normalised DLT)."""

    def norm(p):
        c = p.mean(axis=0)
        s = np.sqrt(2) / max(np.mean(np.linalg.norm(p - c, axis=1)), 1e-9)
        return np.array([[s, 0, -s * c[0]], [0, s, -s * c[1]], [0, 0, 1]])

    ts, td = norm(src), norm(dst)
    s = (np.c_[src, np.ones(len(src))] @ ts.T)[:, :2]
    d = (np.c_[dst, np.ones(len(dst))] @ td.T)[:, :2]
    rows = []
    for (x, y), (u, v) in zip(s, d, strict=False):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, _, vt = np.linalg.svd(np.asarray(rows))
    h = vt[-1].reshape(3, 3)
    h = np.linalg.inv(td) @ h @ ts
    return h / h[2, 2]


def _apply(h: np.ndarray, p: np.ndarray) -> np.ndarray:
    q = np.c_[p, np.ones(len(p))] @ h.T
    return q[:, :2] / q[:, 2:3]


def _jacobian(h: np.ndarray, p: np.ndarray) -> np.ndarray:
    x, y = p
    hx = h @ np.array([x, y, 1.0])
    return np.array([[(h[r, c] * hx[2] - hx[r] * h[2, c]) / hx[2] ** 2 for c in (0, 1)] for r in (0, 1)])


class ParallaxCue:
    """Does the face move like a 3D head (nose parallax) or like a flat picture?

    Each frame is compared with a reference frame (the first one after reset()): a homography is
    fitted on PLANAR_POINTS, and the nose tip's distance from where that homography puts it,
    divided by the inter-ocular distance, is the parallax. `motion` is how far the planar points
    turned out of the image plane (0 = not at all; ~0.05 for a 10 deg turn seen from 8 face widths)
    - without such a turn there is nothing to judge, so a still or only sliding picture gets `None`,
    never `False`. Why min_motion = 0.05: a synthetic MediaPipe head turning in yaw shows parallax
    ~2.1x its motion, so at 0.04 a real face would clear parallax_3d by only 4 % (a shallower nose
    could be called flat); at 0.05 the margin is ~30 %. On NUAA that costs 6 of 29 "flat" prints
    (training/liveness/report/active_cues.json) and still calls no live recording flat.
    `verdict` is True (3D seen), False (moved enough, stayed flat) or None (not enough motion yet).
    """

    def __init__(self, parallax_3d: float = 0.08, min_motion: float = 0.05, flat_frames: int = 5):
        self.parallax_3d = parallax_3d
        self.min_motion = min_motion
        self.flat_frames = flat_frames
        self.reset()

    def reset(self) -> None:
        self._ref: np.ndarray | None = None
        self.max_parallax = 0.0
        self.max_motion = 0.0
        self._flat_moving = 0

    @staticmethod
    def _points(face) -> tuple[np.ndarray, np.ndarray, float]:
        pts = face.landmarks[:, :2].astype(np.float64)
        iod = float(np.linalg.norm(pts[33] - pts[263]))
        return pts[list(PLANAR_POINTS)], pts[NOSE_TIP], max(iod, 1e-6)

    def measure(self, face) -> tuple[float, float]:
        """(parallax in inter-ocular distances, out-of-plane motion 0..1) against the reference."""
        planar, nose, iod = self._points(face)
        if self._ref is None:
            self._ref = np.vstack([planar, nose[None]])
            return 0.0, 0.0
        ref_planar, ref_nose = self._ref[:-1], self._ref[-1]
        h = fit_homography(ref_planar, planar)
        predicted = _apply(h, ref_nose[None])[0]
        parallax = float(np.linalg.norm(predicted - nose)) / iod
        # Out-of-plane turn of the planar points: anisotropy of the homography's local linear part
        # (a shift, zoom or in-plane roll keeps both singular values equal; a 20 deg yaw makes them
        # differ by 1 - cos 20 = 6 %).
        sv = np.linalg.svd(_jacobian(h, ref_planar.mean(axis=0)), compute_uv=False)
        motion = float(1.0 - sv[1] / max(sv[0], 1e-9))
        return parallax, motion

    def update(self, face) -> bool | None:
        parallax, motion = self.measure(face)
        self.max_parallax = max(self.max_parallax, parallax)
        self.max_motion = max(self.max_motion, motion)
        if motion >= self.min_motion and parallax < self.parallax_3d:
            self._flat_moving += 1
        return self.verdict

    @property
    def verdict(self) -> bool | None:
        if self.max_parallax >= self.parallax_3d:
            return True
        if self._flat_moving >= self.flat_frames:
            return False
        return None
