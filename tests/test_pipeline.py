"""The vision pipeline on real photos with real MediaPipe: only what is needed runs."""
import cv2
import pytest

from kiosk.vision.pipeline import VisionPipeline


@pytest.fixture(scope="module")
def pipeline(cfg):
    p = VisionPipeline(cfg, static_image_mode=True)
    yield p
    p.close()


def test_missing_models_are_reported_and_left_out_of_the_draw(cfg, tmp_path):
    from kiosk.config import config_from_dict
    c = config_from_dict({"gesture": {"model": str(tmp_path / "no.tflite")},
                          "emotion": {"model": str(tmp_path / "no_emotion.tflite")},
                          "liveness": {"model": str(tmp_path / "no_liveness.tflite")}})
    p = VisionPipeline(c, static_image_mode=True)
    try:
        assert not p.models["gesture"].available and p.models["gesture"].error
        assert not p.models["liveness"].available
        pool, notes = p.challenge_pool()
        assert {ch.kind for ch in pool} == {"head_pose"}
        assert any("gesture" in n for n in notes) and any("emotion" in n for n in notes)
    finally:
        p.close()


def test_nothing_runs_when_nothing_is_needed(pipeline, photos):
    img = cv2.imread(str(photos / "business_person.png"))
    pipeline.timings.clear()
    obs = pipeline.process(img, frozenset())
    assert not obs.face and not pipeline.timings


def test_face_only_in_idle(pipeline, photos):
    img = cv2.imread(str(photos / "business_person.png"))
    pipeline.timings.clear()
    obs = pipeline.process(img, frozenset({"face"}))
    assert obs.face and obs.faces == 1 and obs.track_id is not None
    assert obs.head_pose is None and obs.gesture is None and obs.emotion is None
    assert set(pipeline.timings) == {"face_mesh"}


def test_head_pose_when_needed(pipeline, photos):
    img = cv2.imread(str(photos / "two_faces.jpg"))
    obs = pipeline.process(img, frozenset({"face", "head_pose"}))
    assert obs.faces == 2 and obs.head_pose is not None
    assert "hands" not in pipeline.timings


def test_no_face_gives_an_empty_observation(pipeline):
    import numpy as np
    obs = pipeline.process(np.zeros((240, 320, 3), np.uint8), frozenset({"face", "liveness"}))
    assert not obs.face and obs.live is None
