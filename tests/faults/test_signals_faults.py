"""Signals mid-session on the real kiosk process (offscreen, a folder of face photos as the
camera): SIGTERM and SIGHUP shut it down cleanly, SIGKILL stands for a crash or power cut. A
stop reports the session it cut before the process ends; after a kill the next start records it
as abandoned, counts it as one failure and reports it. Either way the host gets one signed
"fail" record: no session disappears, and none is reported twice."""

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import kiosk_process_env


def start_kiosk(tmp_path, photos):
    home, faces = tmp_path / "home", tmp_path / "faces"
    home.mkdir()
    faces.mkdir()
    (faces / "person.png").write_bytes((photos / "business_person.png").read_bytes())
    state, verdicts = tmp_path / "lockout.json", tmp_path / "verdicts.jsonl"
    site = tmp_path / "site.toml"
    # level 1 can neither pass nor deny, so the session is still running when the signal comes
    site.write_text(
        f"[liveness]\nreal_frames = 10000\nspoof_frames = 10000\ntimeout_s = 3600\n"
        f"[session]\nauto_start_s = 0.2\n"
        f'[security]\nmax_failures = 3\nstate_path = "{state}"\n'
        f'[verdict]\nhook = "file:{verdicts}"\nkey_path = "{home}/device.key"\n'
    )
    env = kiosk_process_env(home, KIOSK_LOG="INFO")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--config", str(site), "run", "--windowed", "--source", str(faces)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, site, state, verdicts


def session_in_progress(state) -> str | None:
    try:
        marker = json.loads(state.read_text()).get("in_progress")
    except (OSError, ValueError):
        return None
    return marker and marker.get("session_id")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_a_session_cut_by_a_signal_is_reported_once(tmp_path, photos, sig):
    """A stop (systemd's SIGTERM, or SIGHUP from a closed session) ends the session as abandoned
    and reports it at once: it is nothing the person did, so it does not count toward the
    lockout (here no challenge failed and level 1 saw no spoof). A kill leaves the in-progress
    marker: the next start counts it as one failure, so killing the kiosk is no free retry."""
    proc, site, state, verdicts = start_kiosk(tmp_path, photos)
    try:
        deadline = time.monotonic() + 120
        session = None
        while time.monotonic() < deadline and proc.poll() is None and session is None:
            session = session_in_progress(state)
            time.sleep(0.2)
        assert session, f"no session started: {proc.stderr.read()[-3000:] if proc.poll() is not None else ''}"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    killed = sig == signal.SIGKILL
    if killed:
        assert proc.returncode == -signal.SIGKILL
        assert not verdicts.exists() or session not in verdicts.read_text(), "nothing was reported yet"
    else:
        assert proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        assert session in verdicts.read_text(), "reported before the process ended"
        assert session_in_progress(state) is None

    # the next start, through the same code path as `kiosk run`
    from kiosk.config import load_config
    from kiosk.ui.app import build_kiosk
    from kiosk.verdict import check_record

    cfg = load_config(site)
    k = build_kiosk(cfg, start_worker=False)
    try:
        assert k.controller.engine.limiter.failures_in_window() == (1 if killed else 0)
    finally:
        k.shutdown()  # waits for the reporter's delivery
        k.pipeline.close()
    records = [json.loads(x) for x in verdicts.read_text().splitlines()]
    assert [(r["session_id"], r["verdict"]) for r in records] == [(session, "fail")]
    assert check_record(records[0], k.reporter.key) == []
    assert session_in_progress(state) is None, "recorded once, not at every start"
