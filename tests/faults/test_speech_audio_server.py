"""The audio server dies while the real kiosk runs whole sessions: the kiosk goes on (sessions
finish and are reported), the log stays short, and SIGTERM still stops it cleanly.

Qt's PulseAudio backend aborts the whole process when a stream starts after its server died,
and a sink whose server vanished never reports its end: either would stop the kiosk (a crash
loop, or a voice queue stuck for ever). A private PulseAudio null sink is started and killed.

A sound server that comes up after the kiosk (a boot race, or one restarted after a crash) is
never used by the running process (Qt connects once): the kiosk restarts itself for it, once,
on the attract screen and never during a session.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fault_harness import free_port

from kiosk.speech.qt_audio import AudioComeback, _AudioServer
from kiosk.ui.app import EXIT_AUDIO_RETURNED

from conftest import (
    kiosk_process_env,
    short_session_kiosk,
    stop_on_sigterm,
    stop_private_audio_sink,
    with_private_audio_sink,
)


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
        stop_on_sigterm(proc, reader)
    finally:
        if proc.poll() is None:
            proc.kill()
        stop_private_audio_sink(audio)
    log = "".join(line for _, line in lines)
    # The transcript (one INFO line per prompt, by design) is not noise; everything else is.
    after = [line for t, line in lines if t >= killed_at and "kiosk.transcript" not in line]
    assert proc.returncode == 0, log[-3000:]
    assert "Traceback" not in log and "QSocketNotifier" not in log, log[-3000:]
    assert len(after) < 30, f"{len(after)} log lines after the kill:\n" + "".join(after[:60])
    assert "audio lost" in log  # said once, so operators know why the kiosk is silent


# --- a sound server that comes up after the kiosk ---------------------------------------------

needs_pulseaudio = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("pulseaudio", "pactl")),
    reason="pulseaudio and pactl are needed (scripts/bootstrap.sh)",
)


def start_sink(audio: Path) -> dict:
    return with_private_audio_sink(dict(os.environ), audio)


def checks_until(comeback, limit: int = 10) -> int | None:
    """How many checks it took to say "restart now" (None: not within `limit`). The private
    server is answering when start_sink returns, so no check waits on it."""
    for n in range(1, limit + 1):
        if comeback.check():
            return n
    return None


@pytest.fixture
def private_socket(tmp_path, monkeypatch):
    """The audio server's address for this process, with no server on it yet."""
    audio = tmp_path / "audio"
    audio.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(audio))
    monkeypatch.setenv("PULSE_SERVER", f"unix:{audio}/pulse/native")
    yield audio
    stop_private_audio_sink(audio)


@needs_pulseaudio
def test_a_server_that_comes_up_after_the_start_is_noticed_after_the_settle(private_socket):
    """The boot race: no server when the kiosk starts (Qt's one connection attempt fails for
    good), a server later. The watch says so once the server has answered two checks in a row."""
    server = _AudioServer()
    server.note_start()  # as the Speaker does before Qt's first QMediaDevices call
    assert server.down_at_start is True
    comeback = AudioComeback(server, has_output=lambda: False)
    assert not comeback.check() and not comeback.check(), "no server yet: nothing to restart for"
    start_sink(private_socket)
    assert checks_until(comeback) == 2


@needs_pulseaudio
def test_a_server_there_from_the_start_never_asks_for_a_restart(private_socket):
    """No restart loop: a kiosk whose server answered at its start and that still has no audio
    output (a server without a sink, say) would find the same after a restart."""
    start_sink(private_socket)
    server = _AudioServer()
    server.note_start()
    assert server.down_at_start is False
    assert checks_until(AudioComeback(server, has_output=lambda: False)) is None
    # Audio that works: nothing to do either, whatever the start was like.
    assert checks_until(AudioComeback(server, has_output=lambda: True)) is None


def test_a_server_too_busy_to_accept_is_still_there(tmp_path, monkeypatch):
    """A loaded machine: the server has not yet accepted the watch's earlier probes, its queue is
    full and a new connect fails at once (EAGAIN). That is a busy server, not a missing one: no
    "came back" restart, no audio given up. A socket file nothing listens on is no server."""
    path = tmp_path / "native"
    monkeypatch.setenv("PULSE_SERVER", f"unix:{path}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)  # and never accepts
    server = _AudioServer()
    server.note_start()
    assert server.down_at_start is False
    queued = []
    for _ in range(3):  # fills the queue of a listener with backlog 1 (Linux takes backlog + 1)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.setblocking(False)
        try:
            probe.connect(str(path))
        except BlockingIOError:
            probe.close()
            break
        queued.append(probe)
    else:
        pytest.fail("the listener's queue never filled: the busy case was not made")
    try:
        assert server.reachable() is not None
        assert server.usable(), server.lost
        assert checks_until(AudioComeback(server, has_output=lambda: False)) is None
    finally:
        for probe in queued:
            probe.close()
        listener.close()
    assert server.reachable() is None, "a socket file nothing listens on was taken for a server"


@needs_pulseaudio
def test_a_lost_server_replaced_by_a_new_one_is_noticed(private_socket):
    """The server crashed and was restarted (by systemd or its own autospawn) while nothing
    played: Qt still lists the dead server's device, the process can never use the new server,
    and the watch sees the new socket file even though the gap fell between two checks. A
    stream that failed on a server still running is no reason to restart."""
    start_sink(private_socket)
    failed_stream, replaced = _AudioServer(), _AudioServer()
    for server in (failed_stream, replaced):
        server.note_start()
        assert server.usable()  # the kiosk played through it
    failed_stream.lose("the audio output failed (FatalError)")  # same server, still there
    assert checks_until(AudioComeback(failed_stream, has_output=lambda: True), 3) is None
    comeback = AudioComeback(replaced, has_output=lambda: True)
    assert checks_until(comeback, 3) is None, "audio works: nothing to do"

    pid = int((private_socket / "pulse" / "pid").read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and replaced.reachable() is not None:
        time.sleep(0.05)
    assert replaced.reachable() is None
    # Where nothing reaps the killed daemon (PID 1 of some containers) its zombie's pid still
    # looks alive, and PulseAudio's pid file check would refuse the new server.
    (private_socket / "pulse" / "pid").unlink(missing_ok=True)
    start_sink(private_socket)
    assert checks_until(comeback) == 2
    assert replaced.lost, "the replaced server was not noticed as lost"


def metric(port: int, name: str) -> float | None:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


@needs_pulseaudio
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is needed (scripts/bootstrap.sh)")
def test_a_kiosk_started_before_its_sound_server_restarts_itself_once_and_speaks(tmp_path):
    """`kiosk run` as under systemd, no camera (nobody in view: the attract screen), the sound
    server comes up after it: the kiosk plays nothing, kiosk_audio_up stays 0, then it exits once
    with EXIT_AUDIO_RETURNED, which Restart=always turns into a new kiosk; that one has its
    audio output (kiosk_audio_up 1), plays its prompt into the sink and stays up."""
    home, audio = tmp_path / "home", tmp_path / "audio"
    home.mkdir()
    audio.mkdir(mode=0o700)
    env = kiosk_process_env(
        home, KIOSK_LOG="INFO", XDG_RUNTIME_DIR=str(audio), PULSE_SERVER=f"unix:{audio}/pulse/native"
    )
    port = free_port()
    command = [sys.executable, "-m", "kiosk", "run", "--source", "97", "--metrics-port", str(port)]

    def start() -> tuple[subprocess.Popen, list[str]]:
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
        return proc, lines

    def wait_for(pred, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not pred():
            time.sleep(0.1)
        return pred()

    first, first_log = start()
    second = None
    try:
        assert wait_for(lambda: first.poll() is not None or metric(port, "kiosk_audio_up") is not None, 120)
        assert metric(port, "kiosk_audio_up") == 0.0, "first kiosk: " + "".join(first_log)[-3000:]
        sink_env = start_sink(audio)
        # The watch looks every AUDIO_WATCH_MS and wants two answers in a row; meanwhile the
        # first kiosk cannot play anything.
        assert wait_for(lambda: first.poll() is not None or playing(sink_env), 60), "no restart once the server was up"
        assert first.returncode == EXIT_AUDIO_RETURNED, "".join(first_log)[-3000:]
        wait_for(lambda: metric(port, "kiosk_audio_up") is None, 10)  # the port is free again

        second, second_log = start()
        assert wait_for(lambda: second.poll() is not None or metric(port, "kiosk_audio_up") == 1.0, 120), (
            "the restarted kiosk has no audio: " + "".join(second_log)[-3000:]
        )
        # The camera-lost prompt it says at start, heard this time.
        assert wait_for(lambda: second.poll() is not None or playing(sink_env), 60), "".join(second_log)[-3000:]
        assert second.poll() is None
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
        stop_private_audio_sink(audio)
    assert second.returncode == 0, "".join(second_log)[-3000:]  # stopped by SIGTERM, not for audio
    log = "".join(first_log)
    assert "Traceback" not in log
    assert sum("exiting with status 75" in line for line in first_log) == 1, log[-3000:]
    assert not any("exiting with status 75" in line for line in second_log)


class WalkingPerson:
    """The camera's view: a person in front (camera-like frames of a photo) until they walk
    away, then the empty scene."""

    def __init__(self, faces: Path, empty: Path):
        self.faces, self.empty = faces, empty
        self.there = True

    def open(self):
        from kiosk.vision.sources import open_source

        faces = open_source(str(self.faces), fps=25, loop=True)
        empty = open_source(str(self.empty), fps=25, loop=True)
        view = self

        class Camera:
            live = False

            def read(self):
                return faces.read() if view.there else empty.read()

            def close(self):
                faces.close()
                empty.close()

        return Camera()


class ServerBackLater:
    """Stands in for AudioComeback: no audio in this process, and a sound server is back once
    `back` is set (the real watch is tested above with a real server)."""

    def __init__(self):
        self.back = False

    def audio_missing(self) -> bool:
        return True

    def check(self) -> bool:
        return self.back


@pytest.fixture
def app():
    from kiosk.ui.app import qt_app

    return qt_app()


def test_the_restart_for_the_audio_waits_until_nobody_is_served(app, state_dir, tmp_path, photos, monkeypatch):
    """The server comes up while a person is mid-session: the kiosk finishes the session (the
    verdict is reported) and restarts only once the person has gone and the attract screen is
    idle. The real loop (kiosk.ui.app.serve), the real pipeline; fakes only at the edges."""
    import cv2
    import numpy as np
    from fault_harness import ListReporter, face_folder, serve_with, session_cfg

    from kiosk.session.engine import State
    from kiosk.ui.app import build_kiosk
    from kiosk.ui.controller import CaptionOnlySpeaker
    from kiosk.vision.pipeline import VisionPipeline

    empty = tmp_path / "empty"
    empty.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):  # an empty hall, with sensor noise
        cv2.imwrite(str(empty / f"{i}.jpg"), np.clip(rng.normal(110, 4, (480, 640, 3)), 0, 255).astype(np.uint8))
    person = WalkingPerson(face_folder(tmp_path, photos), empty)
    server = ServerBackLater()
    monkeypatch.setattr("kiosk.speech.qt_audio.AudioComeback", lambda: server)
    cfg = session_cfg(state_dir)
    speaker = CaptionOnlySpeaker()
    speaker.enabled = True  # voice on: the audio is wanted
    reporter = ListReporter()
    kiosk = build_kiosk(
        cfg,
        pipeline=VisionPipeline(cfg),
        speaker=speaker,
        reporter=reporter,
        source_factory=person.open,
    )
    in_session = (State.WELCOME, State.LIVENESS, State.CHALLENGE, State.PASSED, State.DENIED)
    seen: list[tuple[State, bool, bool]] = []  # (state, face in view, server back), every 50 ms

    def step(quit):
        engine = kiosk.controller.engine
        if engine.state == State.LIVENESS:
            server.back = True  # mid-session
        if reporter.records:
            person.there = False  # the verdict was given: the person walks away
        seen.append((engine.state, bool(engine.view().face), server.back))

    code = serve_with(kiosk, step, timeout_s=90, audio_watch_ms=50)
    assert code == EXIT_AUDIO_RETURNED, seen[-20:]
    assert reporter.records and reporter.records[0].result in ("passed", "denied"), "the session was cut"
    served_while_back = [s for s, _face, back in seen if back and s in in_session]
    assert served_while_back, "the server was back mid-session and the kiosk went on serving"
    state, face, _ = seen[-1]
    assert state == State.IDLE and not face and not person.there
