"""Level-1 liveness: the shipped model, its crop, and the active cues (runtime venv only)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from kiosk.vision.active_cues import BlinkDetector, ParallaxCue, eye_aspect_ratio
from kiosk.vision.face import Face
from kiosk.vision.liveness import LivenessModel, crop_box, crop_for_model, detector_box_from_mesh

from conftest import need_data

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "liveness.tflite"
DATASETS = Path(os.environ.get("KIOSK_DATASETS", ROOT.parent / "shared" / "datasets"))
# Subjects of the model's validation split (training/liveness/data.py VAL_SUBJECTS): never trained on.
HELD_OUT = ("0003", "0006", "0008")


@pytest.fixture(scope="module")
def model():
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} not built (training/liveness/README.md)")
    return LivenessModel(MODEL)


@pytest.fixture(scope="module")
def mesh():
    from kiosk.vision.face import FaceMeshDetector

    with FaceMeshDetector(max_faces=2, static_image_mode=True) as det:
        yield det


def need(path: Path) -> Path:
    return need_data(path)


# --- model and metadata -------------------------------------------------------------------------

def test_model_loads_with_its_metadata(model):
    meta = json.loads(MODEL.with_suffix(".json").read_text())
    assert 0.0 < model.threshold < 1.0
    assert model.size == (meta["input"]["width"], meta["input"]["height"]) == (80, 80)
    assert meta["input"]["color_order"] == "BGR" and model.crop_scale == meta["input"]["crop_scale"]
    assert model.size_bytes < 2 * 1024 * 1024
    for key in ("live", "print", "screen"):
        assert 0.0 <= meta["validated_recall"][key] <= 1.0


def test_score_is_a_probability(model):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    face = Face(np.zeros((478, 3), np.float32), (110, 60, 100, 110), (320, 240))
    s = model.score(frame, face)
    assert 0.0 <= s <= 1.0
    assert model.is_real(model.threshold) and not model.is_real(model.threshold - 1e-3)


def _frames(kind: str, subject: str, n: int) -> list[Path]:
    files = sorted(need(DATASETS / "nuaa_train" / kind / subject).glob("*.jpg"))
    return [files[i] for i in np.linspace(0, len(files) - 1, n).astype(int)]


def test_held_out_real_scores_above_print(model, mesh):
    import cv2

    need(DATASETS / "nuaa_train")
    scores = {"real": [], "print": []}
    for kind in scores:
        for subject in HELD_OUT:
            for f in _frames(kind, subject, 6):
                img = cv2.imread(str(f))
                faces = mesh.detect(img)
                if faces:
                    scores[kind].append(model.score(img, faces[0]))
    real, spoof = np.array(scores["real"]), np.array(scores["print"])
    assert len(real) >= 12 and len(spoof) >= 12
    assert real.mean() > spoof.mean() + 0.3
    # a floor, far below the card's figures: fails only if the model or its crop is broken
    assert np.mean(real >= model.threshold) >= 0.75
    assert np.mean(spoof < model.threshold) >= 0.75


def test_shared_photos_end_to_end(model, mesh):
    import cv2

    photos = need(DATASETS / "photos")
    seen = 0
    for name in ("business_person.png", "two_faces.jpg"):
        img = cv2.imread(str(photos / name))
        for face in mesh.detect(img):
            crop = model.crop(img, face)
            assert crop.shape == (80, 80, 3) and crop.dtype == np.uint8
            s = model.score(img, face)
            assert np.isfinite(s) and 0.0 <= s <= 1.0
            seen += 1
    assert seen >= 2


# --- crop geometry ------------------------------------------------------------------------------

def test_crop_box_centred_when_it_fits():
    x0, y0, x1, y1 = crop_box((640, 480), (300, 220, 40, 40), 2.7)
    assert (x1 - x0, y1 - y0) == (108, 108)
    assert abs((x0 + x1) / 2 - 320) <= 1 and abs((y0 + y1) / 2 - 240) <= 1


def test_crop_box_shifted_inside_not_cut_at_the_edge():
    x0, y0, x1, y1 = crop_box((640, 480), (0, 0, 40, 40), 2.7)
    assert (x0, y0) == (0, 0) and (x1, y1) == (108, 108)
    x0, y0, x1, y1 = crop_box((640, 480), (600, 440, 40, 40), 2.7)
    assert (x1, y1) == (640, 480) and x1 - x0 == 108


def test_crop_scale_lowered_for_a_close_face():
    # 2.7 x 300 px does not fit in 480 px: the scale drops to (480-1)/300, as in the original code
    x0, y0, x1, y1 = crop_box((640, 480), (170, 90, 300, 300), 2.7)
    assert 0 <= y0 and y1 <= 480 and y1 - y0 >= 477 and x1 - x0 == y1 - y0


def test_crop_for_model_content_and_size():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[200:280, 280:360] = (0, 0, 255)  # red (BGR) square where the crop must be
    out = crop_for_model(frame, (300, 220, 40, 40), 2.0, 80)
    assert out.shape == (80, 80, 3)
    assert (out[..., 2] > 200).all() and (out[..., 0] < 50).all()
    assert crop_for_model(frame, (300, 220, 40, 40), 2.0, (64, 48)).shape == (48, 64, 3)


def test_mesh_box_adjusted_towards_a_detector_box():
    x, y, w, h = detector_box_from_mesh((100, 100, 100, 100))
    assert w > 100 and h < 100 and y + h / 2 > 150  # wider, shorter, centre lower (see module doc)


# --- active cues --------------------------------------------------------------------------------

def test_blink_fires_once_on_a_dip():
    det = BlinkDetector()
    ears = [0.30] * 30 + [0.20, 0.09, 0.08, 0.12, 0.29] + [0.30] * 20
    fired = [det.update_ear(e) for e in ears]
    assert sum(fired) == 1 and fired.index(True) == 34


def test_blink_does_not_fire_on_open_eyes_or_jitter():
    det = BlinkDetector()
    rng = np.random.default_rng(1)
    assert not any(det.update_ear(0.3 + rng.normal(0, 0.01)) for _ in range(200))


def test_blink_threshold_follows_the_person():
    # narrow eyes: open 0.16, a blink dips to 0.06 - a fixed 0.2 threshold would call them closed
    det = BlinkDetector()
    ears = [0.16] * 30 + [0.06, 0.05, 0.16] + [0.16] * 5
    assert sum(det.update_ear(e) for e in ears) == 1


def test_long_eye_closure_is_not_a_blink():
    det = BlinkDetector(max_closed_frames=15)
    ears = [0.3] * 30 + [0.05] * 60 + [0.3] * 10
    assert not any(det.update_ear(e) for e in ears)


def _eye_face(open_ear: float) -> Face:
    pts = np.zeros((478, 3), np.float32)
    for idx, cx in (((33, 160, 158, 133, 153, 144), 100.0), ((362, 385, 387, 263, 373, 380), 200.0)):
        p1, p2, p3, p4, p5, p6 = idx
        pts[p1, :2], pts[p4, :2] = (cx - 20, 100), (cx + 20, 100)
        half = open_ear * 40 / 2
        pts[p2, :2], pts[p3, :2] = (cx - 7, 100 - half), (cx + 7, 100 - half)
        pts[p6, :2], pts[p5, :2] = (cx - 7, 100 + half), (cx + 7, 100 + half)
    return Face(pts, (80, 80, 140, 40), (320, 240))


def test_eye_aspect_ratio_geometry():
    assert eye_aspect_ratio(_eye_face(0.3)) == pytest.approx(0.3, abs=1e-4)
    assert eye_aspect_ratio(_eye_face(0.05)) == pytest.approx(0.05, abs=1e-4)


def _project(points: np.ndarray, yaw_deg: float, flat: bool) -> Face:
    """Pinhole view of a head (or of a flat print of it) turned by yaw about its vertical axis."""
    p = points.astype(np.float64) - points.mean(axis=0)
    iod = np.linalg.norm(p[33, :2] - p[263, :2])
    if flat:
        p[:, 2] = 0.0
    a = np.deg2rad(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    q = p @ rot.T
    z = q[:, 2] + 8 * iod
    xy = np.c_[q[:, 0] * 900 / z, q[:, 1] * 900 / z] + [320, 240]
    pts = np.c_[xy, q[:, 2]].astype(np.float32)
    x0, y0 = pts[:, :2].min(axis=0)
    x1, y1 = pts[:, :2].max(axis=0)
    return Face(pts, (int(x0), int(y0), int(x1 - x0), int(y1 - y0)), (640, 480))


def test_parallax_tells_a_turning_head_from_a_turning_photo(mesh):
    import cv2

    img = cv2.imread(str(need(DATASETS / "photos" / "business_person.png")))
    faces = mesh.detect(img)
    assert faces
    head = faces[0].landmarks  # MediaPipe's 3D mesh of a real face
    yaws = list(range(0, 21, 2)) + list(range(20, -21, -2))
    real, flat, still = ParallaxCue(), ParallaxCue(), ParallaxCue()
    for yaw in yaws:
        real.update(_project(head, yaw, flat=False))
        flat.update(_project(head, yaw, flat=True))
        still.update(_project(head, 0, flat=True))
    assert real.verdict is True and real.max_parallax > 0.15
    assert flat.verdict is False and flat.max_parallax < 0.02
    assert still.verdict is None  # no turn, no evidence either way
