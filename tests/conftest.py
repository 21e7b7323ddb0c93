import contextlib
import dataclasses
import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "tests" / "_screenshots"


def datasets_dir() -> Path:
    return Path(os.environ.get("KIOSK_DATASETS", ROOT.parent / "shared" / "datasets"))


def need_data(path: Path, what: str = "dataset") -> Path:
    """`path` or, when it is missing, a skip with the reason. With KIOSK_REQUIRE_DATASETS=1 (CI
    sets it whenever ../shared/datasets exists) a missing file fails the test instead, so a
    renamed or unreadable dataset cannot quietly turn the model tests into skips."""
    if not path.exists():
        message = f"{what} not found: {path} (set KIOSK_DATASETS)"
        if os.environ.get("KIOSK_REQUIRE_DATASETS") == "1":
            pytest.fail(message + "; KIOSK_REQUIRE_DATASETS=1 requires it")
        pytest.skip(message)
    return path


def camera_like_frames(photo: Path, folder: Path, n: int = 24, seed: int = 0) -> Path:
    """`n` frames of one photo as a camera would deliver them: sensor noise and a 2 px jitter
    in every frame. The kiosk rightly never takes a repeated, pixel-identical photo for a live
    person, so a folder source that should reach level 2 needs this (it loops over the frames)."""
    import cv2
    import numpy as np

    image = cv2.imread(str(photo))
    assert image is not None, f"unreadable photo {photo}"
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        dx, dy = rng.integers(-2, 3, 2)
        noisy = np.roll(image, (int(dy), int(dx)), (0, 1)).astype(np.int16) + rng.normal(0, 3, image.shape)
        cv2.imwrite(
            str(folder / f"frame-{i:03d}.jpg"), np.clip(noisy, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 95]
        )
    return folder


@dataclasses.dataclass(frozen=True)
class KioskProcessSetup:
    """Folders, site config and environment for `python -m kiosk run` as a real process."""

    home: Path
    tmp: Path
    work: Path
    faces: Path  # the camera: camera-like frames of a real photo
    audio: Path  # the private audio server's folder (with_audio=True)
    verdicts: Path  # the file hook's verdict log
    site: Path
    env: dict

    def command(self) -> list[str]:
        return [sys.executable, "-m", "kiosk", "--config", str(self.site), "run", "--source", str(self.faces)]


def child_result(argv: list[str], cwd: Path, env: dict, timeout_s: float) -> tuple[dict, str]:
    """Runs a child process that prints one `RESULT {json}` line: (that JSON, its stderr). A
    child that fails or prints no result fails the test with the end of its output."""
    import json

    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :]), done.stderr


def kiosk_process_env(home: Path, **extra: str) -> dict:
    """The environment for a `python -m kiosk` child process: this checkout's code, Qt offscreen,
    HOME and the speech cache inside the test's own folder, plus `extra`."""
    return dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        HOME=str(home),
        PYTHONPATH=str(ROOT),
        XDG_CACHE_HOME=str(home / ".cache"),
        **extra,
    )


def with_private_audio_sink(env: dict, audio_dir: Path) -> dict:
    """`env` plus the address of a private PulseAudio null sink and microphone started in
    audio_dir (scripts/start-audio-sink.sh); its pid file is audio_dir/pulse/pid."""
    env = dict(env, KIOSK_AUDIO_DIR=str(audio_dir))
    exports = subprocess.run(
        ["bash", str(ROOT / "scripts" / "start-audio-sink.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    for pair in exports.split()[1:]:
        name, _, value = pair.partition("=")
        env[name] = value
    return env


def stop_private_audio_sink(audio_dir: Path) -> None:
    """Ends the sink with_private_audio_sink started (SIGKILL: nothing of it needs to be kept)."""
    subprocess.run(["pkill", "-9", "-F", str(audio_dir / "pulse" / "pid")], capture_output=True)


def use_microphone(env: dict, module: str, *arguments: str) -> None:
    """Loads a PulseAudio source module as "kiosk_mic" on the server `env` names and makes it the
    default microphone (module-pipe-source: a file the test writes; module-remap-source: what the
    sink plays)."""
    for args in (["load-module", module, "source_name=kiosk_mic", *arguments], ["set-default-source", "kiosk_mic"]):
        subprocess.run(["pactl", *args], env=env, check=True, capture_output=True, timeout=10)


def start_kiosk_without_a_camera(env: dict) -> "subprocess.Popen[str]":
    """`python -m kiosk run` from this checkout with camera 97 (none: its camera screen and retry
    loop), stderr piped as text for read_until_camera_lost."""
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--source", "97"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until_camera_lost(proc) -> tuple[list[str], threading.Thread]:
    """Collects the kiosk's stderr lines (on, in a thread) and waits until it is up and in its
    retry loop, having said the camera is lost (the Qt loop runs, so the SIGTERM handler is in
    place; a busy machine may take long to get there), or has ended."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not any("camera lost" in x for x in lines):
        time.sleep(0.1)
    return lines, reader


def stop_on_sigterm(proc, reader, timeout_s: float = 30.0) -> None:
    """systemd's stop: SIGTERM, then the process must end by itself within timeout_s; the thread
    reading its output is given a moment to finish."""
    import signal

    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=timeout_s)
    reader.join(10)


def short_session_kiosk(tmp_path: Path, photos: Path, with_audio: bool = False) -> KioskProcessSetup:
    """Whole sessions in seconds (15 live frames, 1 s challenges, no pause), verdicts to a file,
    HOME/TMPDIR/cache in tmp_path; with_audio starts a private PulseAudio null sink and
    microphone (scripts/start-audio-sink.sh) and puts its address in the environment."""

    home, tmp, work, faces, audio = (tmp_path / n for n in ("home", "tmp", "work", "faces", "audio"))
    for d in (home, tmp, work):
        d.mkdir()
    camera_like_frames(photos / "business_person.png", faces)
    verdicts = tmp_path / "verdicts.jsonl"
    site = work / "site.toml"
    site.write_text(
        "[liveness]\nreal_frames = 15\n[challenges]\ntime_limit_s = 1.2\ngap_s = [0.0, 0.0]\n"
        "[session]\nresult_display_s = 1.0\nauto_start_s = 0.5\n"
        f'[verdict]\nhook = "file:{verdicts}"\n'
    )
    env = kiosk_process_env(home, TMPDIR=str(tmp))
    if with_audio:
        env = with_private_audio_sink(env, audio)
    return KioskProcessSetup(home, tmp, work, faces, audio, verdicts, site, env)


def wait_until(pred, timeout_s: float = 30.0) -> bool:
    """Spins the Qt loop until pred() holds or the deadline passes (no fixed sleeps)."""
    import time

    from PySide6.QtCore import QCoreApplication, QEventLoop

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if pred():
            return True
        time.sleep(0.005)
    return pred()


@pytest.fixture(scope="module")
def app():
    from kiosk.ui.app import qt_app

    return qt_app()


@pytest.fixture(scope="module")
def pipeline(cfg):
    """The real pipeline (video mode), shared by a module's kiosks."""
    from kiosk.vision.pipeline import VisionPipeline

    p = VisionPipeline(cfg)
    yield p
    p.close()


@pytest.fixture(scope="session")
def datasets() -> Path:
    return need_data(datasets_dir(), "shared datasets")


@pytest.fixture(scope="session")
def photos(datasets) -> Path:
    return need_data(datasets / "photos", "smoke-test photos")


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory) -> Path:
    """Where tests keep the device key and verdict spool (never the real home)."""
    return tmp_path_factory.mktemp("kiosk-state")


_LOCKOUT_FILES = itertools.count()


def make_cfg(state_dir: Path, **sections):
    from kiosk.config import config_from_dict

    # one lockout file per config: failed sessions of one test must not lock a later test's kiosk
    data = {
        "verdict": {"key_path": str(state_dir / "device.key")},
        "security": {"state_path": str(state_dir / f"lockout-{next(_LOCKOUT_FILES)}.json")},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return config_from_dict(data)


@pytest.fixture(scope="session")
def cfg(state_dir):
    return make_cfg(state_dir)


@contextlib.contextmanager
def shown_kiosk(cfg, pipeline, **kwargs):
    """A kiosk on `pipeline` (no camera worker, a manual clock unless given), shown at 1280x800.
    Afterwards it is shut down and closed, and any translator it installed is removed: the next
    test expects English."""
    from PySide6.QtCore import QTranslator

    from kiosk.session.clock import ManualClock
    from kiosk.ui.app import build_kiosk, qt_app

    kwargs.setdefault("clock", ManualClock())
    k = build_kiosk(cfg, pipeline=pipeline, start_worker=False, **kwargs)
    try:
        k.window.resize(1280, 800)
        k.window.show()
        yield k
    finally:
        k.controller.shutdown()
        k.window.allow_close = True
        k.window.close()
        for t in qt_app().findChildren(QTranslator):
            qt_app().removeTranslator(t)
