"""`kiosk run` as a real process, offscreen: no camera gives a screen and a retry loop, not a
traceback, and SIGTERM (systemd stop) shuts it down cleanly."""

import os
import signal
import subprocess
import sys
import time

from conftest import (
    ROOT,
    camera_like_frames,
    kiosk_process_env,
    read_until_camera_lost,
    short_session_kiosk,
    start_kiosk_without_a_camera,
    stop_on_sigterm,
)


def test_kiosk_without_a_camera_runs_and_stops_cleanly_on_sigterm(tmp_path):
    # HOME in a temp folder: the device key and caches are created there, not in the real home.
    proc = start_kiosk_without_a_camera(
        dict(os.environ, QT_QPA_PLATFORM="offscreen", KIOSK_LOG="INFO", HOME=str(tmp_path))
    )
    lines, reader = read_until_camera_lost(proc)
    try:
        assert proc.poll() is None, "the kiosk must keep running without a camera"
        stop_on_sigterm(proc, reader)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = "".join(lines)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert "camera lost: camera 97 is not available" in err
    key = tmp_path / ".local/share/kiosk/device.key"
    assert key.is_file() and key.stat().st_mode & 0o077 == 0, "device key created, private"


def test_a_second_run_on_the_same_state_is_refused_with_a_clear_error(tmp_path):
    # A manual `kiosk run` next to the service used to take the service's running session for
    # one cut by a crash (a "fail" verdict for it, then the real one refused as a repeat) and
    # rewrite the verdict spool under it.
    env = kiosk_process_env(tmp_path, KIOSK_LOG="INFO")
    command = [sys.executable, "-m", "kiosk", "run", "--source", "97"]
    first = start_kiosk_without_a_camera(env)
    lines, reader = read_until_camera_lost(first)
    try:
        assert first.poll() is None, "".join(lines)[-2000:]
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"another kiosk (pid {first.pid}) is running on" in second.stderr
        assert "Traceback" not in second.stderr, second.stderr[-2000:]
        assert first.poll() is None, "the first kiosk goes on"
        stop_on_sigterm(first, reader)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, "".join(lines)[-2000:]
    from kiosk.files import lock_instance

    os.close(lock_instance(tmp_path / ".local/share/kiosk"))  # freed when the holder ends


def test_full_sessions_leave_no_image_files(tmp_path, photos):
    """The real kiosk runs whole sessions on a face photo; afterwards no image file exists in its
    home, temp or working folders, and the verdict log proves sessions finished."""
    from kiosk.privacy import find_image_files

    k = short_session_kiosk(tmp_path, photos)
    home, tmp, work, verdicts = k.home, k.tmp, k.work, k.verdicts
    proc = subprocess.Popen(
        k.command(),
        cwd=work,
        env=k.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if verdicts.exists() and len(verdicts.read_text().splitlines()) >= 2:
                break
            time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert verdicts.exists(), err[-3000:]
    lines = verdicts.read_text().splitlines()
    assert len(lines) >= 2, "two whole sessions should have finished"
    assert "Traceback" not in err
    found = [p for d in (home, tmp, work) for p in find_image_files(d)]
    assert found == [], f"image files written: {found}"


def test_kiosk_tells_systemd_it_is_ready_feeds_the_watchdog_and_serves_metrics(tmp_path, photos):
    """As under systemd (Type=notify, WatchdogSec): READY=1, WATCHDOG=1 while it analyses frames,
    /metrics and /health on loopback, STOPPING=1 and exit 0 on SIGTERM."""
    import json
    import socket
    import urllib.request

    home, faces = tmp_path / "home", tmp_path / "faces"
    home.mkdir()
    faces.mkdir()
    camera_like_frames(photos / "business_person.png", faces)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(1.0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = kiosk_process_env(home, NOTIFY_SOCKET=str(tmp_path / "notify.sock"), WATCHDOG_USEC="1500000")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--source", str(faces), "--metrics-port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    messages = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and messages.count("WATCHDOG=1") < 3:
            try:
                messages.append(sock.recv(256).decode())
            except TimeoutError:
                pass
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:
            health = r.status, json.loads(r.read())
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        while True:
            try:
                messages.append(sock.recv(256).decode())
            except TimeoutError:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    assert messages[0] == "READY=1" and messages.count("WATCHDOG=1") >= 3, messages
    assert messages[-1] == "STOPPING=1"
    assert health == (200, health[1]) and health[1]["healthy"] and health[1]["camera"] == "ok"
    frames = [line for line in text.splitlines() if line.startswith("kiosk_frames_total ")]
    assert frames and float(frames[0].split()[1]) > 0
    assert proc.returncode == 0 and "Traceback" not in err
