import pytest

from kiosk.config import ConfigError, config_from_dict, load_config


def test_defaults_load_and_match_the_design():
    c = load_config()
    assert c.liveness.real_frames == 100 and c.liveness.spoof_frames == 25
    assert c.challenges.count == 7 and c.challenges.frames_to_pass == 25
    assert c.challenges.time_limit_s == 10.0 and c.challenges.attempts == 3
    assert set(c.challenges.kinds) == {"head_pose", "gesture", "emotion"}
    assert c.ui.allow_exit is False


@pytest.mark.parametrize("data, key, reason", [
    ({"liveness": {"real_frames": -3}}, "liveness.real_frames", "greater than 0"),
    ({"liveness": {"real_frames": 2.5}}, "liveness.real_frames", "integer"),
    ({"ui": {"languag": "de"}}, "ui.languag", "unknown key"),
    ({"ui": {"language": "xx"}}, "ui.language", "one of"),
    ({"challenges": {"kinds": ["head_pose", "dance"]}}, "challenges.kinds", "list of"),
    ({"challenges": {"gap_s": [2.0, 1.0]}}, "challenges.gap_s", "min <= max"),
    ({"ui": {"admin_pin": "12"}}, "ui.admin_pin", "4 digits"),
    ({"verdict": {"hook": "ftp://x"}}, "verdict.hook", "http"),
    ({"camera": {"fps": True}}, "camera.fps", "integer"),
    ({"nonsense": {"a": 1}}, "nonsense", "unknown key"),
    ({"liveness": {"score_ema": 0.0}}, "liveness.score_ema", "above 0"),
    ({"liveness": {"deny_on_flat": "yes"}}, "liveness.deny_on_flat", "true or false"),
    ({"emotion": {"allowed": ["happy", "bored"]}}, "emotion.allowed", "list of"),
    ({"emotion": {"min_validated_recall": 1.5}}, "emotion.min_validated_recall", "between 0 and 1"),
    ({"gesture": {"min_validated_recall": -0.1}}, "gesture.min_validated_recall", "between 0 and 1"),
])
def test_bad_values_name_the_key_and_the_reason(data, key, reason):
    with pytest.raises(ConfigError) as err:
        config_from_dict(data)
    assert err.value.key == key
    assert reason in str(err.value)
    assert f"'{key}'" in str(err.value)


def test_site_file_overrides_a_subset(tmp_path):
    f = tmp_path / "site.toml"
    f.write_text('[camera]\nsource = 2\n[challenges]\ncount = 3\n')
    c = load_config(f)
    assert c.camera.source == "2" and c.challenges.count == 3 and c.challenges.attempts == 3


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
