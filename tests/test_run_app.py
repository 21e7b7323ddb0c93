"""`kiosk run` as a real process, offscreen: no camera gives a screen and a retry loop, not a
traceback, and SIGTERM (systemd stop) shuts it down cleanly."""
import os
import signal
import subprocess
import sys
import time

from conftest import ROOT


def test_kiosk_without_a_camera_runs_and_stops_cleanly_on_sigterm(tmp_path):
    # HOME in a temp folder: the device key and caches are created there, not in the real home.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KIOSK_LOG="INFO", HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--source", "97"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(12)
        assert proc.poll() is None, "the kiosk must keep running without a camera"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert "camera lost: camera 97 is not available" in err
    key = tmp_path / ".local/share/kiosk/device.key"
    assert key.is_file() and key.stat().st_mode & 0o077 == 0, "device key created, private"
