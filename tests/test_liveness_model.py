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


# --- capture quality, frozen feeds, identity (the signals level 1 judges beside the model) -------


def _synthetic_face(w: int = 640, h: int = 480, box=(250, 150, 140, 170)) -> Face:
    """A face-mesh-like point cloud filling `box`: enough for the capture measures (box, landmarks)."""
    x, y, bw, bh = box
    rng = np.random.default_rng(3)
    pts = np.c_[rng.uniform(x, x + bw, 478), rng.uniform(y, y + bh, 478), np.zeros(478)].astype(np.float32)
    pts[0, :2], pts[1, :2] = (x, y), (x + bw - 1, y + bh - 1)
    return Face(pts, box, (w, h))


def _scene(
    face_level: float,
    background: float,
    texture: float = 40.0,
    w: int = 640,
    h: int = 480,
    box=(250, 150, 140, 170),
    seed: int = 0,
) -> np.ndarray:
    """Grey frame: a textured 'face' (sharp detail, like eyes and skin edges) on a flat background."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w), background, np.float32)
    x, y, bw, bh = box
    tile = rng.normal(0, 1, (bh // 6 + 1, bw // 6 + 1))
    detail = np.kron(tile, np.ones((6, 6)))[:bh, :bw]
    img[y : y + bh, x : x + bw] = face_level + texture * detail
    return np.clip(img, 0, 255).astype(np.uint8)


def test_capture_quality_passes_a_good_frame_and_names_each_problem():
    import cv2

    from kiosk.session.observation import CaptureProblem
    from kiosk.vision.capture_quality import CaptureQuality

    q = CaptureQuality()
    face = _synthetic_face()
    good = _scene(130, 110)
    assert q.assess(good, face) is None
    assert q.assess(_scene(6, 5, texture=3), face) == CaptureProblem.DARK  # darker than any frame measured
    assert q.assess(_scene(18, 15, texture=6), face) is None  # a dark room: the model has learnt it
    assert q.assess(_scene(60, 50, texture=15), face) is None  # dim, but enough to judge
    assert q.assess(_scene(40, 240, texture=10), face) == CaptureProblem.BACKLIT
    assert q.assess(_scene(254, 200, texture=2), face) == CaptureProblem.OVEREXPOSED
    assert q.assess(cv2.GaussianBlur(good, (0, 0), 10), face) == CaptureProblem.BLURRED
    # blur the model was measured to judge well (a moving head) is judged, not flagged
    assert q.assess(cv2.GaussianBlur(good, (0, 0), 6), face) is None
    small = _synthetic_face(box=(300, 200, 20, 24))
    assert q.assess(_scene(130, 110, box=(300, 200, 20, 24)), small) == CaptureProblem.TOO_FAR
    cut = _synthetic_face(box=(560, 150, 140, 170))
    pts = cut.landmarks.copy()
    assert (pts[:, 0] >= 640).mean() > 0.3  # half the face beyond the right border
    assert q.assess(_scene(130, 110), cut) == CaptureProblem.OUT_OF_FRAME


def test_a_dim_but_sharp_face_is_not_called_blurred():
    from kiosk.vision.capture_quality import measure

    face = _synthetic_face()
    bright, dim = measure(_scene(130, 110), face), measure(_scene(70, 60, texture=20), face)
    assert abs(bright.sharpness - dim.sharpness) < 0.35 * bright.sharpness


def test_frozen_feed_is_still_and_a_noisy_camera_is_not():
    from kiosk.vision.still import StillnessDetector

    frame = _scene(130, 110)
    box = (250, 150, 140, 170)
    det = StillnessDetector(noise_floor=0.5, window=5)
    flags = [det.update(frame.copy(), box) for _ in range(10)]
    assert flags[:5] == [False] * 5 and all(flags[5:])  # still once a whole window showed no change

    rng = np.random.default_rng(1)
    det = StillnessDetector(noise_floor=0.5, window=5)
    noisy = [np.clip(frame + rng.normal(0, 1.0, frame.shape), 0, 255).round().astype(np.uint8) for _ in range(30)]
    assert not any(det.update(f, box) for f in noisy)  # sensor noise of 1 grey level is never still


def test_a_camera_that_repeats_a_buffer_now_and_then_is_not_still():
    from kiosk.vision.still import StillnessDetector

    rng = np.random.default_rng(2)
    frame = _scene(130, 110)
    det = StillnessDetector(noise_floor=0.5, window=5)
    out = []
    for i in range(40):
        if i % 2 == 0:  # a fresh sensor frame every second read, the same buffer in between
            current = np.clip(frame + rng.normal(0, 1.5, frame.shape), 0, 255).round().astype(np.uint8)
        out.append(det.update(current, (250, 150, 140, 170)))
    assert not any(out)


def test_tracker_gives_the_same_person_their_id_back_and_a_new_person_a_new_one():
    from kiosk.vision.tracking import FaceTracker, geometry_signature

    base = _face_points()
    other = base.copy()
    other[:, 1] *= 1.25  # a longer face: different proportions
    t = FaceTracker(max_gap_frames=2, other_person=0.06)
    a = t.update((100, 100, 80, 80), geometry_signature(base))
    for _ in range(5):
        t.update(None)  # lost for longer than the overlap tracker's gap
    assert t.update((400, 100, 80, 80), geometry_signature(base * 0.7)) == a  # same face, elsewhere, smaller
    b = t.update((100, 300, 80, 80), geometry_signature(other))
    assert b != a
    assert t.update((400, 100, 80, 80), geometry_signature(base)) == a  # the first person is back
    very_other = base.copy()
    very_other[:, 1] *= 1.8
    # swapped in place: only a face of clearly other proportions (the overlap keeps the id otherwise)
    assert t.update((402, 100, 80, 80), geometry_signature(very_other)) != a


def _face_points() -> np.ndarray:
    rng = np.random.default_rng(5)
    pts = rng.uniform(0, 100, (478, 3)).astype(np.float32)
    return pts


# --- level 1 end to end: `kiosk verify` on a frozen photo and on a real recording -----------------


def _verify(folder: Path, **liveness) -> dict:
    from kiosk.config import load_config
    from kiosk.headless import run_verify

    cfg = load_config(overrides={"liveness": liveness})
    return run_verify(cfg, str(folder))


def test_a_folder_of_one_photo_repeated_never_passes_level_1(model, tmp_path):
    import shutil

    live = sorted(need(DATASETS / "nuaa_train" / "real" / "0006").glob("*.jpg"))[10]
    for i in range(150):  # the same photo as 150 "camera frames": a frozen or injected feed
        shutil.copy(live, tmp_path / f"frame_{i:04d}.jpg")
    out = _verify(tmp_path, timeout_s=5.0)
    assert out["verdict"] == "fail" and out["reason"] == "liveness_timeout", out["verdict"]
    assert out["session"]["levels_passed"] == 0


def test_a_real_recording_still_passes_level_1(model, tmp_path):
    import shutil

    files = sorted(
        need(DATASETS / "nuaa_train" / "real" / "0006").glob("0006_00_00_01_*.jpg"),
        key=lambda p: int(p.stem.split("_")[-1]),
    )
    assert len(files) > 100
    for i, f in enumerate(files + files[-2:0:-1]):  # forwards then back: a longer real take
        shutil.copy(f, tmp_path / f"frame_{i:04d}.jpg")
    out = _verify(tmp_path)
    assert out["session"]["levels_passed"] >= 1, out.get("reason")


# --- the training recipe's leave-subjects-out folds ---------------------------------------------


def test_a_leave_subjects_out_fold_runs_the_shipped_recipe_and_writes_only_into_its_folder():
    """crossval.py retrains the recipe per held-out group: its steps must take the shipped steps'
    arguments (one recipe) and never write the shipped model, its JSON, DET picture or logs."""
    from training.liveness.__main__ import commands

    shipped = commands("D", "W")
    fold = commands("D", "W/fold_A", fold=True)
    assert "signals" not in fold and "--update-meta" not in fold["evaluate"][1]
    for step, (which, args) in fold.items():
        assert which == shipped[step][0]
        base = [a.replace("W/fold_A", "W") for a in args]
        assert base[: len(shipped[step][1])] == shipped[step][1] or step == "evaluate"
        for flag in ("--out", "--report", "--det", "--model", "--teacher", "--keras"):
            # a bare file name is one in the work folder (train.py --out)
            if flag in args and "/" in (value := args[args.index(flag) + 1]):
                assert value.startswith("W/fold_A/"), (step, flag)
    assert "--update-meta" in shipped["evaluate"][1]  # only the shipped run writes the card's figures


def test_a_baseline_merge_with_a_fold_missing_leaves_the_report_as_it_is(tmp_path, capsys):
    """On a machine holding only some folds' evaluations, merging the baseline must not replace the
    all-subjects report (and the card's figure) with fewer subjects; a variant's merge may be partial."""
    import json

    from training.liveness import crossval

    out = tmp_path / "crossval.json"
    out.write_text("{}")
    assert crossval.main(["--summary-only", "--work", str(tmp_path), "--out", str(out)]) == 1
    assert out.read_text() == "{}"
    assert "fold_A" in capsys.readouterr().err
    shipped = json.loads(crossval.SHIPPED_REPORT.read_text())
    (tmp_path / "fold_B-v" / "report").mkdir(parents=True)
    (tmp_path / "fold_B-v" / "report" / "runtime_eval_liveness.json").write_text(json.dumps(shipped))
    assert crossval.main(["--summary-only", "--work", str(tmp_path), "--variant", "v", "--out", str(out)]) == 0
    assert list(json.loads(out.read_text())["attacks"]) == ["B"]  # the folds it merged


def test_the_held_out_subjects_follow_LIVENESS_VAL_SUBJECTS_and_unknown_ones_are_refused():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; sys.path.insert(0, 'training/liveness'); import data;"
        "idx = {'subject': np.array(['0001', '0002', '0003', '0006', '0008'])};"
        "print(data.split_mask(idx).tolist())"
    )

    def run(value):
        env = {k: v for k, v in os.environ.items() if k != "LIVENESS_VAL_SUBJECTS"}
        if value is not None:
            env["LIVENESS_VAL_SUBJECTS"] = value
        return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)

    assert run(None).stdout.strip() == "[False, False, True, True, True]"  # the shipped split: 0003 0006 0008
    assert run("0001,0002").stdout.strip() == "[True, True, False, False, False]"
    bad = run("0001,0042")
    assert bad.returncode != 0 and "0042" in bad.stderr


def test_the_operating_point_table_shows_each_folds_report_at_every_threshold(tmp_path, capsys):
    """`report_tables.py --sweep`: the card's table of thresholds per held-out fold is read from the
    evaluation reports, not typed; a threshold one report lacks shows as '-'."""
    from training.liveness import report_tables

    def report(name, subjects, sweep):
        path = tmp_path / name
        path.write_text(json.dumps({"val_subjects": subjects, "sweep_raw": sweep, "model": name, "command": "x"}))
        return str(path)

    a = report(
        "a.json", ["0001"], {"0.10": {"BPCER_raw_live_all": 0.002, "APCER_raw_print": 0.0, "APCER_raw_screen": 0.061}}
    )
    b = report(
        "b.json",
        ["0009"],
        {
            "0.10": {"BPCER_raw_live_all": 0.05, "APCER_raw_print": 0.0, "APCER_raw_screen": 0.0},
            "0.50": {"BPCER_raw_live_all": 0.174, "APCER_raw_print": 0.0, "APCER_raw_screen": 0.0},
        },
    )
    report_tables.sweep([a, b])
    out = capsys.readouterr().out
    assert "screen accepted (0001)" in out and "live wrong (0009)" in out
    assert "| 0.10 | 0.2 % | 0.0 % | 6.1 % | 5.0 % | 0.0 % | 0.0 % |" in out
    assert "| 0.50 | - | - | - | 17.4 % | 0.0 % | 0.0 % |" in out
