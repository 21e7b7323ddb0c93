"""Head pose by solvePnP: exact on synthetic projections, sensible on real photos and rotations."""

import cv2
import numpy as np
import pytest

from kiosk.vision.head_pose import (
    LANDMARK_IDS,
    MODEL_POINTS,
    HeadPoseEstimator,
    angles_from_rotation,
    camera_matrix,
    rotation_from_angles,
)

OBJECT = np.array([MODEL_POINTS[i] for i in LANDMARK_IDS], dtype=np.float64)


@pytest.mark.parametrize(
    "ypr", [(0, 0, 0), (30, 0, 0), (-30, 0, 0), (0, 20, 0), (0, -20, 0), (-25, 10, 5), (15, -12, -8), (40, 25, 15)]
)
def test_angles_round_trip(ypr):
    assert np.allclose(angles_from_rotation(rotation_from_angles(*ypr)), ypr, atol=1e-6)


@pytest.mark.parametrize("ypr", [(0, 0, 0), (30, 0, 0), (-30, 0, 0), (0, 20, 0), (0, -20, 0), (20, -15, 10)])
def test_recovers_synthetic_rotations_of_the_face_model(ypr):
    est = HeadPoseEstimator(hfov_deg=60)
    k = camera_matrix(640, 480, 60)
    rvec, _ = cv2.Rodrigues(rotation_from_angles(*ypr))
    pts, _ = cv2.projectPoints(OBJECT, rvec, np.array([0.0, 0.0, 550.0]), k, None)
    got = est.estimate_points(pts.reshape(-1, 2), (640, 480))
    assert np.allclose(got, ypr, atol=0.5), got


def test_a_face_off_centre_looking_at_the_camera_is_frontal():
    est = HeadPoseEstimator(hfov_deg=60)
    k = camera_matrix(640, 480, 60)
    pos = np.array([120.0, -90.0, 600.0])
    from kiosk.vision.head_pose import looking_at_camera

    rvec, _ = cv2.Rodrigues(looking_at_camera(pos))
    pts, _ = cv2.projectPoints(OBJECT, rvec, pos, k, None)
    assert np.allclose(est.estimate_points(pts.reshape(-1, 2), (640, 480))[:2], (0, 0), atol=0.5)


def test_camera_matrix_from_field_of_view():
    k = camera_matrix(640, 480, 90)
    assert k[0, 0] == pytest.approx(320.0) and k[0, 2] == 320 and k[1, 2] == 240


@pytest.fixture(scope="module")
def real_faces(photos):
    from kiosk.vision.face import FaceMeshDetector

    out = {}
    with FaceMeshDetector(max_faces=2, static_image_mode=True) as det:
        for name in ("business_person.png", "two_faces.jpg"):
            img = cv2.imread(str(photos / name))
            out[name] = (det.detect(img), det.detect(cv2.flip(img, 1)))
    return out


def test_real_photos_of_people_facing_the_camera(real_faces):
    est = HeadPoseEstimator()
    faces, _ = real_faces["business_person.png"]
    assert len(faces) == 1
    yaw, pitch, roll = est.estimate(faces[0])
    assert abs(yaw) < 15 and abs(pitch) < 25 and abs(roll) < 15
    assert len(real_faces["two_faces.jpg"][0]) == 2


def test_mirroring_a_photo_mirrors_yaw_and_roll(real_faces):
    est = HeadPoseEstimator()
    for name, (faces, flipped) in real_faces.items():

        def by_x(fs):
            return sorted(fs, key=lambda f: f.center[0])

        for a, b in zip(by_x(faces), reversed(by_x(flipped))):
            ya, pa, ra = est.estimate(a)
            yb, pb, rb = est.estimate(b)
            assert ya == pytest.approx(-yb, abs=5) and ra == pytest.approx(-rb, abs=5), name
            assert pa == pytest.approx(pb, abs=5), name


@pytest.mark.parametrize("yaw, pitch", [(25, 0), (-25, 0), (0, 25), (0, -25), (20, 15)])
def test_rotating_real_landmarks_in_3d_moves_the_estimate_the_same_way(real_faces, yaw, pitch):
    """Rotate a real face mesh (MediaPipe's own x, y, z) and check the estimate follows."""
    est = HeadPoseEstimator()
    face = real_faces["business_person.png"][0][0]
    base = np.array(est.estimate(face)[:2])
    pts = face.landmarks.astype(np.float64)
    centre = pts.mean(axis=0)
    rotated = (pts - centre) @ rotation_from_angles(yaw, pitch, 0).T + centre
    got = np.array(est.estimate_points(rotated[list(LANDMARK_IDS), :2], face.image_size)[:2]) - base
    want = np.array([yaw, pitch], dtype=float)
    for g, w in zip(got, want):
        if w == 0:
            assert abs(g) < 8
        else:
            # Angles do not add exactly when the base pose is not frontal; direction and size must hold.
            assert np.sign(g) == np.sign(w) and 0.6 * abs(w) <= abs(g) <= 1.5 * abs(w), (got, want)
