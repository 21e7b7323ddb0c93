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


def test_bench_prints_stage_latencies(photos, tmp_path, capsys):
    folder = tmp_path / "faces"
    folder.mkdir()
    shutil.copy(photos / "business_person.png", folder)
    assert main(["bench", "--source", str(folder), "--frames", "6"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames"] == 6 and out["fps"] > 0 and out["peak_rss_mb"] > 50
    assert "face_mesh" in out["stages"] and out["stages"]["face_mesh"]["n"] == 6
    assert "head_pose" in out["stages"]
