"""The audio server dies while the real kiosk runs whole sessions: the kiosk goes on (sessions
finish and are reported), the log stays short, and SIGTERM still stops it cleanly.

Qt's PulseAudio backend aborts the whole process when a stream starts after its server died,
and a sink whose server vanished never reports its end: either would stop the kiosk (a crash
loop, or a voice queue stuck for ever). A private PulseAudio null sink is started and killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import short_session_kiosk


def playing(env: dict) -> bool:
    """A stream is playing into the sink (a prompt or an earcon)."""
    streams = subprocess.run(
        ["pactl", "list", "short", "sink-inputs"], env=env, capture_output=True, text=True, timeout=10
    ).stdout
    return bool(streams.strip())


def verdict_count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("pulseaudio", "pactl", "espeak-ng")),
    reason="pulseaudio, pactl and espeak-ng are needed (scripts/bootstrap.sh)",
)
def test_the_kiosk_goes_on_when_the_audio_server_is_killed(tmp_path, photos):
    k = short_session_kiosk(tmp_path, photos, with_audio=True)
    env, verdicts, audio = k.env, k.verdicts, k.audio
    pid_file = audio / "pulse" / "pid"
    proc = subprocess.Popen(
        k.command(),
        cwd=k.work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(
        target=lambda: lines.extend((time.monotonic(), line) for line in proc.stderr), daemon=True
    )
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not playing(env):
            time.sleep(0.1)
        assert playing(env), (
            f"no prompt was played with the audio server up (kiosk exit code {proc.poll()}, pulseaudio "
            f"pid file {'present' if pid_file.exists() else 'missing'}); kiosk log:\n"
            + "".join(line for _, line in lines)[-3000:]
        )
        os.kill(int(pid_file.read_text()), signal.SIGKILL)  # mid-prompt
        killed_at, before = time.monotonic(), verdict_count(verdicts)
        while time.monotonic() < killed_at + 120 and proc.poll() is None and verdict_count(verdicts) < before + 2:
            time.sleep(0.2)
        assert proc.poll() is None, "the kiosk died with its audio server"
        assert verdict_count(verdicts) >= before + 2, "sessions stopped after the audio server died"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(5)
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(["pkill", "-9", "-F", str(pid_file)], capture_output=True)
    log = "".join(line for _, line in lines)
    # The transcript (one INFO line per prompt, by design) is not noise; everything else is.
    after = [line for t, line in lines if t >= killed_at and "kiosk.transcript" not in line]
    assert proc.returncode == 0, log[-3000:]
    assert "Traceback" not in log and "QSocketNotifier" not in log, log[-3000:]
    assert len(after) < 30, f"{len(after)} log lines after the kill:\n" + "".join(after[:60])
    assert "audio lost" in log  # said once, so operators know why the kiosk is silent
