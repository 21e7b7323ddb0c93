"""Bad configs: `check-config` and `run` agree. Each one fails both, naming the key, before a
session can start: check-config exits 2, run shows "out of service" and waits for a stop instead
of exiting into a restart loop (Restart=always) or starting and crashing later. Every problem of a
config is listed at once; what only the models can tell (a missing model, an empty challenge
pool, a bad device key) fails check-config and puts run out of service too."""

import signal
import socket
import subprocess
import sys

import pytest

from kiosk import cli
from kiosk.cli import main

from conftest import kiosk_process_env, make_cfg

BAD = [
    ("[camera]\nreconnect_s = 1e306\n", "camera.reconnect_s"),
    ("[camera]\nreconnect_s = nan\n", "camera.reconnect_s"),
    ("[security]\nlockout_s = inf\n", "security.lockout_s"),
    ("[security]\nwindow_s = 1e300\n", "security.window_s"),
    ("[challenges]\ntime_limit_s = 1e20\n", "challenges.time_limit_s"),
    ("[session]\nresult_display_s = -inf\n", "session.result_display_s"),
    ('[verdict]\nhook = "command:"\n', "verdict.hook"),
    ('[verdict]\nhook = "command:/bin/cat \\"unterminated"\n', "verdict.hook"),
    ('[verdict]\nhook = "http://"\n', "verdict.hook"),
    ('[verdict]\nhook = "file:"\n', "verdict.hook"),
    ('[verdict]\ndevice_id = ""\n', "verdict.device_id"),
    ('[ui]\nadmin_pin = "4711"\n', "ui.admin_pin"),
    ("[ui]\nhigh_contrast = true\n", "ui.high_contrast"),
    ('[camera]\nsource = ""\n', "camera.source"),
    ("[camera]\nfrozen_after_s = 0\n", "camera.frozen_after_s"),
    ("[liveness]\nstill_window_frames = 1\n", "liveness.still_window_frames"),
    ("[liveness]\nstill_noise_floor = inf\n", "liveness.still_noise_floor"),
    ("[health]\nstorm_count = 1\n", "health.storm_count"),
    ('[health]\nstorm_window_s = "60"\n', "health.storm_window_s"),
    ("[health]\nstale_after_s = 1e9\n", "health.stale_after_s"),
    ("[health]\nstorm_size = 50\n", "health.storm_size"),
]


def site(tmp_path, body: str):
    f = tmp_path / "site.toml"
    # the test's own state folder: check-config looks at the device key it names
    f.write_text(
        f"{body}\n" if body.startswith("[verdict]") else f'{body}\n[verdict]\nkey_path = "{tmp_path}/device.key"\n'
    )
    return f


@pytest.mark.parametrize("body, key", BAD)
def test_check_config_and_run_both_refuse_naming_the_key(tmp_path, capsys, monkeypatch, body, key):
    f = site(tmp_path, body)
    assert main(["check-config", str(f)]) == 2
    assert f"'{key}'" in capsys.readouterr().err
    # run refuses in the config step (no camera, no session, nothing that could crash later) and
    # goes to the out-of-service screen, which names the key
    shown = []
    monkeypatch.setattr(cli, "out_of_service", lambda reason, windowed=False: shown.append(reason) or 0)
    assert main(["--config", str(f), "run", "--windowed"]) == 0
    assert f"'{key}'" in capsys.readouterr().err
    assert len(shown) == 1 and key in shown[0]


def test_the_admin_pin_is_never_echoed_in_an_error(tmp_path, capsys):
    f = site(tmp_path, '[ui]\nadmin_pin = "4711"\n')
    assert main(["check-config", str(f)]) == 2
    err = capsys.readouterr().err
    assert "'ui.admin_pin'" in err and "4711" not in err


def test_every_problem_of_a_config_is_listed_at_once(tmp_path, capsys):
    f = tmp_path / "site.toml"
    f.write_text(
        '[camera]\nreconnect_s = 1e306\n[security]\nlockout_s = inf\nstate_path = "x.json"\n'
        '[verdict]\nhook = "command:"\ndevice_id = ""\n[ui]\nadmin_pin = "12"\nhigh_contrast = true\n'
    )
    assert main(["check-config", str(f)]) == 2
    err = capsys.readouterr().err
    for key in (
        "camera.reconnect_s",
        "security.lockout_s",
        "verdict.hook",
        "verdict.device_id",
        "ui.admin_pin",
        "ui.high_contrast",
    ):
        assert f"'{key}'" in err, err
    assert "6 config problems" in err


def test_a_good_config_passes_and_names_its_challenges(tmp_path, capsys):
    f = site(tmp_path, "[challenges]\ncount = 3\n")
    assert main(["check-config", str(f)]) == 0
    out = capsys.readouterr().out
    assert ": ok (" in out and "head_pose" in out
    assert not (tmp_path / "device.key").exists(), "check-config creates nothing"


def test_a_hook_program_that_is_not_there_is_a_note_not_a_failure(tmp_path, capsys):
    # installed after the kiosk, perhaps: verdicts wait in the spool, but the operator is told now
    f = site(tmp_path, f'[verdict]\nhook = "command:{tmp_path / "on-verdict"} --send"\n')
    assert main(["check-config", str(f)]) == 0
    out = capsys.readouterr().out
    assert "note: verdict.hook: program" in out and "not found" in out and ": ok (" in out


def test_a_source_file_or_folder_that_is_not_there_fails_check_config(tmp_path, capsys):
    """A video file or image folder that does not exist can never give a frame: run would show the
    camera screen for good, so check-config names the key. A camera index, a device node or a
    stream URL may come and go while the kiosk runs (the reconnect loop is for that): they pass."""
    f = site(tmp_path, '[camera]\nsource = "recordings/lobby.mp4"\n')
    assert main(["check-config", str(f)]) == 2
    err = capsys.readouterr().err
    assert "'camera.source'" in err and "lobby.mp4" in err
    for fine in ("0", "/dev/video9", "rtsp://127.0.0.1:8554/cam", str(tmp_path)):
        f = site(tmp_path, f'[camera]\nsource = "{fine}"\n')
        assert main(["check-config", str(f)]) == 0, capsys.readouterr().err
        assert "camera.source" not in capsys.readouterr().out


def test_no_hook_is_a_note_that_verdicts_go_nowhere(tmp_path, capsys):
    # allowed for a demonstration, but a site that forgot the hook must hear it before the host
    # misses its verdicts: with no hook each one is signed and shown, then dropped
    f = site(tmp_path, "[challenges]\ncount = 3\n")
    assert main(["check-config", str(f)]) == 0
    out = capsys.readouterr().out
    assert "note: verdict.hook is empty" in out and "dropped" in out and ": ok (" in out
    f = site(tmp_path, f'[verdict]\nkey_path = "{tmp_path}/device.key"\nhook = "file:{tmp_path}/v.jsonl"\n')
    assert main(["check-config", str(f)]) == 0
    assert "verdict.hook" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "body, key",
    [
        ('[challenges]\nkinds = ["gesture"]\n[gesture]\nmodel = "models/none.tflite"\n', "gesture.model"),
        ('[challenges]\nkinds = ["emotion"]\n[emotion]\nallowed = []\n', "challenges.kinds"),
        ('[liveness]\nmodel = "models/none.tflite"\n', "liveness.model"),
    ],
)
def test_models_and_an_empty_pool_fail_check_config_and_put_run_out_of_service(tmp_path, capsys, body, key):
    f = site(tmp_path, body)
    assert main(["check-config", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"'{key}'" in err
    if key == "gesture.model":
        assert "'challenges.kinds'" in err, "the pool it leaves empty is reported too"
    from kiosk.config import load_config
    from kiosk.reporting import NullReporter
    from kiosk.session.clock import ManualClock
    from kiosk.ui.app import build_kiosk

    cfg = load_config(f)
    k = build_kiosk(cfg, start_worker=False, clock=ManualClock(), reporter=NullReporter())
    try:
        assert k.controller.model_problem, "run shows out of service instead of drawing from nothing"
        assert k.window.stack.currentWidget() is k.window.message
    finally:
        k.controller.shutdown()
        k.pipeline.close()
        k.window.allow_close = True
        k.window.close()


@pytest.mark.parametrize(
    "content, why",
    [("00" * 32, "repeated"), ("ab" * 16, "16 bytes"), ("not hex", "not hex"), (None, "was issued here before")],
)
def test_a_bad_device_key_fails_check_config_and_puts_run_out_of_service(tmp_path, capsys, content, why):
    key = tmp_path / "device.key"
    if content is None:
        (tmp_path / "device.key.issued").touch()
    else:
        key.write_text(content + "\n")
        key.chmod(0o600)
    f = site(tmp_path, "")
    assert main(["check-config", str(f)]) == 2
    err = capsys.readouterr().err
    assert "'verdict.key_path'" in err and why in err
    from kiosk.reporting import VerdictReporter

    cfg = make_cfg(tmp_path, verdict={"key_path": str(key)})
    reporter = VerdictReporter(cfg, {})
    try:
        assert why in reporter.key_error and "device key" in reporter.problem and reporter.key is None
        assert not key.exists() or content is not None, "a missing key is not regenerated"
    finally:
        reporter.close()


def test_run_with_a_bad_config_stays_out_of_service_until_stopped(tmp_path):
    """As systemd starts it: a separate process that names the key once, shows out of service,
    does not exit (no restart loop), and stops cleanly on SIGTERM."""
    f = site(tmp_path, "[security]\nlockout_s = inf\n")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(90)  # a deadline for a loaded machine, not a wait
    env = kiosk_process_env(tmp_path, NOTIFY_SOCKET=str(tmp_path / "notify.sock"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--config", str(f), "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # READY=1 comes once the screen is up and SIGTERM is handled (a stop sent earlier, on a
        # slow machine, would meet Python's default handler)
        with notify:
            while b"READY=1" not in notify.recv(4096):
                pass
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=3)  # it stays up: no exit for systemd to restart into the same error
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert err.count("'security.lockout_s'") == 1 and "Traceback" not in err
    assert not (tmp_path / ".local").exists(), "no key, no state: nothing started"


@pytest.mark.parametrize("source", ["/nonexistent/video.mp4", "EMPTY"])
def test_bench_on_a_bad_source_says_so_in_one_line(tmp_path, capsys, source):
    if source == "EMPTY":
        source = str(tmp_path)
    assert main(["bench", "--source", source, "--frames", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kiosk: bench: ") and "Traceback" not in err


def test_run_with_a_deleted_key_shows_out_of_service_and_makes_no_new_key(tmp_path):
    from kiosk.session.clock import ManualClock
    from kiosk.ui.app import build_kiosk

    key = tmp_path / "device.key"
    (tmp_path / "device.key.issued").touch()
    cfg = make_cfg(tmp_path, verdict={"key_path": str(key)})
    k = build_kiosk(cfg, start_worker=False, clock=ManualClock())
    try:
        assert "device key" in k.controller.model_problem
        assert k.window.stack.currentWidget() is k.window.message
        assert not key.exists()
    finally:
        k.shutdown()
        k.pipeline.close()
