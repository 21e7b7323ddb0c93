"""Gesture classifier: real photos through MediaPipe, handedness, the 'none' outcome, feature invariants.

Runs in the runtime venv. Photo tests skip (with the reason) when the shared datasets are absent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # training/ is not an installed package

from kiosk.session.catalogue import GESTURES, drawable  # noqa: E402
from kiosk.vision.gestures import (  # noqa: E402
    FINGER_MEASURES,
    SHAPE_FEATURES,
    GestureClassifier,
    GestureResult,
    finger_measures,
    hand_features,
    hand_shape,
    palm_tilt_degrees,
)
from training.gestures.synth import posed_hand  # noqa: E402

from conftest import need_data  # noqa: E402

MODEL = ROOT / "models" / "gesture_classifier.tflite"
THUMB_PHOTOS = ["hand_thumb_up.jpg", "two_thumbs_up.jpg"]
RELAXED_THUMB = dict(alpha=-30.0, oppose=25.0, mcp=20.0, ip=20.0)


@pytest.fixture(scope="module")
def clf() -> GestureClassifier:
    return GestureClassifier(MODEL)


@pytest.fixture(scope="module")
def detector():
    from kiosk.vision.hands import HandDetector

    det = HandDetector(max_hands=2, static_image_mode=True)
    yield det
    det.close()


def load_photo(photos: Path, name: str):
    import cv2

    img = cv2.imread(str(need_data(photos / name, "photo")))
    assert img is not None, f"unreadable photo {photos / name}"
    return img


def detect(detector, img):
    hands = detector.detect(img)
    assert hands, "MediaPipe found no hand"
    return hands


# --- real photos ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", THUMB_PHOTOS)
def test_thumbs_up_photo_is_like(clf, detector, photos, name):
    for hand in detect(detector, load_photo(photos, name)):
        result = clf.classify(hand)
        assert result.label == "like", result


@pytest.mark.parametrize("name", THUMB_PHOTOS)
@pytest.mark.parametrize("flip", [0, -1], ids=["upside_down", "rotated_180"])
def test_flipped_thumbs_up_is_dislike(clf, detector, photos, name, flip):
    import cv2

    for hand in detect(detector, cv2.flip(load_photo(photos, name), flip)):
        assert clf.classify(hand).label == "dislike"


@pytest.mark.parametrize("name", THUMB_PHOTOS)
def test_mirrored_photo_gives_same_gesture(clf, detector, photos, name):
    import cv2

    img = load_photo(photos, name)
    original = detect(detector, img)[0]
    mirrored = detect(detector, cv2.flip(img, 1))[0]
    assert original.handedness != mirrored.handedness  # MediaPipe sees the other hand...
    a, b = clf.classify(original), clf.classify(mirrored)
    assert a.label == b.label == "like"  # ...and the classifier does not care
    fa = hand_features(original.landmarks, original.handedness)
    fb = hand_features(mirrored.landmarks, mirrored.handedness)
    unhandled = hand_features(mirrored.landmarks, original.handedness)  # mirror ignored
    handled_gap, unhandled_gap = np.abs(fa - fb).mean(), np.abs(fa - unhandled).mean()
    assert handled_gap < 0.08 and handled_gap < unhandled_gap / 3, (handled_gap, unhandled_gap)


# --- the "none" outcome -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "flex",
    [
        (0.35, 0.40, 0.45, 0.50),  # relaxed hand: every finger loosely bent
        (0.50, 0.50, 0.50, 0.50),  # half-way into a fist
    ],
    ids=["relaxed", "half_fist"],
)
def test_relaxed_or_half_formed_hand_is_none(clf, flex):
    xy = posed_hand(flex, RELAXED_THUMB)
    result = clf.classify_features(hand_features(xy, "Right"))
    assert result.label == "none", result


FOLDED_THUMB = dict(alpha=0.0, oppose=55.0, mcp=50.0, ip=40.0)
OUT_THUMB = dict(alpha=-50.0, oppose=5.0, mcp=0.0, ip=0.0)
LOOK_ALIKES = {  # hand shapes the kiosk never asks for, each close to a drawn gesture
    "three: thumb, index, middle (victory + thumb)": ((0.0, 0.0, 0.9, 0.9), OUT_THUMB, (-12, 8, 0, 0)),
    "three: index, middle, ring": ((0.0, 0.0, 0.0, 0.9), FOLDED_THUMB, (-10, 0, 8, 0)),
    "two fingers side by side (not a V)": ((0.0, 0.0, 0.9, 0.9), FOLDED_THUMB, (4, -2, 0, 0)),
    "little finger only": ((0.9, 0.9, 0.9, 0.0), FOLDED_THUMB, (0, 0, 0, 10)),
    "middle finger only": ((0.9, 0.0, 0.9, 0.9), FOLDED_THUMB, (0, 0, 0, 0)),
    "gun / L: thumb and index": ((0.0, 0.9, 0.9, 0.9), OUT_THUMB, (0, 0, 0, 0)),
}


def drawn_labels(clf: GestureClassifier, floor: float = 0.90) -> set[str]:
    """What a kiosk with this draw floor may ask for."""
    return {label for label in clf.labels if drawable(clf.card, label, floor)[0]}


def _rotated(xy: np.ndarray, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    return xy @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])


@pytest.mark.parametrize("name", list(LOOK_ALIKES))
def test_look_alike_hand_shapes_are_not_drawn_gestures(clf, name):
    """The shapes the first open-set check found accepted (three -> victory, pinkie -> rock, ...)."""
    flex, thumb, abduct = LOOK_ALIKES[name]
    drawn = drawn_labels(clf)
    assert drawn
    for hand in ("Right", "Left"):
        xy = posed_hand(flex, thumb, abduct)
        if hand == "Left":
            xy = xy * [-1, 1]
        result = clf.classify_features(hand_features(xy, hand))
        assert result.label not in drawn, (name, hand, result.label, round(result.confidence, 3))


@pytest.mark.parametrize("degrees", [-90, 90])
def test_index_finger_pointing_sideways_is_not_one(clf, degrees):
    """ "Hold up your index finger": a finger pointing at something to the side is not the gesture."""
    upright = posed_hand((0.0, 0.9, 0.9, 0.9), FOLDED_THUMB)
    assert clf.classify_features(hand_features(upright, "Right")).label == "one"
    sideways = clf.classify_features(hand_features(_rotated(upright, degrees), "Right"))
    assert sideways.label not in drawn_labels(clf), sideways


def test_per_class_threshold_from_the_json_is_applied(tmp_path):
    """min_confidence_by_label raises one class's bar: the same fist becomes "none" for the kiosk."""
    meta = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    xy = posed_hand((0.9, 0.9, 0.9, 0.9), FOLDED_THUMB)
    plain = GestureClassifier(MODEL).classify_features(hand_features(xy, "Right"))
    assert plain.label == "fist"
    meta["min_confidence_by_label"] = {**meta.get("min_confidence_by_label", {}), "fist": 1.01}
    (tmp_path / "g.json").write_text(json.dumps(meta), encoding="utf-8")
    strict = GestureClassifier(MODEL, tmp_path / "g.json").classify_features(hand_features(xy, "Right"))
    assert strict.label == "none" and strict.confidence == pytest.approx(plain.confidence)


def test_per_class_threshold_for_an_unknown_label_is_an_error(tmp_path):
    from kiosk.vision.tflite import ModelError

    meta = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    meta["min_confidence_by_label"] = {"thumbs_sideways": 0.9}
    (tmp_path / "g.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="thumbs_sideways"):
        GestureClassifier(MODEL, tmp_path / "g.json")


def test_kiosk_min_confidence_never_lowers_a_class_threshold():
    meta = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    loose = GestureClassifier(MODEL, min_confidence=0.3)
    for label, t in meta.get("min_confidence_by_label", {}).items():
        assert loose.thresholds[loose.labels.index(label)] == pytest.approx(t)
    assert min(loose.thresholds) == pytest.approx(0.3)


def test_low_confidence_becomes_none():
    strict = GestureClassifier(MODEL, min_confidence=1.01)  # nothing can reach it
    xy = posed_hand((0.0, 0.0, 0.0, 0.0), dict(alpha=-50.0, oppose=5.0, mcp=0.0, ip=0.0))
    assert strict.classify_features(hand_features(xy, "Right")).label == "none"


def test_open_synthetic_hand_is_hi_five(clf):
    xy = posed_hand((0.0, 0.0, 0.0, 0.0), dict(alpha=-50.0, oppose=5.0, mcp=0.0, ip=0.0), abduct=(-8, 0, 6, 14))
    assert clf.classify_features(hand_features(xy, "Right")).label == "hi_five"


# 2026.12.01 (16 "none" families, the relaxed hand one family of 17): the relaxed hand tipped away
# from the camera by 40-50 deg reads as hi_five (0.71-0.82); 2026.11.23 passed. Known regression,
# in the model card; strict, so a model that fixes it makes this fail until the mark goes.
TIPPED_AWAY_REGRESSION = pytest.mark.xfail(strict=True, reason="relaxed hand tipped away reads as hi_five (card)")


@pytest.mark.parametrize(
    "pitch", [pytest.param(-50, marks=TIPPED_AWAY_REGRESSION), pytest.param(-40, marks=TIPPED_AWAY_REGRESSION), 40, 50]
)
def test_hands_tipped_towards_or_away_from_the_camera(clf, pitch):
    """A hand tipped forwards or back looks shorter in 2-D, like bent fingers. The model trained
    without tipped hands (2026-11-22) took the relaxed hand for hi_five at -50 and the fist for "one" at +50."""
    cases = {
        "hi_five": ((0.0, 0.0, 0.0, 0.0), dict(alpha=-50.0, oppose=5.0, mcp=0.0, ip=0.0), (-8, 0, 6, 14)),
        "fist": ((0.9, 0.9, 0.9, 0.9), dict(alpha=0.0, oppose=55.0, mcp=50.0, ip=40.0), (0, 0, 0, 0)),
        "none": ((0.35, 0.40, 0.45, 0.50), RELAXED_THUMB, (0, 0, 0, 0)),
    }
    got = {
        want: clf.classify_features(hand_features(posed_hand(flex, thumb, abduct, pitch=pitch), "Right")).label
        for want, (flex, thumb, abduct) in cases.items()
    }
    assert got == {want: want for want in cases}


def test_synthetic_hands_include_tipped_palms():
    """Real rows reach palm width / length 1.1-1.6 (tipped hands); every synthetic class must too,
    "none" included, or tipped real hands are out of distribution for the gestures and for "none"."""
    from training.gestures.synth import generate

    X, names = generate(["fist", "hi_five", "one", "none"], 300, seed=7)
    xy = X.reshape(-1, 21, 2)
    ratio = np.linalg.norm(xy[:, 5] - xy[:, 17], axis=1) / np.linalg.norm(xy[:, 9] - xy[:, 0], axis=1)
    for name in ("fist", "hi_five", "one", "none"):
        tipped = float((ratio[names == name] > 1.1).mean())
        assert 0.03 < tipped < 0.3, (name, tipped)


# --- features -----------------------------------------------------------------------------------
def _hand(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(100, 400, (21, 3)).astype(np.float32)


def test_features_shape_and_range():
    f = hand_features(_hand(), "Right")
    assert f.shape == (42,) and f.dtype == np.float32
    assert np.isclose(np.abs(f).max(), 1.0) and f[0] == 0 and f[1] == 0


def test_features_translation_and_scale_invariant():
    pts = _hand()
    moved = pts.copy()
    moved[:, :2] = pts[:, :2] * 2.5 + np.array([37.0, -12.0])
    np.testing.assert_allclose(hand_features(moved, "Left"), hand_features(pts, "Left"), atol=1e-6)
    np.testing.assert_allclose(hand_features(pts[:, :2], "Right"), hand_features(pts, "Right"), atol=1e-7)


def test_features_mirror_left_onto_right():
    pts = _hand()
    mirrored = pts.copy()
    mirrored[:, 0] = 640 - pts[:, 0]
    np.testing.assert_allclose(hand_features(mirrored, "Left"), hand_features(pts, "Right"), atol=1e-6)
    assert not np.allclose(hand_features(pts, "Left"), hand_features(pts, "Right"))


def test_classify_handles_handedness(clf):
    from kiosk.vision.hands import Hand

    xy = posed_hand((0.9, 0.9, 0.9, 0.9), dict(alpha=-10.0, oppose=50.0, mcp=50.0, ip=40.0))
    pts = np.c_[xy * 100 + 300, np.zeros(21)].astype(np.float32)
    mirrored = pts.copy()
    mirrored[:, 0] = 640 - pts[:, 0]
    a = clf.classify(Hand(pts, "Right", 0.99, (640, 480)))
    b = clf.classify(Hand(mirrored, "Left", 0.99, (640, 480)))
    assert isinstance(a, GestureResult) and a.label == b.label
    assert a.probs == pytest.approx(b.probs)
    assert set(a.probs) == set(clf.labels) and sum(a.probs.values()) == pytest.approx(1.0, abs=1e-3)


def test_bad_landmarks_rejected():
    with pytest.raises(ValueError):
        hand_features(np.zeros((20, 2)), "Right")


# --- metadata -----------------------------------------------------------------------------------
def test_metadata_keeps_synthetic_classes_out_of_the_draw(clf):
    meta = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    assert clf.labels == meta["labels"] and clf.labels[-1] == "none"
    assert set(clf.labels) - {"none"} <= set(GESTURES)
    drawn = [label for label in clf.labels if drawable(clf.card, label, 0.0)[0]]
    for label in meta["synthetic_only"]:
        assert clf.card.validated_on[label] == "synthetic"
        assert label not in drawn
    assert "none" not in drawn
    assert {"like", "dislike"} <= set(clf.validated_recall)


def test_metadata_reports_every_held_out_shape_family():
    """The model card's open-set figures cover every "none" family the generator makes."""
    from training.gestures.labels import REAL_NONE_FAMILY
    from training.gestures.synth import NONE_FAMILIES

    meta = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    measured = meta["open_set"]["leave_one_shape_out_accepted_as_drawn"]
    assert set(measured) == set(NONE_FAMILIES) | {REAL_NONE_FAMILY}
    assert meta["open_set"]["worst"]["accepted_as_drawn"] == pytest.approx(max(measured.values()), abs=1e-4)


def test_validated_recall_follows_the_configured_min_confidence():
    meta = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    by_conf = meta["validated_recall_by_min_confidence"]
    stricter = GestureClassifier(MODEL, min_confidence=0.8)
    assert stricter.validated_recall["fist"] == pytest.approx(by_conf["0.8"]["fist"])
    assert stricter.validated_recall["four"] == 0.0  # synthetic-only stays unvalidated
    # 0.75 was not measured: the recall measured at 0.8 (lower, so never optimistic) is used
    between = GestureClassifier(MODEL, min_confidence=0.75)
    assert between.validated_recall == stricter.validated_recall
    assert GestureClassifier(MODEL, min_confidence=0.95).validated_recall == {}
    assert GestureClassifier(MODEL).validated_recall == pytest.approx(meta["validated_recall"])


# ----------------------------------------------------------------- checks after the classifier
def _meta_with(tmp_path, **changes) -> Path:
    meta = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    meta.update(changes)
    path = tmp_path / "g.json"
    path.write_text(json.dumps(meta), encoding="utf-8")
    return path


def test_hand_shape_ignores_where_how_big_and_how_turned_the_hand_is():
    xy = posed_hand((0.0, 0.0, 0.9, 0.9), FOLDED_THUMB, (-10, 8, 0, 0))
    shape = hand_shape(hand_features(xy, "Right"))
    assert shape.shape == (len(SHAPE_FEATURES),)
    moved = _rotated(xy, 35.0) * 2.7 + [120.0, -40.0]
    assert hand_shape(hand_features(moved, "Right")) == pytest.approx(shape, abs=1e-6)
    assert hand_shape(hand_features(xy * [-1, 1], "Left")) == pytest.approx(shape, abs=1e-6)
    # a straight finger reads straight, a curled one does not
    straight = dict(zip(SHAPE_FEATURES, shape, strict=True))
    assert straight["index_straight"] > 0.95 and straight["ring_straight"] < 0.8


def test_a_label_outside_its_shape_envelope_is_none(tmp_path):
    """The classifier's fist, with an envelope that allows only a straight-ish index finger: none."""
    xy = posed_hand((0.9, 0.9, 0.9, 0.9), FOLDED_THUMB)
    feats = hand_features(xy, "Right")
    plain = GestureClassifier(MODEL).classify_features(feats)
    assert plain.label == "fist" and not plain.rejected
    index = SHAPE_FEATURES.index("index_straight")
    low, high = [-1e9] * len(SHAPE_FEATURES), [1e9] * len(SHAPE_FEATURES)
    low[index] = hand_shape(feats)[index] + 0.05
    envelope = {"features": list(SHAPE_FEATURES), "bounds": {"fist": {"low": low, "high": high}}}
    strict = GestureClassifier(MODEL, _meta_with(tmp_path, shape_envelope=envelope)).classify_features(feats)
    assert (strict.label, strict.rejected) == ("none", "shape")
    assert strict.confidence == pytest.approx(plain.confidence)


def test_a_fingers_up_label_turned_past_its_limit_is_none(tmp_path):
    tilted = hand_features(_rotated(posed_hand((0.0, 0.9, 0.9, 0.9), FOLDED_THUMB), 30.0), "Right")
    assert GestureClassifier(MODEL).classify_features(tilted).label == "one"  # 30 deg is within 70
    strict = GestureClassifier(MODEL, _meta_with(tmp_path, fingers_up={"labels": ["one"], "max_degrees": 20}))
    result = strict.classify_features(tilted)
    assert (result.label, result.rejected) == ("none", "not upright")


@pytest.mark.parametrize(
    "envelope, reason",
    [
        ({"features": ["index_straight"], "bounds": {}}, "measures"),
        (
            {"features": list(SHAPE_FEATURES), "bounds": {"thumbs_sideways": {"low": [0] * 12, "high": [1] * 12}}},
            "thumbs_sideways",
        ),
        ({"features": list(SHAPE_FEATURES), "bounds": {"fist": {"low": [1] * 12, "high": [0] * 12}}}, "low <= high"),
    ],
)
def test_a_bad_shape_envelope_is_a_model_error_that_says_why(tmp_path, envelope, reason):
    from kiosk.vision.tflite import ModelError

    with pytest.raises(ModelError, match=reason):
        GestureClassifier(MODEL, _meta_with(tmp_path, shape_envelope=envelope))


def test_finger_measures_tell_fingers_out_from_folded_and_a_palm_from_its_edge():
    one = hand_features(posed_hand((0.0, 0.9, 0.9, 0.9), FOLDED_THUMB), "Right")
    m = dict(zip(FINGER_MEASURES, finger_measures(one), strict=True))
    assert m["index_out"] > 1.6 and max(m["middle_out"], m["ring_out"], m["little_out"]) < 1.2
    palm = posed_hand((0.0, 0.0, 0.0, 0.0), OUT_THUMB, (-8, -4, 4, 8))
    facing = finger_measures(hand_features(palm, "Right"))[FINGER_MEASURES.index("palm_width")]
    edge_on = finger_measures(hand_features(palm * [0.25, 1.0], "Right"))[FINGER_MEASURES.index("palm_width")]
    assert facing > 0.6 and edge_on < facing / 2
    # rows at once give the same as one at a time; moved, scaled and mirrored hands the same values
    both = finger_measures(np.stack([one, one]))
    assert both.shape == (2, len(FINGER_MEASURES)) and both[1] == pytest.approx(finger_measures(one))
    moved = hand_features(_rotated(posed_hand((0.0, 0.9, 0.9, 0.9), FOLDED_THUMB), 30.0) * 2 + 50, "Right")
    assert finger_measures(moved) == pytest.approx(finger_measures(one), abs=1e-6)


def test_a_label_whose_instruction_the_fingers_contradict_is_none(tmp_path):
    """ "Hold up your index finger" with a rule that wants the middle finger out too: none, "fingers"."""
    feats = hand_features(posed_hand((0.0, 0.9, 0.9, 0.9), FOLDED_THUMB), "Right")
    assert GestureClassifier(MODEL, _meta_with(tmp_path, finger_rule=None)).classify_features(feats).label == "one"
    free = [None] * len(FINGER_MEASURES)
    low = list(free)
    low[FINGER_MEASURES.index("middle_out")] = 1.5
    rule = {"measures": list(FINGER_MEASURES), "bounds": {"one": {"low": low, "high": free}}}
    result = GestureClassifier(MODEL, _meta_with(tmp_path, finger_rule=rule)).classify_features(feats)
    assert (result.label, result.rejected) == ("none", "fingers")
    # the same hand with a rule that leaves the middle finger free: "one"
    loose = {"measures": list(FINGER_MEASURES), "bounds": {"one": {"low": free, "high": free}}}
    assert GestureClassifier(MODEL, _meta_with(tmp_path, finger_rule=loose)).classify_features(feats).label == "one"


@pytest.mark.parametrize(
    "rule, reason",
    [
        ({"measures": ["index_out"], "bounds": {}}, "measures"),
        ({"measures": list(FINGER_MEASURES), "bounds": {"shaka": {"low": [None] * 5, "high": [None] * 5}}}, "shaka"),
        ({"measures": list(FINGER_MEASURES), "bounds": {"one": {"low": [2] * 5, "high": [1] * 5}}}, "low <= high"),
        ({"measures": list(FINGER_MEASURES), "bounds": {"one": {"low": [None] * 4, "high": [None] * 5}}}, "one per"),
    ],
)
def test_a_bad_finger_rule_is_a_model_error_that_says_why(tmp_path, rule, reason):
    from kiosk.vision.tflite import ModelError

    with pytest.raises(ModelError, match=reason):
        GestureClassifier(MODEL, _meta_with(tmp_path, finger_rule=rule))


def test_finger_rule_bounds_follow_the_instruction_keep_recall_and_other_people_and_trust_one_dataset_less():
    """finger_rule.choose: a label two datasets hold gets a lower bound on the fingers its
    instruction holds out and an upper bound on those it folds, no tighter than its recall budget
    and each dataset's hands allow, moved back out by the margin; a label one dataset holds gets only
    what the words give: the fingers held out reach farther from the wrist than their knuckles."""
    from training.gestures import finger_rule
    from training.gestures.labels import INSTRUCTION_SHAPE, LABELS

    rng = np.random.default_rng(1)
    n = 400
    rows, labels, sources = [], [], []
    for label, source, centre in (
        ("one", "a", [1.9, 0.8, 0.8, 0.8, 0.8]),
        ("one", "b", [1.7, 0.9, 0.7, 0.8, 0.8]),  # other people hold the index a little lower
        ("rock", "a", [1.9, 0.8, 0.8, 1.9, 0.8]),
    ):
        rows.append(rng.normal(centre, 0.08, (n, len(FINGER_MEASURES))))
        labels += [LABELS.index(label)] * n
        sources += [source] * n
    M, y, src = np.concatenate(rows), np.array(labels), np.array(sources)
    low, high = finger_rule.choose(y, y.copy(), M, src)  # every row classified right
    # rock (one dataset): "Hold up your index and little finger": those two held out, nothing else
    held_out = [FINGER_MEASURES.index("index_out"), FINGER_MEASURES.index("little_out")]
    assert (low["rock"][held_out] == finger_rule.HELD_OUT).all()
    assert np.isinf(np.delete(low["rock"], held_out)).all() and np.isinf(high["rock"]).all()
    # the same for a label with no rows at all; a label whose words hold no finger out gets nothing
    assert low["victory"][FINGER_MEASURES.index("middle_out")] == finger_rule.HELD_OUT
    assert "like" not in low
    shape = INSTRUCTION_SHAPE["one"]
    for f, kind in enumerate(shape):
        bounded = np.isfinite(low["one"][f]) or np.isfinite(high["one"][f])
        assert bounded == (kind is not None), (FINGER_MEASURES[f], kind)
    assert 1.2 < low["one"][0] < 1.7 and 0.9 < high["one"][1] < 1.5  # between folded and out
    one = y == LABELS.index("one")
    kept = finger_rule.admitted(M[one], low["one"], high["one"]).mean()
    assert kept >= 1 - finger_rule.MAX_RECALL_COST
    for s in ("a", "b"):
        assert (
            finger_rule.admitted(M[one & (src == s)], low["one"], high["one"]).mean() >= 1 - finger_rule.MAX_CROSS_LOSS
        )
    # the margin: the search's own bound was one that still kept the budget
    tight_low, tight_high = low["one"] + finger_rule.MARGIN, high["one"] - finger_rule.MARGIN
    assert finger_rule.admitted(M[one], tight_low, tight_high).mean() >= 1 - finger_rule.MAX_RECALL_COST - 1e-9
    # and the JSON form the kiosk reads: null where there is no bound
    meta = finger_rule.rule_meta((low, high))
    assert meta["bounds"]["one"]["low"][1] is None and meta["bounds"]["one"]["high"][0] is None
    from kiosk.vision.gestures import FingerRule

    parsed = FingerRule.from_meta(meta, LABELS, "test")
    assert parsed.admits("one", np.array([1.9, 0.8, 0.8, 0.8, 0.8]))
    assert not parsed.admits("one", np.array([0.8, 0.8, 0.8, 0.8, 0.8]))  # the index folded


def test_the_shipped_json_checks_shape_and_orientation():
    """The evaluation wrote the checks it measured into the shipped JSON (models/gesture_classifier.md)."""
    clf = GestureClassifier(MODEL)
    assert clf.fingers_up and clf.max_up_degrees == pytest.approx(70.0)
    assert clf.envelope.low, "no shape envelope in models/gesture_classifier.json"
    # the finger rule: an open hand's palm faces the camera; rock's index finger is held out
    assert {"hi_five", "perfect", "fist", "one", "rock", "victory", "call_me"} <= set(clf.finger_rule.low)
    assert clf.finger_rule.low["hi_five"][FINGER_MEASURES.index("palm_width")] > 0
    assert clf.finger_rule.low["rock"][FINGER_MEASURES.index("index_out")] >= 1.0


def test_shape_margins_are_widened_per_measure_for_other_datasets_and_dropped_where_none_fits():
    """shape_check.feature_pads: a label two datasets hold gets, measure by measure, the margin that
    lets each dataset admit the other's hands: wide where the datasets differ, narrow where they
    agree; if no margin does, it is left unchecked; a one-dataset label gets at least the single
    margin other people needed."""
    from training.gestures import shape_check
    from training.gestures.labels import LABELS

    rng = np.random.default_rng(0)
    n, dims = 400, len(SHAPE_FEATURES)
    shifted = np.zeros(dims)
    shifted[0] = 0.3  # the two datasets' "one" hands differ in the first measure only
    blocks, labels, sources = [], [], []
    for label, source, centre in (
        ("one", "a", np.zeros(dims)),
        ("one", "b", shifted),
        ("fist", "a", np.zeros(dims)),
        ("fist", "b", np.full(dims, 30.0)),
        ("like", "a", np.full(dims, 5.0)),
    ):
        blocks.append(rng.normal(centre, 0.1, (n, dims)))
        labels += [LABELS.index(label)] * n
        sources += [source] * n
    S, y, source = np.concatenate(blocks), np.array(labels), np.array(sources)
    order = rng.permutation(len(y))
    folds = []
    for k in range(5):
        val = order[k::5]
        train = np.setdiff1d(order, val)
        folds.append((train, val, y[val]))  # every validation row classified right
    pads, recall, cross = shape_check.feature_pads(folds, S, y, source)
    assert "fist" not in pads and "fist" in recall  # 30 apart: no margin admits the other dataset's fists
    one = np.array(pads["one"])
    assert one[0] > 0 and all(v >= 0.97 for v in cross["one"].values())
    assert (one[1:] < one[0]).all() and (one[1:] < shape_check.UNBOUNDED).all()  # the steady measures stay narrow
    assert recall["one"]["checked"] >= recall["one"]["unchecked"] - shape_check.MAX_RECALL_COST
    # one dataset only: at least the single pad "one" needed for all its measures (its widest)
    assert (np.array(pads["like"]) >= one.max()).all()
    # and the JSON's envelope holds those margins: a "one" hand off in a steady measure is turned away
    from kiosk.vision.gestures import ShapeEnvelope

    envelope = ShapeEnvelope.from_meta(shape_check.envelope_meta(S, y, pads), LABELS, "test")
    typical = np.zeros(dims)
    assert envelope.admits("one", typical)
    off = typical.copy()
    off[1] = 1.5  # 15 standard deviations in a measure both datasets agree on
    assert not envelope.admits("one", off)


OPEN_PALM = dict(flex=(0.0, 0.0, 0.0, 0.0), thumb=dict(alpha=-50.0, oppose=5.0, mcp=0.0, ip=0.0), abduct=(-8, 0, 6, 14))


def _turned_in_depth(xy: np.ndarray, degrees: float) -> np.ndarray:
    """(21, 3) landmarks: the same image-plane hand, its palm plane turned `degrees` away from the
    camera about the vertical axis (z = tan(degrees) * x), as MediaPipe's depth would give it."""
    return np.c_[xy, np.tan(np.radians(degrees)) * (xy[:, 0] - xy[0, 0])].astype(np.float32)


@pytest.mark.parametrize("degrees", [5.0, 30.0, 60.0, 85.0])
def test_palm_tilt_is_how_far_the_palm_turns_from_the_camera(degrees):
    xy = posed_hand(OPEN_PALM["flex"], OPEN_PALM["thumb"], OPEN_PALM["abduct"])
    pts = _turned_in_depth(xy, degrees)
    assert palm_tilt_degrees(pts) == pytest.approx(degrees, abs=0.01)
    # the same wherever, however large and whichever way round (mirror image, depth sign) the hand is
    assert palm_tilt_degrees(pts * 3.0 + [100.0, 50.0, 0.0]) == pytest.approx(degrees, abs=0.01)
    assert palm_tilt_degrees(pts * [-1.0, 1.0, 1.0]) == pytest.approx(degrees, abs=0.01)
    assert palm_tilt_degrees(pts * [1.0, 1.0, -1.0]) == pytest.approx(degrees, abs=0.01)


def test_landmarks_without_depth_have_no_palm_tilt():
    xy = posed_hand(OPEN_PALM["flex"], OPEN_PALM["thumb"], OPEN_PALM["abduct"])
    assert palm_tilt_degrees(xy) is None  # (21, 2): kinivi rows, collected features
    assert palm_tilt_degrees(np.c_[xy, np.zeros(21)]) is None  # a detector that gives no z
    assert palm_tilt_degrees(np.full((21, 3), np.nan)) is None


def test_an_open_hand_turned_edge_on_in_depth_is_not_an_open_palm(tmp_path):
    """ "palm to the camera": the very same hand in the image is hi_five with its palm to the camera
    and "none" ("palm turned") when its depth says it is seen edge-on; without depth it is judged as
    before (the 2-D checks only)."""
    from kiosk.vision.hands import Hand

    facing = {"labels": ["hi_five"], "max_tilt_degrees": 60.0}
    clf = GestureClassifier(MODEL, _meta_with(tmp_path, palm_facing=facing))
    xy = posed_hand(OPEN_PALM["flex"], OPEN_PALM["thumb"], OPEN_PALM["abduct"]) * 100 + 300

    def seen(degrees: float | None) -> GestureResult:
        pts = np.c_[xy, np.zeros(21)].astype(np.float32) if degrees is None else _turned_in_depth(xy, degrees)
        return clf.classify(Hand(pts, "Right", 0.99, (640, 480)))

    assert seen(None).label == "hi_five"
    assert seen(20.0).label == "hi_five"
    edge_on = seen(75.0)
    assert (edge_on.label, edge_on.rejected, edge_on.top_label) == ("none", "palm turned", "hi_five")
    assert edge_on.confidence == pytest.approx(seen(20.0).confidence)  # the classifier saw the same hand
    # a label whose instruction says nothing of the palm is not checked
    other = GestureClassifier(MODEL, _meta_with(tmp_path, palm_facing={"labels": ["one"], "max_tilt_degrees": 60.0}))
    assert other.classify(Hand(_turned_in_depth(xy, 75.0), "Right", 0.99, (640, 480))).label == "hi_five"


@pytest.mark.parametrize(
    "facing, reason",
    [
        ({"labels": ["shaka"], "max_tilt_degrees": 60.0}, "shaka"),
        ({"labels": ["hi_five"], "max_tilt_degrees": 0}, "max_tilt_degrees"),
        ({"labels": ["hi_five"], "max_tilt_degrees": 120.0}, "max_tilt_degrees"),
        ({"labels": ["hi_five"], "max_tilt_degrees": "60"}, "max_tilt_degrees"),
        ({"labels": ["hi_five"]}, "max_tilt_degrees"),
        ({"labels": ["hi_five"], "max_tilt_degrees": True}, "max_tilt_degrees"),
    ],
)
def test_a_bad_palm_facing_is_a_model_error_that_says_why(tmp_path, facing, reason):
    from kiosk.vision.tflite import ModelError

    with pytest.raises(ModelError, match=reason):
        GestureClassifier(MODEL, _meta_with(tmp_path, palm_facing=facing))


def test_palm_facing_bound_is_the_real_palms_largest_tilt_plus_the_margin():
    """finger_rule.choose_palm_facing: for the labels whose instruction says "palm to the camera",
    the largest tilt among their real hands with depth, plus the margin, rounded up; rows without
    depth and other labels' rows do not move it; no depth at all: no check."""
    from training.gestures import finger_rule
    from training.gestures.labels import LABELS

    hi_five, one = LABELS.index("hi_five"), LABELS.index("one")
    y = np.array([hi_five, hi_five, hi_five, one, hi_five])
    tilt = np.array([12.0, 41.3, np.nan, 88.0, 30.0])
    chosen = finger_rule.choose_palm_facing(y, tilt)
    assert chosen is not None
    assert set(chosen["labels"]) == {"hi_five", "four"}  # INSTRUCTION_SHAPE: palm FACING
    assert chosen["max_tilt_degrees"] == 55.0  # 41.3 + 10 -> 51.3, up to the next 5
    assert chosen["rows_with_depth"] == 3
    assert finger_rule.choose_palm_facing(y, np.full(len(y), np.nan)) is None


def test_synthetic_hands_with_depth_are_the_same_hands_as_without():
    """The evaluation's look-alike hands with their depth are the very rows it scored before, and
    their tilt is what the runtime measures on (x, y, z) landmarks."""
    from training.gestures import synth

    X, fams = synth.generate_none(["flat_edge", "pinch"], 20, seed=3)
    X2, fams2, tilt = synth.generate_none_with_tilt(["flat_edge", "pinch"], 20, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(fams, fams2)
    assert tilt.shape == (40,) and np.isfinite(tilt).all() and ((tilt >= 0) & (tilt <= 90)).all()


@pytest.mark.parametrize("name", THUMB_PHOTOS)
def test_hands_found_in_a_photo_carry_the_depth_the_palm_check_reads(detector, photos, name):
    for hand in detect(detector, load_photo(photos, name)):
        tilt = palm_tilt_degrees(hand.landmarks)
        assert tilt is not None and 0.0 <= tilt <= 90.0


def test_real_open_palms_pass_the_shipped_palm_bound_and_real_side_views_do_not(datasets):
    """On HaGRID's landmarks (MediaPipe's own depth on photos of many people): every open hand
    ("palm", "stop", and "stop_inverted" with its back to the camera) is within the shipped JSON's bound, and most "mute" hands (an
    index finger held before the lips, the hand seen from the side) are beyond it: the estimated
    depth, not only the synthetic one, tells a palm to the camera from a hand seen edge-on."""
    from training.gestures.loaders import load_hagrid

    bound = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))["palm_facing"]["max_tilt_degrees"]
    rows = np.loadtxt(need_data(datasets / "gestures" / "hagrid_landmarks_train.csv"), delimiter=",")
    tilt = {
        c: np.array([palm_tilt_degrees(r[2:65].reshape(21, 3)) for r in rows[rows[:, 0] == c]]) for c in (4, 7, 10, 11)
    }
    open_palms = np.concatenate([tilt[7], tilt[10], tilt[11]])
    assert len(open_palms) == 375 and (open_palms <= bound).all(), open_palms.max()
    assert np.mean(tilt[4] > bound) > 0.5, np.median(tilt[4])  # class 4 = "mute"
    # the loader keeps that depth for the evaluation (kinivi rows have none)
    ds = load_hagrid(datasets / "gestures" / "hagrid_landmarks_train.csv")
    assert np.isfinite(ds.tilt).all() and len(ds.tilt) == len(ds)


def test_collected_rows_keep_the_palm_tilt_and_older_files_still_load(tmp_path):
    """collect.py records each hand's palm tilt beside its features, so recordings of other people
    can check the open hand's depth bound; a file begun before that column gets rows in its own
    columns, and both load (the older rows without depth)."""
    from kiosk.vision.hands import Hand
    from training.gestures.collect import CsvSink
    from training.gestures.loaders import load_collected

    xy = posed_hand(OPEN_PALM["flex"], OPEN_PALM["thumb"], OPEN_PALM["abduct"]) * 100 + 300
    turned = Hand(_turned_in_depth(xy, 40.0), "Right", 0.99, (640, 480))
    flat = Hand(np.c_[xy, np.zeros(21)].astype(np.float32), "Right", 0.99, (640, 480))

    sink = CsvSink(tmp_path / "new.csv", "p01")
    sink.write("hi_five", turned)
    sink.write("hi_five", flat)
    sink.close()
    ds = load_collected(tmp_path / "new.csv")
    assert ds.tilt[0] == pytest.approx(40.0, abs=0.01) and np.isnan(ds.tilt[1])
    assert list(ds.group) == ["collected:p01", "collected:p01"]

    old = tmp_path / "old.csv"  # the columns collect.py wrote before palm_tilt
    old.write_text(",".join(["label", "subject", "handedness"] + [f"f{i}" for i in range(42)]) + "\n")
    sink = CsvSink(old, "p02")
    sink.write("hi_five", turned)
    sink.close()
    assert all(len(line.split(",")) == 45 for line in old.read_text().splitlines())
    ds = load_collected(old)
    assert len(ds) == 1 and np.isnan(ds.tilt).all()
    assert ds.X[0] == pytest.approx(hand_features(turned.landmarks, "Right"), abs=1e-5)


def test_the_gesture_report_splits_recall_by_dataset_and_says_what_missed_rows_became():
    """A class can meet its recall on one dataset and miss it on the other (HaGRID's photos of many
    people against kinivi's webcam runs): the report shows both, and where the missed rows went."""
    from training.gestures.evaluate import _source_table, missed_as, per_class
    from training.gestures.labels import LABELS

    fist, one, none = LABELS.index("fist"), LABELS.index("one"), LABELS.index("none")
    y = np.array([fist] * 4 + [fist] * 4 + [one] * 2)
    pred = np.array([fist] * 4 + [fist, none, none, one] + [one, fist])
    source = np.array(["hagrid"] * 4 + ["kinivi"] * 4 + ["kinivi"] * 2)

    missed = missed_as(y, pred, source)
    assert missed == {"kinivi": {"fist": {"none": 2, "one": 1}, "one": {"fist": 1}}}
    blocked = {
        "per_class": per_class(y, pred),
        "per_source_per_class": {
            s: {k: v for k, v in per_class(y[source == s], pred[source == s]).items() if v["support"]}
            for s in ("hagrid", "kinivi")
        },
        "missed_as": missed,
        "hagrid_by_own_class": {
            "fist": {"label": "fist", "recall": 1.0, "rows": 4},
            "palm": {"label": "hi_five", "recall": 0.99, "rows": 125},
            "stop": {"label": "hi_five", "recall": 0.712, "rows": 125},
        },
    }
    table = "\n".join(_source_table(blocked))
    assert "| fist | 1.000 (4); - | 0.250 (4); none 2, one 1 |" in table
    assert "| one | - | 0.500 (2); fist 1 |" in table
    # a label several of HaGRID's own classes share gets each one's recall; a class of its own does not
    assert "hi_five: palm 0.990 (125), stop 0.712 (125)" in table and "fist 1.000 (4)," not in table


def test_hagrid_rows_keep_their_own_class_name(datasets):
    from training.gestures.labels import LABELS
    from training.gestures.loaders import load_hagrid

    hagrid = load_hagrid(need_data(datasets / "gestures" / "hagrid_landmarks_train.csv"))
    by_group = {g: {LABELS[c] for c in hagrid.y[hagrid.group == g]} for g in set(hagrid.group.tolist())}
    assert by_group["hagrid:stop"] == by_group["hagrid:palm"] == by_group["hagrid:stop_inverted"] == {"hi_five"}
    assert by_group["hagrid:mute"] == {"one"} and by_group["hagrid:ok"] == {"perfect"}
