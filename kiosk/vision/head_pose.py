"""Head pose from face-mesh landmarks with cv2.solvePnP.

Angles are in degrees, in the person's own frame, on the unmirrored camera image:
yaw > 0 when the person turns to their left (the nose moves to the image's right),
pitch > 0 when they look up, roll > 0 when the eye line turns clockwise in the image.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# MediaPipe's canonical face model (canonical_face_model.obj, centimetres, y up, z towards the
# viewer) for a few stable landmarks, converted to camera axes (x right, y down, z away from the
# camera). Using the mesh's own geometry keeps a frontal face at yaw = pitch = 0.
_CANONICAL_CM = {
    1: (0.0, -1.126865, 7.475604),  # nose tip
    152: (0.0, -9.403378, 4.264492),  # chin
    33: (-4.445859, 2.663991, 3.173422),  # outer eye corner, image left
    263: (4.445859, 2.663991, 3.173422),  # outer eye corner, image right
    61: (-2.456206, -4.342621, 4.283884),  # mouth corner, image left
    291: (2.456206, -4.342621, 4.283884),  # mouth corner, image right
    6: (0.0, 2.473255, 5.788627),  # nasal bridge between the eyes
    10: (0.0, 8.261778, 4.481535),  # top of the forehead
}
MODEL_POINTS = {i: (x, -y, -z) for i, (x, y, z) in _CANONICAL_CM.items()}
LANDMARK_IDS = tuple(MODEL_POINTS)
_OBJECT = np.array([MODEL_POINTS[i] for i in LANDMARK_IDS], dtype=np.float64)


def camera_matrix(width: int, height: int, hfov_deg: float = 60.0) -> np.ndarray:
    """Pinhole intrinsics from the horizontal field of view; principal point at the centre."""
    f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]], dtype=np.float64)


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_from_angles(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Head rotation in camera axes: roll about the face's axis, then pitch, then yaw."""
    return _ry(math.radians(yaw)) @ _rx(math.radians(pitch)) @ _rz(math.radians(roll))


def angles_from_rotation(rot: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll (degrees) of a head rotation given in camera axes (inverse of the above)."""
    nose = rot @ np.array([0.0, 0.0, -1.0])  # the direction the face points (at the camera at rest)
    yaw = math.atan2(nose[0], -nose[2])
    pitch = math.atan2(-nose[1], math.hypot(nose[0], nose[2]))
    rest = _rx(pitch).T @ _ry(yaw).T @ rot  # what is left is the roll about the nose axis
    roll = math.atan2(rest[0, 1], rest[0, 0])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def looking_at_camera(position: np.ndarray) -> np.ndarray:
    """The rotation of a head at `position` (camera axes) that faces the camera.

    Angles are measured from this, not from the optical axis: a face high in the picture that
    looks at the camera is at pitch 0, not looking down by its angle off the axis.
    """
    u = np.asarray(position, dtype=np.float64)
    u = u / np.linalg.norm(u)
    yaw = math.degrees(math.atan2(-u[0], u[2]))
    pitch = math.degrees(math.asin(float(np.clip(u[1], -1.0, 1.0))))
    return rotation_from_angles(yaw, pitch, 0.0)


# A webcam's lens distortion is small next to landmark noise; zeros say "none" (as None did).
_NO_DISTORTION = np.zeros(4, dtype=np.float64)


class HeadPoseEstimator:
    def __init__(self, hfov_deg: float = 60.0):
        self.hfov_deg = hfov_deg
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def estimate_points(self, image_points: np.ndarray, image_size: tuple[int, int]):
        """Pose from the 2D pixel positions of LANDMARK_IDS (in that order)."""
        k = self._cache.get(image_size)
        if k is None:
            k = self._cache[image_size] = camera_matrix(*image_size, self.hfov_deg)
        pts = np.asarray(image_points, dtype=np.float64).reshape(-1, 2)
        ok, rvec, tvec = cv2.solvePnP(_OBJECT, pts, k, _NO_DISTORTION, flags=cv2.SOLVEPNP_SQPNP)
        if not ok:
            return None
        # Refine from the SQPnP solution; cheap and reduces jitter.
        rvec, tvec = cv2.solvePnPRefineLM(_OBJECT, pts, k, _NO_DISTORTION, rvec, tvec)
        rot, _ = cv2.Rodrigues(rvec)
        return angles_from_rotation(looking_at_camera(tvec.ravel()).T @ rot)

    def estimate(self, face) -> tuple[float, float, float] | None:
        """Pose of a kiosk.vision.face.Face."""
        pts = face.landmarks[list(LANDMARK_IDS), :2]
        return self.estimate_points(pts, face.image_size)
