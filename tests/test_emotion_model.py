"""Emotion model: FER-like alignment, the CNN + blendshape head, thresholds, and recall on held-out FER2013 faces."""

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.session.catalogue import EMOTIONS
from kiosk.vision.emotion import (
    EmotionClassifier,
    EmotionResult,
    align_face,
    crop_blendshapes,
    standardize,
)
from kiosk.vision.face import (
    BLENDSHAPE_NAMES,
    FaceLandmarkerDetector,
    face_from_normalized,
)
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
    assert abs(ys.mean() - 0.345 * 48 + 0.5) < 1.5  # eye line horizontal at FER height
    assert abs(ys[left].mean() - ys[right].mean()) < 1.0
    assert abs((xs[right].mean() - xs[left].mean()) - 0.375 * 48) < 2.0  # FER eye distance


def test_rotating_a_real_face_gives_nearly_the_same_aligned_crop(photos):
    from kiosk.vision.face import FaceMeshDetector

    img = cv2.imread(str(photos / "business_person.png"))
    h, w = img.shape[:2]
    rotated = cv2.warpAffine(
        img, cv2.getRotationMatrix2D((w / 2, h / 2), 15, 1.0), (w, h), borderMode=cv2.BORDER_REFLECT
    )
    with FaceMeshDetector(max_faces=1, static_image_mode=True) as det:
        f0, f1 = det.detect(img), det.detect(rotated)
    assert f0 and f1, "MediaPipe found no face in the test photo"
    a, b = align_face(img, f0[0], 48), align_face(rotated, f1[0], 48)
    # The same box without de-rotation, to show the comparison can tell a tilted face apart.
    x, y, bw, bh = f1[0].bbox
    naive = cv2.resize(cv2.cvtColor(rotated[y : y + bh, x : x + bw], cv2.COLOR_BGR2GRAY), (48, 48))
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
        assert r.probs[r.top] == max(r.probs.values())  # int8 outputs can tie: either is "top" (margin 0)
        assert r.label in (r.top, None)
        assert (r.label is None) == (r.probs[r.top] < classifier.thresholds.get(r.top, 0.0))


@pytest.fixture(scope="module")
def landmarker():
    with FaceLandmarkerDetector(max_faces=4, static_image_mode=True) as det:
        yield det


def test_face_landmarker_gives_mesh_landmarks_blendshapes_and_transform(landmarker, photos):
    from kiosk.vision.face import FaceMeshDetector

    img = cv2.imread(str(photos / "two_faces.jpg"))
    faces = landmarker.detect(img)
    with FaceMeshDetector(max_faces=4, static_image_mode=True) as mesh:
        legacy = mesh.detect(img)
    assert len(faces) == len(legacy) == 2
    for f, g in zip(faces, legacy, strict=True):
        assert f.landmarks.shape == g.landmarks.shape == (478, 3)
        # same topology: every landmark lands within a few pixels of the legacy mesh's
        assert np.median(np.linalg.norm(f.landmarks[:, :2] - g.landmarks[:, :2], axis=1)) < 4.0
        assert f.blendshapes is not None and f.blendshapes.shape == (len(BLENDSHAPE_NAMES),)
        assert ((f.blendshapes >= 0) & (f.blendshapes <= 1)).all()
        assert f.transform is not None and f.transform.shape == (4, 4)


def _smile(face) -> float:
    return (face.blendshape("mouthSmileLeft") + face.blendshape("mouthSmileRight")) / 2.0


def test_a_smiling_face_is_happy_and_a_straight_face_is_not(classifier, landmarker, photos):
    """The girl in two_faces.jpg smiles, the boy does not: the runtime path tells them apart.

    The girl's fused happy probability (~0.72) is below the happy threshold chosen on FER2013 for
    <= 2 % false accepts (0.82 in models/emotion.json), so she is not *accepted* as happy in one
    frame: see the model card's limits. Her top class and the margin are asserted here."""
    img = cv2.imread(str(photos / "two_faces.jpg"))
    faces = landmarker.detect(img)
    smiling, straight = sorted(faces, key=_smile, reverse=True)
    assert _smile(smiling) > 0.5 > _smile(straight)
    r = classifier.classify(img, smiling)
    assert r.blendshapes_used
    assert r.top == "happy" and r.probs["happy"] > 0.6 and r.margin >= 0.15, r
    assert sum(r.probs.values()) == pytest.approx(1.0, abs=1e-4)
    other = classifier.classify(img, straight)
    assert other.top != "happy" and other.label != "happy"


def test_without_blendshapes_the_head_takes_the_cnn_only_path(classifier, landmarker, photos):
    img = cv2.imread(str(photos / "two_faces.jpg"))
    face = max(landmarker.detect(img), key=_smile)
    crop = align_face(img, face, classifier.size)
    r = classifier.classify_crop(crop, None)
    assert not r.blendshapes_used and r.top in classifier.labels
    assert sum(r.probs.values()) == pytest.approx(1.0, abs=1e-4)


def test_a_class_below_its_threshold_is_not_reported(classifier):
    k = classifier.labels.index("angry")
    t = classifier.thresholds["angry"]
    assert 0.3 < t < 0.98, "angry needs a threshold (few false accepts), and one it can reach"

    def probs_with(p_angry: float) -> np.ndarray:
        p = np.full(len(classifier.labels), (1.0 - p_angry) / (len(classifier.labels) - 1), np.float32)
        p[k] = p_angry
        return p

    below, above = classifier.decide(probs_with(t - 0.01)), classifier.decide(probs_with(t + 0.01))
    assert below.top == above.top == "angry"
    assert below.label is None and above.label == "angry"


def test_the_pipeline_runs_the_landmarker_only_for_emotion(cfg, photos):
    from kiosk.session.events import Need
    from kiosk.vision.face import FaceMeshDetector
    from kiosk.vision.pipeline import VisionPipeline

    img = cv2.imread(str(photos / "two_faces.jpg"))
    p = VisionPipeline(cfg, static_image_mode=True)
    try:
        assert isinstance(p._face_model(frozenset({Need.FACE, Need.LIVENESS})), FaceMeshDetector)
        assert isinstance(p._face_model(frozenset({Need.FACE, Need.EMOTION})), FaceLandmarkerDetector)
        obs = p.process(img, frozenset({Need.FACE, Need.EMOTION}))
        assert obs.face and obs.faces == 2 and obs.emotion in p.emotion.labels + [None]
    finally:
        p.close()


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


def _load_training_module(name: str):
    """training/emotion/<name>.py (a script folder, not a package)."""
    spec = importlib.util.spec_from_file_location(f"emotion_{name}", ROOT / "training" / "emotion" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_recall_on_held_out_fer_faces(classifier, landmarker, datasets):
    """On validation faces (no duplicate in any training data): a broken model, wrong preprocessing,
    a label-order mix-up or blendshapes in the wrong order fail these floors."""
    need_data(datasets / "fer2013_train.npz")
    split = _load_training_module("split")
    images, labels, classes = split.load_fer(datasets)
    val = np.array((ROOT / "training" / "emotion" / "report" / "validation_index.txt").read_text().split(), int)
    sample = np.random.default_rng(0).choice(val, 240, replace=False)
    cnn, fused, found = [], [], 0
    for i in sample:
        bs = crop_blendshapes(landmarker, images[i])
        found += bs is not None
        cnn.append(classifier.cnn_probabilities(images[i]).argmax())
        fused.append(classifier.probabilities(images[i], bs).argmax())
    y = labels[sample]
    cnn, fused = np.array(cnn), np.array(fused)
    recall = {c: float(np.mean(fused[y == k] == k)) for k, c in enumerate(classes) if np.any(y == k)}
    assert found / len(sample) >= 0.8
    assert np.mean(cnn == y) >= 0.50
    assert np.mean(fused == y) >= 0.55, recall
    # 65 happy and 27 surprise faces in the sample (validated top-1: 0.86 and 0.75 on all 2,614):
    # floors far above chance (1/7) that a sample this small still clears
    assert recall["happy"] >= 0.8 and recall["surprise"] >= 0.5, recall


def test_people_not_making_a_face_do_not_pass_emotion_challenges(classifier, datasets):
    """Real webcam frames of 9 people who were asked for no expression (NUAA live recordings),
    through the kiosk's emotion path and the session's Judge: all 1,743 frames pass surprise on 2
    and angry or sad on none (training/emotion/neutral_faces.py, models/emotion.md). Every 8th frame
    here: a model or threshold that fires on resting faces fails, whatever person it fires on."""
    real = datasets / "nuaa_train" / "real"
    need_data(real)
    mod = _load_training_module("neutral_faces")
    judge = mod.runtime_judge()
    frames = [p for recording in mod.recordings(real).values() for p in recording][::8]
    passed = {c: 0 for c in mod.DRAWN}
    faces = 0
    with FaceLandmarkerDetector(max_faces=1, static_image_mode=True) as det:
        for path in frames:
            judged = mod.judge_frame(det, classifier, judge, path)
            if judged is None:
                continue
            faces += 1
            for c in mod.DRAWN:
                passed[c] += judged[1][c]
    assert faces >= 0.95 * len(frames) >= 200
    assert passed["angry"] == passed["sad"] == 0, passed
    # happy: one person smiles openly on 15 of the 1,743 frames (a real smile, which should pass)
    assert passed["surprise"] <= 0.01 * faces and passed["happy"] <= 0.02 * faces, passed
