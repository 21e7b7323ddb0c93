"""Emotion model: FER-like alignment, calibrated probabilities, and recall on held-out FER2013 faces."""
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.session.catalogue import EMOTIONS
from kiosk.vision.emotion import EmotionClassifier, EmotionResult, align_face, standardize
from kiosk.vision.face import face_from_normalized
from kiosk.vision.tflite import ModelError

from conftest import need_data

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "emotion.tflite"


def _synthetic_face(angle_deg: float = 0.0, centre=(320.0, 240.0), eye_dist=80.0):
    """A Face whose only meaningful landmarks are the eye and mouth corners align_face uses."""
    pts = np.zeros((478, 3), dtype=np.float32)
    local = {33: (-55, 0), 133: (-25, 0), 362: (25, 0), 263: (55, 0), 61: (-30, 96), 291: (30, 96)}
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    for i, xy in local.items():
        pts[i, :2] = rot @ (np.array(xy, dtype=np.float64) * eye_dist / 80.0) + centre
    pts[[j for j in range(478) if j not in local], :2] = centre
    return face_from_normalized(pts / [640, 480, 640], 640, 480)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(np.float64).ravel(), b.astype(np.float64).ravel())[0, 1])


@pytest.mark.parametrize("size", [48, 64])
def test_align_face_returns_square_grayscale_uint8(size):
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    crop = align_face(frame, _synthetic_face(), size)
    assert crop.shape == (size, size) and crop.dtype == np.uint8


def test_align_face_puts_the_eyes_where_fer_has_them():
    """Dark dots drawn at the eye centres of a tilted synthetic face land at FER's eye positions."""
    frame = np.full((480, 640, 3), 255, np.uint8)
    face = _synthetic_face(angle_deg=20.0)
    for pair in ((33, 133), (362, 263)):
        x, y = face.landmarks[list(pair), :2].mean(axis=0)
        cv2.circle(frame, (int(round(x)), int(round(y))), 6, (0, 0, 0), -1)
    crop = align_face(frame, face, 48)
    ys, xs = np.nonzero(crop < 128)
    left, right = xs < 24, xs >= 24
    assert abs(ys.mean() - 0.345 * 48 + 0.5) < 1.5                   # eye line horizontal at FER height
    assert abs(ys[left].mean() - ys[right].mean()) < 1.0
    assert abs((xs[right].mean() - xs[left].mean()) - 0.375 * 48) < 2.0  # FER eye distance


def test_rotating_a_real_face_gives_nearly_the_same_aligned_crop(photos):
    from kiosk.vision.face import FaceMeshDetector

    img = cv2.imread(str(photos / "business_person.png"))
    h, w = img.shape[:2]
    rotated = cv2.warpAffine(img, cv2.getRotationMatrix2D((w / 2, h / 2), 15, 1.0), (w, h),
                             borderMode=cv2.BORDER_REFLECT)
    with FaceMeshDetector(max_faces=1, static_image_mode=True) as det:
        f0, f1 = det.detect(img), det.detect(rotated)
    assert f0 and f1, "MediaPipe found no face in the test photo"
    a, b = align_face(img, f0[0], 48), align_face(rotated, f1[0], 48)
    # The same box without de-rotation, to show the comparison can tell a tilted face apart.
    x, y, bw, bh = f1[0].bbox
    naive = cv2.resize(cv2.cvtColor(rotated[y:y + bh, x:x + bw], cv2.COLOR_BGR2GRAY), (48, 48))
    assert _corr(a, b) > 0.97
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 8
    assert _corr(a, b) > _corr(a, naive) + 0.05


def test_standardize_removes_brightness_and_contrast():
    g = np.random.default_rng(1).integers(40, 200, (48, 48)).astype(np.uint8)
    brighter = np.clip(np.round(g.astype(float) * 1.1 + 10), 0, 255).astype(np.uint8)
    assert np.abs(standardize(g) - standardize(brighter)).max() < 0.05
    assert np.isfinite(standardize(np.zeros((48, 48), np.uint8))).all()


@pytest.fixture(scope="module")
def classifier():
    return EmotionClassifier(MODEL)


def test_classifier_metadata_matches_the_model(classifier):
    assert classifier.labels == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert set(classifier.validated_recall) == set(classifier.labels)
    assert all(0.0 <= v <= 1.0 for v in classifier.validated_recall.values())
    assert classifier.temperature > 0
    assert set(EMOTIONS) >= set(classifier.labels)
    emoji, name, how = EMOTIONS["happy"]
    assert emoji and name == "Happy" and "smile" in how.lower()


def test_probabilities_sum_to_one_and_margin_is_top_minus_runner_up(classifier):
    rng = np.random.default_rng(2)
    for _ in range(5):
        r = classifier.classify_crop(rng.integers(0, 256, (48, 48), dtype=np.uint8))
        assert isinstance(r, EmotionResult)
        p = np.array(list(r.probs.values()))
        assert p.sum() == pytest.approx(1.0, abs=1e-5) and (p >= 0).all()
        top, second = np.sort(p)[::-1][:2]
        assert r.margin == pytest.approx(top - second, abs=1e-6)
        assert r.label == max(r.probs, key=r.probs.get)


def test_classify_a_real_photo(classifier, photos):
    from kiosk.vision.face import FaceMeshDetector

    img = cv2.imread(str(photos / "two_faces.jpg"))
    with FaceMeshDetector(max_faces=2, static_image_mode=True) as det:
        faces = det.detect(img)
    assert faces
    r = classifier.classify(img, faces[0])
    assert r.label in classifier.labels and sum(r.probs.values()) == pytest.approx(1.0, abs=1e-5)


def test_missing_model_raises_model_error(tmp_path):
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps({"labels": ["a"], "validated_recall": {}}))
    with pytest.raises(ModelError):
        EmotionClassifier(tmp_path / "missing.tflite", meta)


def test_bad_metadata_raises_model_error(tmp_path):
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps({"labels": ["a"]}))  # no validated_recall
    with pytest.raises(ModelError):
        EmotionClassifier(MODEL, meta)


def _load_split_module():
    spec = importlib.util.spec_from_file_location("emotion_split", ROOT / "training" / "emotion" / "split.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_recall_on_held_out_fer_faces(classifier, datasets):
    """A broken model, wrong preprocessing or a label-order mix-up fails these floors."""
    need_data(datasets / "fer2013_train.npz")
    split = _load_split_module()
    images, labels, classes = split.load_fer(datasets)
    val = split.split_indices(images, labels)["val"]
    rng = np.random.default_rng(0)
    sample = rng.choice(val, 900, replace=False)
    pred = np.array([classifier.probabilities(images[i]).argmax() for i in sample])
    y = labels[sample]
    recall = {c: float(np.mean(pred[y == k] == k)) for k, c in enumerate(classes) if np.any(y == k)}
    assert np.mean(pred == y) >= 0.50, recall
    assert recall["happy"] >= 0.75, recall
    assert recall["surprise"] >= 0.65, recall
