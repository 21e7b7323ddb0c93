from pathlib import Path

import pytest

from kiosk.config import ConfigError, config_from_dict, load_config


def test_defaults_load_and_match_the_design():
    c = load_config()
    assert c.liveness.real_frames == 100 and c.liveness.spoof_frames == 25
    assert c.challenges.count == 7 and c.challenges.frames_to_pass == 25
    assert c.challenges.time_limit_s == 10.0 and c.challenges.attempts == 3
    assert set(c.challenges.kinds) == {"head_pose", "gesture", "emotion"}
    assert c.ui.allow_exit is False


@pytest.mark.parametrize(
    "data, key, reason",
    [
        ({"liveness": {"real_frames": -3}}, "liveness.real_frames", "between 1 and"),
        ({"liveness": {"real_frames": 2.5}}, "liveness.real_frames", "integer"),
        ({"ui": {"languag": "de"}}, "ui.languag", "unknown key"),
        ({"ui": {"language": "xx"}}, "ui.language", "one of"),
        ({"challenges": {"kinds": ["head_pose", "dance"]}}, "challenges.kinds", "list of"),
        ({"challenges": {"gap_s": [2.0, 1.0]}}, "challenges.gap_s", "min <= max"),
        ({"ui": {"admin_pin": "12"}}, "ui.admin_pin", "6 digits"),
        ({"ui": {"admin_pin": "12345"}}, "ui.admin_pin", "6 digits"),
        ({"ui": {"admin_pin": "12345a"}}, "ui.admin_pin", "6 digits"),
        ({"ui": {"high_contrast": True}}, "ui.high_contrast", "unknown key"),
        ({"camera": {"reconnect_s": 1e306}}, "camera.reconnect_s", "between"),
        ({"camera": {"reconnect_s": float("nan")}}, "camera.reconnect_s", "finite"),
        ({"security": {"lockout_s": float("inf")}}, "security.lockout_s", "finite"),
        ({"security": {"window_s": 10**18}}, "security.window_s", "between"),
        ({"verdict": {"device_id": ""}}, "verdict.device_id", "printable"),
        ({"verdict": {"device_id": " kiosk"}}, "verdict.device_id", "spaces"),
        ({"verdict": {"hook": "command:"}}, "verdict.hook", "needs a program"),
        ({"verdict": {"hook": 'command:/bin/prog "unterminated'}}, "verdict.hook", "closing quotation"),
        ({"verdict": {"hook": "http://"}}, "verdict.hook", "no host"),
        ({"verdict": {"hook": "file:"}}, "verdict.hook", "needs a path"),
        ({"verdict": {"valid_s": 0}}, "verdict.valid_s", "between"),
        ({"camera": {"source": ""}}, "camera.source", "not be empty"),
        ({"verdict": {"hook": "ftp://x"}}, "verdict.hook", "http"),
        ({"camera": {"fps": True}}, "camera.fps", "integer"),
        ({"nonsense": {"a": 1}}, "nonsense", "unknown key"),
        ({"liveness": {"score_ema": 0.0}}, "liveness.score_ema", "above 0"),
        ({"liveness": {"deny_on_flat": "yes"}}, "liveness.deny_on_flat", "true or false"),
        ({"emotion": {"allowed": ["happy", "bored"]}}, "emotion.allowed", "list of"),
        ({"emotion": {"min_validated_recall": 1.5}}, "emotion.min_validated_recall", "between 0 and 1"),
        ({"gesture": {"min_validated_recall": -0.1}}, "gesture.min_validated_recall", "between 0 and 1"),
        ({"camera": {"frozen_after_s": 0.1}}, "camera.frozen_after_s", "between 0.5 and 600 seconds"),
        ({"liveness": {"still_window_frames": 1}}, "liveness.still_window_frames", "between 2 and 250 frames"),
        ({"liveness": {"still_window_frames": 5.5}}, "liveness.still_window_frames", "integer"),
        ({"liveness": {"still_noise_floor": 0}}, "liveness.still_noise_floor", "above 0"),
        ({"liveness": {"still_noise_floor": float("nan")}}, "liveness.still_noise_floor", "finite"),
        ({"health": {"storm_count": 0}}, "health.storm_count", "between 2 and"),
        ({"health": {"storm_window_s": float("inf")}}, "health.storm_window_s", "finite"),
        ({"health": {"storm_window_s": 0.5}}, "health.storm_window_s", "between 1 and"),
        ({"health": {"stale_after_s": 1.0}}, "health.stale_after_s", "between 3 and 600 seconds"),
        ({"health": 5}, "health", "must be a table"),
        # each value valid, together impossible: the run of frames outlasts the time allowed for it
        ({"liveness": {"real_frames": 100, "timeout_s": 4.0}}, "liveness.real_frames", "nobody could pass level 1"),
        ({"camera": {"fps": 2}}, "liveness.real_frames", "take 50.0 s"),
        ({"challenges": {"frames_to_pass": 250}}, "challenges.frames_to_pass", "nobody could pass a challenge"),
        ({"challenges": {"time_limit_s": 1.0}}, "challenges.frames_to_pass", "3 onset + 25 frames"),
    ],
)
def test_bad_values_name_the_key_and_the_reason(data, key, reason):
    with pytest.raises(ConfigError) as err:
        config_from_dict(data)
    assert err.value.key == key
    assert reason in str(err.value)
    assert f"'{key}'" in str(err.value)


def test_feed_and_health_thresholds_reach_the_parts_that_use_them(tmp_path):
    """The values a site sets are the ones the stillness check, the frozen-feed check and the
    error-storm watch run with (no copy of a default left in code wins over them)."""
    from kiosk.health import Health
    from kiosk.ui.worker import CameraWorker
    from kiosk.vision.pipeline import VisionPipeline

    f = tmp_path / "site.toml"
    f.write_text(
        "[camera]\nfrozen_after_s = 12.5\n[liveness]\nstill_noise_floor = 0.8\nstill_window_frames = 9\n"
        "[health]\nstale_after_s = 20.0\nstorm_count = 7\nstorm_window_s = 30.0\n"
    )
    c = load_config(f)
    pipeline = VisionPipeline(c)
    try:
        assert (pipeline.stillness.noise_floor, pipeline.stillness.window) == (0.8, 9)
    finally:
        pipeline.close()
    health = Health(c.health)
    assert (health.stale_after_s, health.errors.count, health.errors.window_s) == (20.0, 7, 30.0)
    worker = CameraWorker(lambda: None, lambda: None, frozen_after_s=c.camera.frozen_after_s)
    assert worker._frozen.after_s == 12.5
    # built without a config: the shipped values of default_config.toml, not a second copy
    shipped = load_config()
    assert Health().errors.count == shipped.health.storm_count
    assert CameraWorker(lambda: None, lambda: None)._frozen.after_s == shipped.camera.frozen_after_s


def test_an_error_storm_is_declared_at_the_configured_count():
    from kiosk.health import Health

    health = Health(config_from_dict({"health": {"storm_count": 3, "storm_window_s": 10.0}}).health)
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        started = [health.report_error("test", exc) for _ in range(3)]
    assert started == [False, False, True] and not health.healthy()


def test_an_exception_escaping_a_slot_is_counted_where_the_slot_ran(app, monkeypatch):
    """sys.excepthook (kiosk.ui.app.serve) gets exceptions escaping any Qt slot; one of the camera
    worker's, on its QThread, used to be counted as "gui" in kiosk_errors."""
    import sys

    from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

    from kiosk import metrics
    from kiosk.health import Health

    from conftest import wait_until

    health = Health()
    monkeypatch.setattr(sys, "excepthook", health.errors.excepthook())

    class Broken(QObject):
        poke = Signal()

        def __init__(self) -> None:
            super().__init__()
            self.poke.connect(self.fail)

        @Slot()
        def fail(self) -> None:
            raise RuntimeError("a slot failed")

    def count(where: str) -> float:
        return metrics.REGISTRY.get_sample_value("kiosk_errors_total", {"where": where}) or 0.0

    before = count("gui"), count("worker")
    on_gui = Broken()
    QTimer.singleShot(0, on_gui.fail)
    assert wait_until(lambda: count("gui") == before[0] + 1, 10)
    thread = QThread()
    on_worker = Broken()
    on_worker.moveToThread(thread)
    thread.start()
    try:
        on_worker.poke.emit()  # queued: runs on the worker's thread
        assert wait_until(lambda: count("worker") == before[1] + 1, 10)
    finally:
        thread.quit()
        thread.wait()
    assert count("gui") == before[0] + 1 and health.errors.total == 2


def test_site_file_overrides_a_subset(tmp_path):
    f = tmp_path / "site.toml"
    f.write_text("[camera]\nsource = 2\n[challenges]\ncount = 3\n")
    c = load_config(f)
    assert c.camera.source == "2" and c.challenges.count == 3 and c.challenges.attempts == 3


def test_a_camera_index_or_stream_url_is_kept_as_written(tmp_path):
    for source in ("0", "2", "rtsp://127.0.0.1:8554/cam", "/dev/video0"):
        assert config_from_dict({"camera": {"source": source}}, root=tmp_path).camera.source == source


def test_broken_toml_is_reported(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[camera\nsource = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(f)


def test_cli_check_config_names_the_key(tmp_path, capsys):
    from kiosk.cli import main

    f = tmp_path / "bad.toml"
    f.write_text("[liveness]\nspoof_frames = 0\n")
    assert main(["--config", str(f), "verify", "--source", "x"]) == 2
    assert "liveness.spoof_frames" in capsys.readouterr().err


def test_cli_check_config_takes_the_config_as_every_other_command_does(tmp_path, capsys):
    """`kiosk --config /etc/kiosk/config.toml check-config` (ExecStart's form) was a usage error
    ("the following arguments are required: path"); a second, different file is refused rather
    than one of the two checked silently."""
    from kiosk.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text("[liveness]\nspoof_frames = 0\n")
    assert main(["--config", str(bad), "check-config"]) == 2
    assert "liveness.spoof_frames" in capsys.readouterr().err
    other = tmp_path / "other.toml"
    other.write_text("")
    assert main(["--config", str(other), "check-config", str(bad)]) == 2
    assert "two config files" in capsys.readouterr().err
    assert main(["check-config"]) == 2
    assert "which config file" in capsys.readouterr().err


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        config_from_dict(
            {
                "camera": {"reconnect_s": 1e306, "fpz": 3},
                "security": {"lockout_s": float("inf")},
                "verdict": {"hook": "command:", "device_id": ""},
                "ui": {"admin_pin": "1234"},
            }
        )
    assert set(err.value.keys) == {
        "camera.reconnect_s",
        "camera.fpz",
        "security.lockout_s",
        "verdict.hook",
        "verdict.device_id",
        "ui.admin_pin",
    }
    text = str(err.value)
    assert text.startswith("6 config problems")
    assert all(f"'{k}'" in text for k in err.value.keys)


def test_every_path_resolves_against_the_root_not_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "bundle"
    c = config_from_dict(
        {
            "security": {"state_path": "state/lockout.json"},
            "verdict": {"key_path": "state/device.key", "hook": "file:out/verdicts.jsonl", "nonce_file": "run/nonce"},
            "speech": {"cache_dir": "cache/tts", "azure_key_file": "azure.key"},
            "camera": {"source": "recordings/lobby"},
        },
        root=root,
    )
    assert c.camera.source == str(root / "recordings/lobby")
    assert c.security.state_path == str(root / "state/lockout.json")
    assert c.verdict.key_path == str(root / "state/device.key")
    assert c.verdict.hook == f"file:{root / 'out/verdicts.jsonl'}"
    assert c.verdict.nonce_file == str(root / "run/nonce")
    assert c.speech.cache_dir == str(root / "cache/tts") and c.speech.azure_key_file == str(root / "azure.key")
    assert c.liveness.model == str(root / "models/liveness.tflite")
    home = config_from_dict({"security": {"state_path": "~/x.json"}}).security.state_path
    assert home == str(Path("~/x.json").expanduser())
    assert config_from_dict({}).security.state_path.startswith("/")
    assert config_from_dict({"security": {"state_path": ""}}).security.state_path == ""


def test_the_readme_threshold_table_shows_the_shipped_defaults():
    """The README's table of tunable thresholds repeats default_config.toml's values: checked here,
    so the two cannot drift apart."""
    import re

    from kiosk.config import PROJECT_ROOT, shipped_defaults

    shipped = shipped_defaults()
    key = r"`[a-z_]+\.[a-z_]+`"
    rows = re.findall(rf"^\| ({key}(?:, {key})*) \| ([0-9., ]+) \|", (PROJECT_ROOT / "README.md").read_text(), re.M)
    checked = 0
    for keys, defaults in rows:
        for name, default in zip(re.findall(r"`([a-z_.]+)`", keys), defaults.split(","), strict=True):
            section, field = name.split(".")
            assert float(default) == getattr(getattr(shipped, section), field), name
            checked += 1
    assert checked == 7
