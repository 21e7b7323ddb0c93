"""Privacy guards: image payloads never reach a log, image files are found wherever they hide."""

import io
import logging
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from kiosk.privacy import ImagePayloadFilter, find_image_files, image_magic, install_log_filter


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(frame)s"))
    logger = logging.getLogger("kiosk.test_privacy")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    yield logger, handler, stream
    logger.removeHandler(handler)


def test_arrays_and_image_bytes_are_redacted(captured):
    logger, handler, stream = captured
    filt = ImagePayloadFilter()
    handler.addFilter(filt)
    frame = np.full((48, 64, 3), 77, np.uint8)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
    logger.info("frame %s", frame, extra={"frame": "-"})
    logger.info("png %r", png, extra={"frame": "-"})
    logger.info("big %s", b"\x01" * 5000, extra={"frame": "-"})
    logger.info("uri %s", "data:image/png;base64,iVBORw0KGgo=", extra={"frame": "-"})
    logger.info("crops %s", [frame[:8, :8]], extra={"frame": "-"})
    logger.info("extra", extra={"frame": frame})
    logger.info(frame, extra={"frame": "-"})
    logger.info("dict %(img)s", {"img": frame}, extra={"frame": "-"})
    out = stream.getvalue()
    assert filt.redacted == 8
    assert "77" not in out and "iVBOR" not in out and "\\x89PNG" not in out and "\\x01" not in out
    assert out.count("<redacted") == 8
    assert "shape=(48, 64, 3)" in out


def test_ordinary_records_pass_untouched(captured):
    logger, handler, stream = captured
    filt = ImagePayloadFilter()
    handler.addFilter(filt)
    logger.info("session %s passed %d levels, token %r", "s-1", 2, b"abc", extra={"frame": 12})
    assert stream.getvalue().strip() == "session s-1 passed 2 levels, token b'abc' 12"
    assert filt.redacted == 0


def test_reject_mode_drops_the_record(captured):
    logger, handler, stream = captured
    handler.addFilter(ImagePayloadFilter("reject"))
    logger.info("frame %s", np.zeros((2, 2)), extra={"frame": "-"})
    logger.info("kept", extra={"frame": "-"})
    assert stream.getvalue().strip() == "kept -"


def test_install_covers_records_from_child_loggers():
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        filt = install_log_filter()
        assert install_log_filter() is filt and handler.filters == [filt]  # not added twice
        logging.getLogger("kiosk.somewhere.deep").info("face %s", np.ones((3, 3), np.float32))
        assert "<redacted array shape=(3, 3)>" in stream.getvalue()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _bmp(width=2, height=2) -> bytes:
    row = (width * 3 + 3) // 4 * 4
    size = 54 + row * height
    return (
        b"BM"
        + struct.pack("<IHHI", size, 0, 0, 54)
        + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, row * height, 0, 0, 0, 0)
        + b"\x00" * row * height
    )


def test_find_image_files_by_extension_and_by_magic(tmp_path):
    cv2 = pytest.importorskip("cv2")
    img = np.zeros((8, 8, 3), np.uint8)
    (tmp_path / "a" / "b").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "a" / "shot.png"), img)
    cv2.imwrite(str(tmp_path / "a" / "b" / "face.JPG"), img)
    np.save(tmp_path / "dump.npy", img)
    hidden = {
        "disguised_png.log": (tmp_path / "a" / "shot.png").read_bytes(),
        "disguised_jpg.tmp": (tmp_path / "a" / "b" / "face.JPG").read_bytes(),
        "frame.bin": (tmp_path / "dump.npy").read_bytes(),
        "x.dat": _bmp(),
        "y": b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8,
        "z.cache": b"P6\n8 8\n255\n" + b"\x00" * 192,
    }
    for name, data in hidden.items():
        (tmp_path / "a" / "b" / name).write_bytes(data)
    innocent = {
        "notes.txt": b"BMW is a car; P6 plan\n",
        "b.txt": b"BM" + b"\x00" * 60,  # BMP-like start, wrong size field
        "verdicts.jsonl": b'{"verdict":"pass"}\n',
        "empty": b"",
    }
    for name, data in innocent.items():
        (tmp_path / name).write_bytes(data)
    found = {p.name for p in find_image_files(tmp_path)}
    assert found == {"shot.png", "face.JPG", "dump.npy", *hidden}


def test_image_magic_names_formats():
    assert image_magic(b"\x89PNG\r\n\x1a\n") == "png"
    assert image_magic(b"\xff\xd8\xff\xe0") == "jpeg"
    assert image_magic(b"\x93NUMPY\x01\x00") == "npy"
    assert image_magic(_bmp()[:16], len(_bmp())) == "bmp"
    assert image_magic(b"hello world") is None


# --- whole sessions with voice commands: every file written is traced --------------------------

VOICE_SESSIONS = r"""
import faulthandler, json, os, sys, threading, time
faulthandler.dump_traceback_later(170, exit=True)
written = []

def trace(event, args):
    # every file opened for writing by Python code, even one deleted at once
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        mode, flags = args[1], args[2] if len(args) > 2 else 0
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
            written.append(os.fsdecode(args[0]))
    elif event in ("os.rename", "os.replace", "shutil.move", "shutil.copyfile") and len(args) > 1:
        written.append(os.fsdecode(args[1]))

sys.addaudithook(trace)
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QCoreApplication
from kiosk.config import load_config
from kiosk.ui.app import build_kiosk

site, source, mic, verdicts = sys.argv[1:5]
start, repeat = (open(path, "rb").read() for path in sys.argv[5:7])  # what the person says

def feed_microphone():  # a person, at a real microphone's pace: silence, and a word when asked
    chunk = 2205 * 2  # 0.1 s of 22050 Hz 16-bit mono
    with open(mic, "wb", buffering=0) as fifo:
        due = time.monotonic()
        while True:
            sound = words.pop(0) if words else bytes(chunk)
            for i in range(0, len(sound), chunk):
                fifo.write(sound[i : i + chunk])
                due += len(sound[i : i + chunk]) / 44100
                time.sleep(max(0.0, due - time.monotonic()))

words = []
threading.Thread(target=feed_microphone, daemon=True).start()
kiosk = build_kiosk(load_config(site), source=source)
heard = []
kiosk.controller.listener.heard.connect(heard.append)
kiosk.controller.listener.not_understood.connect(lambda text: heard.append(text or "(nothing)"))
c = kiosk.controller
# The person presses the microphone button once in each step of a session and says a command a
# moment later ("start" on the welcome screen, "repeat" during the check; recognised or not, the
# recording is their voice). On the welcome screen at once, cutting its long spoken list short;
# during the check only when the kiosk is quiet, as a person waits for a prompt to end. (Nothing
# is said or started while the microphone is open, and what was heard is answered before the
# session goes on: presses on a timer could hold a session up for good.)
pressed = set()
deadline = time.monotonic() + 150
def sessions():
    return len(open(verdicts).read().splitlines()) if os.path.exists(verdicts) else 0
while time.monotonic() < deadline and (sessions() < 2 or len(heard) < 3):
    QCoreApplication.processEvents()
    time.sleep(0.02)
    state = c.engine.state.value
    step = (sessions(), state)
    free = not (c._microphone_open or c._confirming or c._help_open)
    if free and step not in pressed and (state == "welcome" or (state in ("liveness", "challenge") and not c._speaking())):
        pressed.add(step)
        c.handle_command("listen")  # the microphone button
        words.append(bytes(22050) + (start if state == "welcome" else repeat))
kiosk.shutdown()
print("RESULT " + json.dumps({"sessions": sessions(), "heard": heard, "written": sorted(set(written))}), flush=True)
"""


def _audio_magic(path: Path) -> str | None:
    if not path.is_file():  # a FIFO (the microphone's) would block the read
        return None
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] in (b"fLaC", b"OggS") or head[:3] == b"ID3":
        return "audio"
    return None


AUDIO_SUFFIXES = {".wav", ".raw", ".pcm", ".flac", ".ogg", ".mp3", ".opus", ".npy"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".webp", ".tif", ".tiff"}


def test_whole_sessions_with_voice_commands_write_no_voice_or_image_file(tmp_path, photos):
    """The real kiosk runs whole sessions on a face photo while a person's voice comes in
    through a microphone (a PulseAudio pipe source): the microphone button is pressed in each
    step, and "start" or "repeat" said. Every file its Python code opens for writing is traced
    (an audit hook), even files deleted at once, and its folders are scanned at the end (files
    written by C code). Only synthesized prompts (the TTS cache and temp folder) may be audio;
    no image anywhere."""
    import shutil
    import subprocess
    import sys

    from kiosk.privacy import find_image_files

    from conftest import child_result, short_session_kiosk, stop_private_audio_sink, use_microphone

    for tool in ("pulseaudio", "pactl", "espeak-ng"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (scripts/bootstrap.sh)")
    k = short_session_kiosk(tmp_path, photos, with_audio=True)
    home, tmp, work, faces, audio, verdicts, site, env = (
        k.home,
        k.tmp,
        k.work,
        k.faces,
        k.audio,
        k.verdicts,
        k.site,
        k.env,
    )
    mic = audio / "mic"
    said = []  # outside the kiosk's folders: the person, not the kiosk
    for word in ("start", "repeat"):
        said.append(tmp_path / f"{word}.raw")
        said[-1].write_bytes(
            subprocess.run(["espeak-ng", "-v", "en-us", "--stdout", word], check=True, capture_output=True).stdout[44:]
        )
    try:
        use_microphone(env, "module-pipe-source", f"file={mic}", "format=s16le", "rate=22050", "channels=1")
        argv = [sys.executable, "-c", VOICE_SESSIONS, str(site), str(faces), str(mic), str(verdicts), *map(str, said)]
        result, stderr = child_result(argv, work, env, timeout_s=200)
    finally:
        stop_private_audio_sink(audio)
    assert result["sessions"] >= 2, f"two whole sessions should have finished: {result}"
    assert len(result["heard"]) >= 3, f"the microphone was not used: {result}"
    assert "Traceback" not in stderr

    def is_prompt(path: Path) -> bool:  # synthesized prompts: the cache, the engines' folder
        if path.is_relative_to(home / ".cache" / "kiosk" / "tts"):
            return True
        parts = path.relative_to(tmp).parts if path.is_relative_to(tmp) else ()
        return bool(parts) and parts[0].startswith("kiosk-tts-")

    suspicious = []
    for name in result["written"]:  # deleted or not: judged by name, and by content if still there
        path = Path(name)
        if not any(path.is_relative_to(d) for d in (home, tmp, work)) or is_prompt(path):
            continue
        if path.suffix.lower() in AUDIO_SUFFIXES | IMAGE_SUFFIXES or _audio_magic(path):
            suspicious.append(name)
    for folder in (home, tmp, work):
        for path in folder.rglob("*"):
            if path.is_file() and not is_prompt(path) and (_audio_magic(path) or path.suffix.lower() in AUDIO_SUFFIXES):
                suspicious.append(str(path))
        suspicious += [str(p) for p in find_image_files(folder)]
    assert suspicious == [], f"voice or image data written: {suspicious}"
    assert any(is_prompt(Path(n)) for n in result["written"]), "the trace saw no file at all: is it on?"


def test_a_crash_leaves_no_core_dump_of_the_camera_frames_behind(tmp_path):
    """A crash in native code (MediaPipe, OpenCV, Qt) dumped the whole process, camera frames
    included, as a core file: systemd gives services an unlimited core size, and without
    systemd-coredump the kernel writes `core` into the working directory, /var/lib/kiosk. The
    kiosk's command line turns core dumps off for itself before anything else."""
    import resource
    import signal
    import subprocess
    import sys

    child = (
        "import ctypes, resource, sys\n"
        "import numpy as np\n"
        "from kiosk import cli\n"
        "cli.main(['verify-record', '/dev/null', '--key', '/no/such/key'])\n"
        "frame = np.full((480, 640, 3), 77, np.uint8)  # what a camera frame leaves in memory\n"
        "PR_GET_DUMPABLE = 3\n"
        "dumpable = ctypes.CDLL(None, use_errno=True).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)\n"
        "print(dumpable, resource.getrlimit(resource.RLIMIT_CORE), flush=True)\n"
        "ctypes.string_at(0)  # a segmentation fault, as in native code\n"
    )

    def unlimited_cores():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    done = subprocess.run(
        [sys.executable, "-c", child],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        preexec_fn=unlimited_cores,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGSEGV, done.stderr
    dumpable, soft = done.stdout.split()[:2]
    assert (dumpable, soft) == ("0", "(0,"), "not dumpable, and no core size to write"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("core")], "no core file on disk"
