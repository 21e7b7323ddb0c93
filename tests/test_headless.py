"""`kiosk verify` / `kiosk bench` end to end on real photos with real MediaPipe and models."""

import json
import shutil

import pytest

from kiosk.cli import main
from kiosk.config import config_from_dict
from kiosk.headless import parse_script, run_verify


def test_parse_script_inline_and_file(tmp_path):
    assert parse_script("head_pose:left, gesture:like") == ["head_pose:left", "gesture:like"]
    f = tmp_path / "s.txt"
    f.write_text("# order\nhead_pose:up\n\nemotion:happy  # smile\n")
    assert parse_script(str(f)) == ["head_pose:up", "emotion:happy"]
    with pytest.raises(ValueError):
        parse_script(" , ")


def test_missing_liveness_model_gives_a_clear_error_verdict(photos, tmp_path):
    cfg = config_from_dict({"liveness": {"model": str(tmp_path / "missing.tflite")}})
    out = run_verify(cfg, str(photos), hold=2)
    assert out["verdict"] == "error"
    assert "liveness model unavailable" in out["reason"] and str(tmp_path / "missing.") in out["reason"]
    assert out["models"]["liveness"]["available"] is False


def test_unavailable_scripted_challenge_is_refused(photos, capsys):
    code = main(["verify", "--source", str(photos), "--script", "gesture:moonwalk"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and out["verdict"] == "error" and "moonwalk" in out["reason"]


def test_missing_source_is_an_error_not_a_traceback(capsys):
    code = main(["verify", "--source", "/nonexistent/folder_or_clip.mp4"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and "not found" in out["reason"]


@pytest.mark.parametrize("args", [["--hold", "0"], ["--fps", "0"], ["--fps", "-5"], ["--hold", "two"]])
def test_counts_below_one_are_refused_with_the_option_named(args, photos, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--source", str(photos), *args])
    assert exit_info.value.code == 2 and args[0] in capsys.readouterr().err


def test_a_folder_of_unreadable_images_is_an_error_that_names_them(tmp_path, capsys):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    code = main(["verify", "--source", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and out["verdict"] == "error"
    assert "no readable frame" in out["reason"] and "broken.jpg" in out["reason"]


def test_bench_reports_each_session_state_on_frames_of_the_camera_size(photos, tmp_path, capsys):
    folder = tmp_path / "faces"
    folder.mkdir()
    shutil.copy(photos / "business_person.png", folder)  # 958 x 1358: larger than the camera mode
    assert main(["bench", "--source", str(folder), "--frames", "6"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frame_sizes"] == ["339x480"], "scaled as the camera source delivers frames"
    assert out["frames"] == 6 and out["fps"] > 0 and out["peak_rss_mb"] > 50
    states = out["states"]
    assert list(states) == [
        "idle",
        "liveness",
        "challenge_head_pose",
        "challenge_gesture",
        "challenge_emotion",
        "every_detector",
    ]
    assert set(states["idle"]["stages"]) == {"face_mesh"} and states["idle"]["ratio_to_idle"] == 1.0
    assert "hands" in states["challenge_gesture"]["stages"] and "emotion" not in states["challenge_gesture"]["stages"]
    assert "liveness" in states["liveness"]["stages"] and "hands" not in states["liveness"]["stages"]
    for entry in states.values():
        assert entry["n"] == 6 and entry["first_frame_ms"] > 0 and entry["p95_ms"] >= entry["median_ms"]
        assert entry["by_faces"]["1"]["n"] == 6, "one person in every frame"
    assert out["stages"] == states["every_detector"]["stages"] and "head_pose" in out["stages"]


def test_bench_splits_frames_by_faces_in_view(photos, tmp_path, capsys):
    folder = tmp_path / "faces"
    folder.mkdir()
    shutil.copy(photos / "business_person.png", folder / "a.png")
    shutil.copy(photos / "two_faces.jpg", folder / "b.jpg")
    assert main(["bench", "--source", str(folder), "--frames", "8", "--hold", "2"]) == 0
    states = json.loads(capsys.readouterr().out)["states"]
    for entry in states.values():
        split = entry["by_faces"]
        # (a frame right after the scene changes can show no face: the tracking mesh looks again)
        assert {"1", "2"} <= set(split) <= {"0", "1", "2"}
        assert all(v["ratio_to_idle"] > 0 for v in split.values())
        assert sum(v["n"] for v in split.values()) == entry["n"] == 8
    # with a second face in view nothing is judged, so the classifiers do not run on those frames
    emotion = states["challenge_emotion"]
    assert emotion["stages"]["emotion"]["n"] == emotion["by_faces"]["1"]["n"]


# --- made-up sequences through `kiosk verify --script`: a challenge counts only once the asked
# state starts after the prompt, and only on frames that show a live camera's noise.
def made_up_sequence(out, photos, n, hand_from, frozen_from=None, seed=0):
    """A person (head and shoulders of a real photo) with a real thumbs-up hand pasted beside them
    from frame `hand_from` on; every frame gets camera-like noise and a 2 px jitter, except that
    from `frozen_from` on the same frame repeats (a frozen or injected feed)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    # not her own hand; cut at the frame's bottom edge: a straight cut across the body near the
    # face is what a printed photo's edge looks like, and the liveness model rightly says spoof
    person = cv2.imread(str(photos / "business_person.png"))[:620, 200:700]
    hand = cv2.resize(cv2.imread(str(photos / "hand_thumb_up.jpg")), (420, 342))
    out.mkdir()
    frame = None
    for i in range(n):
        if frozen_from is None or i <= frozen_from:
            canvas = np.full((720, 960, 3), 235, np.uint8)
            canvas[100:720, :500] = person
            if i >= hand_from:
                canvas[330:672, 520:940] = hand
            dx, dy = rng.integers(-2, 3, 2)
            noisy = np.roll(canvas, (dy, dx), (0, 1)).astype(np.int16) + rng.normal(0, 3, canvas.shape)
            frame = cv2.resize(np.clip(noisy, 0, 255).astype(np.uint8), (640, 480), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(out / f"{i:04d}.png"), frame)
    return out


def verify_like(folder, capsys) -> dict:
    main(["verify", "--source", str(folder), "--script", "gesture:like"])
    out = json.loads(capsys.readouterr().out)
    assert out["session"]["levels_passed"] >= 1, "level 1 must pass on the noisy frames"
    return out["session"]["challenges"][0]


def test_a_hand_that_changes_from_none_to_like_passes_like(photos, tmp_path, capsys):
    # Level 1 passes by frame ~110; the hand comes after the prompt.
    like = verify_like(made_up_sequence(tmp_path / "seq", photos, 190, hand_from=150), capsys)
    assert like["id"] == "gesture:like" and like["passed"] and like["matched_frames"] == 25


def test_a_gesture_already_shown_when_the_prompt_appears_never_counts(photos, tmp_path, capsys):
    """A replayed clip that shows the gesture before it was asked for: no onset, no frame counts."""
    like = verify_like(made_up_sequence(tmp_path / "seq", photos, 200, hand_from=95), capsys)
    assert not like["passed"] and like["matched_frames"] == 0 and like["frames"] > 50


def test_a_frozen_feed_cannot_hold_a_challenge(photos, tmp_path, capsys):
    """The hand appears after the prompt, then the feed freezes: still frames neither hold nor
    pass the challenge."""
    like = verify_like(made_up_sequence(tmp_path / "seq", photos, 190, hand_from=150, frozen_from=155), capsys)
    assert not like["passed"] and like["matched_frames"] < 25
