"""Qt side of speech under QT_QPA_PLATFORM=offscreen: captions with voice off, synthesis off
the GUI thread, interruption, earcons, playback without an audio device, the Listener
(recognition from files; one test records the kiosk's own speaker through a private PulseAudio
sink's monitor), prompts held while the microphone is open, and a spoken flow of a whole session
that records every utterance."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import wave  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6.QtMultimedia", reason="PySide6 with QtMultimedia is required")
from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from kiosk.speech.commands import AzureSTT, Command, CommandRecognizer, KeywordSpotter  # noqa: E402
from kiosk.speech.earcons import EARCONS  # noqa: E402
from kiosk.speech.qt_audio import Listener, Speaker, _has_audio_output  # noqa: E402
from kiosk.speech.tts import AzureTTS, OfflineTTS, TTSChain, wav_info  # noqa: E402

from conftest import child_result, stop_private_audio_sink, use_microphone, with_private_audio_sink  # noqa: E402

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng binary not installed (apt install espeak-ng)")

_spec = importlib.util.spec_from_file_location("_speech_fakes", Path(__file__).with_name("test_speech_tts.py"))
_fakes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fakes)
FakeAzure, FAKE_KEY = _fakes.FakeAzure, _fakes.FAKE_KEY


@pytest.fixture(scope="module")
def app():
    return QApplication.instance() or QApplication([])


def wait_until(predicate, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        if predicate():
            return True
        time.sleep(0.01)
    QCoreApplication.processEvents()
    return predicate()


def tone_wav(path: Path, seconds: float = 0.3) -> Path:
    t = np.arange(int(16000 * seconds)) / 16000
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((6000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes())
    return path


class FakeTTS:
    """Counts calls and the threads they ran on; optionally slow."""

    name = "fake"

    def __init__(self, directory: Path, delay_s: float = 0.0):
        self.directory, self.delay_s = directory, delay_s
        self.calls: list[tuple[str, str]] = []
        self.threads: set[int] = set()

    def synthesize(self, text: str, language: str) -> Path:
        self.calls.append((text, language))
        self.threads.add(threading.get_ident())
        time.sleep(self.delay_s)
        return tone_wav(self.directory / f"{len(self.calls)}.wav")


def record(signal) -> list:
    seen = []
    signal.connect(lambda *args: seen.append(args[0] if len(args) == 1 else args))
    return seen


# --- Speaker -------------------------------------------------------------------------------


def test_captions_are_emitted_with_voice_off(app, tmp_path):
    tts = FakeTTS(tmp_path)
    speaker = Speaker(tts, enabled=False)
    captions = record(speaker.caption)
    for text in ("Welcome", "Please look at the camera", "Done"):
        speaker.say(text)
    assert captions == ["Welcome", "Please look at the camera", "Done"]
    assert tts.calls == []  # nothing synthesized with voice off
    assert [u.voiced for u in speaker.utterances] == [False, False, False]
    speaker.shutdown()


def test_synthesis_runs_off_the_gui_thread_and_plays_without_a_device(app, tmp_path):
    tts = FakeTTS(tmp_path)
    speaker = Speaker(tts, language="de")
    errors = record(speaker.error)
    utterance = speaker.say("Bitte lächeln")
    assert wait_until(lambda: utterance.wav is not None)
    assert tts.calls == [("Bitte lächeln", "de")]
    assert threading.get_ident() not in tts.threads
    if _has_audio_output():
        assert wait_until(lambda: utterance.played)
    else:  # this machine: no audio device, no crash
        assert wait_until(lambda: errors)
        assert "no audio output device" in errors[0]
        assert not speaker.speaking
    speaker.shutdown()


@needs_espeak
def test_a_missing_speech_engine_is_logged_once_not_once_per_prompt(app, tmp_path, monkeypatch, caplog):
    """espeak-ng gone (an uninstalled package, a broken library) with Azure off: every prompt
    is still captioned and ends with its error, but the journal gets one warning for the
    outage, not one per prompt for as long as it lasts, and one line when speech is back."""
    import logging

    chain = TTSChain([OfflineTTS(out_dir=tmp_path / "out")], tmp_path / "cache")
    monkeypatch.setattr(OfflineTTS, "_pyttsx3_broken", True)  # the library fails: the CLI is the engine
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # ... and the binary is gone
    speaker = Speaker(chain, language="de")
    errors = record(speaker.error)
    captions = record(speaker.caption)
    caplog.set_level(logging.DEBUG, logger="kiosk.speech")
    failed = [speaker.say(f"Bitte lächeln Sie ({i})", interrupt=False) for i in range(5)]
    assert wait_until(lambda: all(u.error for u in failed))
    assert len(captions) == 5
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "espeak" in warnings[0], warnings
    assert errors == ["speech output unavailable"]

    monkeypatch.setenv("PATH", str(Path(ESPEAK).parent))
    caplog.clear()
    back = speaker.say("Die Stimme ist wieder da")
    assert wait_until(lambda: back.wav is not None)
    assert any("works again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    speaker.shutdown()


def test_media_player_path_survives_a_missing_device(app, tmp_path, monkeypatch):
    """Force the QMediaPlayer path even though no device exists: prompts play in order to
    their end (or fail with an error signal), never crash, and speaking ends False."""
    import kiosk.speech.qt_audio as qt_audio

    monkeypatch.setattr(qt_audio, "_has_audio_output", lambda: True)
    speaker = Speaker(FakeTTS(tmp_path))
    states = record(speaker.speaking_changed)
    first = speaker.say("one")
    second = speaker.say("two", interrupt=False)
    speaker.play_earcon("attention")
    assert wait_until(lambda: first.played and second.played and not speaker.speaking, 8.0)
    assert states[0] is True and states[-1] is False
    speaker.say("three")
    assert wait_until(lambda: speaker.speaking, 3.0)
    speaker.stop()
    assert not speaker.speaking
    speaker.shutdown()


def test_interrupt_drops_the_older_prompts(app, tmp_path):
    tts = FakeTTS(tmp_path, delay_s=0.2)
    speaker = Speaker(tts)
    old = speaker.say("Turn your head left")
    waiting = speaker.say("Now nod", interrupt=False)
    new = speaker.say("Cancelled", interrupt=True)
    assert wait_until(lambda: new.wav is not None)
    assert wait_until(lambda: old.interrupted and waiting.interrupted)
    assert not old.played and not waiting.played
    assert "Now nod" not in [c[0] for c in tts.calls]  # never synthesized: it was dropped first
    speaker.shutdown()


def test_queued_prompts_keep_their_order(app, tmp_path):
    tts = FakeTTS(tmp_path, delay_s=0.05)
    speaker = Speaker(tts)
    utterances = [speaker.say(t, interrupt=False) for t in ("one", "two", "three")]
    assert wait_until(lambda: all(u.wav for u in utterances))
    assert [c[0] for c in tts.calls] == ["one", "two", "three"]
    assert not any(u.interrupted for u in utterances)
    speaker.shutdown()


def test_switching_voice_off_stops_and_signals(app, tmp_path):
    speaker = Speaker(FakeTTS(tmp_path, delay_s=0.2))
    changes = record(speaker.enabled_changed)
    pending = speaker.say("A long instruction")
    speaker.set_enabled(False)
    assert not speaker.enabled and changes == [False]
    assert wait_until(lambda: pending.interrupted)
    assert speaker.toggle_enabled() is True and changes == [False, True]
    speaker.shutdown()


def test_earcons_play_without_crashing_and_are_logged(app, tmp_path):
    speaker = Speaker(FakeTTS(tmp_path), enabled=False)  # earcons do not depend on voice
    played = record(speaker.earcon)
    for name in EARCONS:
        speaker.play_earcon(name)
    speaker.play_earcon("success")  # alias of "pass"
    wait_until(lambda: False, 0.2)
    assert played == list(EARCONS) + ["pass"]
    assert {"pass", "fail", "detected", "step", "listening", "attention"} <= set(EARCONS)
    with pytest.raises(KeyError):
        speaker.play_earcon("fanfare")
    speaker.shutdown()


def test_a_missing_earcon_file_costs_its_sound_only(app, tmp_path, monkeypatch, caplog):
    """A sound file gone from the installation (a partial update, a wrong KIOSK_SOUNDS_DIR)
    must not raise out of play_earcon into the caller, which goes on to say and report the
    verdict: the earcon's screen signal still comes, and each missing file is logged once."""
    import logging

    import kiosk.speech.earcons as earcons
    import kiosk.speech.qt_audio as qt_audio

    monkeypatch.setattr(earcons, "SOUNDS_DIR", tmp_path / "sounds")  # nothing there
    monkeypatch.setattr(qt_audio, "_has_audio_output", lambda: True)
    speaker = Speaker(FakeTTS(tmp_path), enabled=False)
    played = record(speaker.earcon)
    caplog.set_level(logging.DEBUG, logger="kiosk.speech")
    for name in ("pass", "fail", "pass", "success"):
        speaker.play_earcon(name)
    assert played == ["pass", "fail", "pass", "pass"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2 and all("missing" in w for w in warnings), warnings
    with pytest.raises(KeyError):
        speaker.play_earcon("fanfare")  # an unknown name stays a programming error
    speaker.shutdown()


def test_earcon_files_are_short_and_distinct():
    """Short and small, and pairwise different in length or in dominant pitch."""
    from kiosk.speech.earcons import earcon_path

    features = {}
    for name in EARCONS:
        path = earcon_path(name)
        with wave.open(str(path)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
        seconds = len(x) / rate
        assert 0 < seconds <= 0.6 and path.stat().st_size < 40_000
        spectrum = np.abs(np.fft.rfft(x))
        features[name] = (seconds, np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])
    names = list(features)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (da, fa), (db, fb) = features[a], features[b]
            assert abs(da - db) > 0.05 or abs(fa - fb) / max(fa, fb) > 0.1, (a, b, features)


@needs_espeak
def test_speaker_with_the_real_chain_falls_back_when_azure_hangs(app, tmp_path):
    fake = FakeAzure()
    try:
        fake.hang()
        chain = TTSChain(
            [AzureTTS(FAKE_KEY, "westeurope", endpoint=fake.tts_url, out_dir=tmp_path), OfflineTTS(out_dir=tmp_path)],
            tmp_path / "cache",
        )
        speaker = Speaker(chain)
        start = time.monotonic()
        utterance = speaker.say("Please blink twice")
        assert wait_until(lambda: utterance.wav is not None, 3.0)
        assert time.monotonic() - start < 1.5
        assert utterance.engine == "espeak" and wav_info(utterance.wav)[0] > 0
        speaker.shutdown()
    finally:
        fake.close()


# --- Listener --------------------------------------------------------------------------------


def test_listen_reports_a_missing_microphone(app):
    if Listener.microphone_available():
        pytest.skip("this machine has a microphone")
    listener = Listener(CommandRecognizer([KeywordSpotter()]))
    missing, errors, states = record(listener.no_microphone), record(listener.error), record(listener.listening_changed)
    assert listener.listen(seconds=1) is False
    assert len(missing) == 1 and errors == ["no microphone"]
    assert states == [] and not listener.listening


@needs_espeak
def test_recognize_file_emits_the_command(app, tmp_path):
    listener = Listener(CommandRecognizer([KeywordSpotter()]))
    commands, heard = record(listener.command), record(listener.heard)
    wav = tmp_path / "cancel.wav"
    subprocess.run([ESPEAK, "-v", "en-us", "-w", str(wav), "cancel"], check=True)
    listener.recognize_file(wav)
    assert wait_until(lambda: commands)
    assert commands == [Command.CANCEL] and heard == ["cancel"]
    listener.shutdown()


def test_recognize_file_reports_silence_as_not_understood(app, tmp_path):
    listener = Listener(CommandRecognizer([KeywordSpotter()]))
    commands, unclear = record(listener.command), record(listener.not_understood)
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(16000, dtype="<i2").tobytes())
    listener.recognize_file(path)
    assert wait_until(lambda: unclear)
    assert commands == [] and unclear == [""]
    listener.shutdown()


# --- a whole session, spoken ------------------------------------------------------------------


@needs_espeak
def test_spoken_flow_records_every_utterance(app, tmp_path):
    """A scripted session: Azure answers, then hangs mid-session (espeak-ng takes over), the
    user switches the voice off and on by voice. Every prompt is captioned and logged in
    order; every voiced prompt has audio from the engine that was up at that moment."""
    fake = FakeAzure()
    fake.answer()
    try:
        chain = TTSChain(
            [AzureTTS(FAKE_KEY, "westeurope", endpoint=fake.tts_url, out_dir=tmp_path), OfflineTTS(out_dir=tmp_path)],
            tmp_path / "cache",
        )
        speaker = Speaker(chain, language="en")
        recognizer = CommandRecognizer(
            [AzureSTT(FAKE_KEY, "westeurope", endpoint=fake.stt_url, timeout_s=1.0), KeywordSpotter()]
        )
        listener = Listener(recognizer)
        listener.command.connect(
            lambda c: (
                speaker.set_enabled(c is not Command.VOICE_OFF) if c in (Command.VOICE_ON, Command.VOICE_OFF) else None
            )
        )
        captions = record(speaker.caption)

        def say_and_wait(text):
            u = speaker.say(text, interrupt=False)
            if u.voiced:
                assert wait_until(lambda: u.wav is not None or u.error, 5.0), text
            return u

        def voice_command(phrase, azure_text):
            fake.stt_text = azure_text
            wav = tmp_path / f"{phrase.replace(' ', '_')}.wav"
            subprocess.run([ESPEAK, "-v", "en-us", "-w", str(wav), phrase], check=True)
            got = record(listener.command)
            listener.recognize_file(wav)
            assert wait_until(lambda: got, 5.0), phrase
            return got[0]

        script = []
        for text in ("Welcome. Press start or say start.", "Look at the camera."):
            script.append(text)
            say_and_wait(text)
        speaker.play_earcon("step")
        fake.hang()  # outage mid-session
        script.append("Turn your head to the left.")
        say_and_wait(script[-1])
        assert voice_command("voice off", "Voice off.") is Command.VOICE_OFF  # offline spotter
        assert not speaker.enabled
        script.append("Now smile.")
        say_and_wait(script[-1])
        assert voice_command("voice on", "Voice on.") is Command.VOICE_ON
        assert speaker.enabled
        fake.answer()
        speaker.play_earcon("pass")
        script.append("Thank you. You passed.")
        say_and_wait(script[-1])

        log = speaker.utterances
        assert [u.text for u in log] == script == captions
        assert [u.voiced for u in log] == [True, True, True, False, True]
        assert [u.engine for u in log] == ["azure", "azure", "espeak", None, "espeak"]  # still backing off
        for u in log:
            if u.voiced:
                assert wav_info(u.wav)[0] > 0
        assert list(speaker.earcons_played) == ["step", "pass"]
        speaker.shutdown()
        listener.shutdown()
    finally:
        fake.close()


def test_is_speaking_covers_synthesis_and_finished_comes_once(app, tmp_path):
    tts = FakeTTS(tmp_path, delay_s=0.05)
    sp = Speaker(tts, enabled=True)
    done = []
    sp.finished.connect(lambda: done.append(1))
    assert not sp.is_speaking()
    sp.say("one", interrupt=False)
    sp.say("two", interrupt=False)
    assert sp.is_speaking(), "busy from say(), before any audio plays"
    assert wait_until(lambda: done)
    assert not sp.is_speaking() and len(tts.calls) == 2
    QCoreApplication.processEvents()
    assert done == [1], "one finished signal per stretch of speech"
    sp.say("three")
    sp.stop()  # the synthesis still answers; finished comes once it has
    assert wait_until(lambda: len(done) == 2) and not sp.is_speaking()
    sp.shutdown()


def test_held_prompts_wait_until_released_and_finished_comes_after(app, tmp_path):
    """While held (the microphone is open) synthesized prompts wait: the speech is not over
    (auto-start and a question's listen wait for it); once released they are all said."""
    sp = Speaker(FakeTTS(tmp_path))
    done = record(sp.finished)
    sp.hold(True)
    prompts = [sp.say("one", interrupt=False), sp.say("two", interrupt=False)]
    assert wait_until(lambda: all(u.wav is not None for u in prompts)), "never synthesized"
    QCoreApplication.processEvents()
    assert sp.is_speaking() and done == [] and not any(u.played or u.interrupted for u in prompts)
    sp.hold(False)
    assert wait_until(lambda: done) and not sp.is_speaking()
    assert not any(u.interrupted for u in prompts) and len(done) == 1
    sp.shutdown()


# --- a real audio server that dies mid-prompt ------------------------------------------------

# Both child scripts below run the Qt loop until something has happened (or time is up).
PUMP_UNTIL = r"""
import time
from PySide6.QtCore import QCoreApplication


def pump_until(predicate, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not predicate():
        QCoreApplication.processEvents()
        time.sleep(0.01)
    return predicate()
"""

AUDIO_SERVER_DIES = r"""
import faulthandler, json, os, sys, tempfile, time
faulthandler.enable()                             # a crash prints where it happened
faulthandler.dump_traceback_later(80, exit=True)  # never hang the test: say where it was stuck
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication
from kiosk.speech.commands import CommandRecognizer, KeywordSpotter
from kiosk.speech.qt_audio import AUDIO_SERVER, Listener, Speaker
from kiosk.speech.tts import OfflineTTS, TTSChain

app = QApplication([])
work = tempfile.mkdtemp()
speaker = Speaker(TTSChain([OfflineTTS(out_dir=work)], os.path.join(work, "cache")))
listener = Listener(CommandRecognizer([KeywordSpotter()]))
captions, errors = [], []
speaker.caption.connect(captions.append)
speaker.error.connect(errors.append)

first = speaker.say("Welcome. Please look at the camera and keep your head still for a moment.")
assert pump_until(lambda: first.played, 20), "the first prompt never started playing"
print("PLAYING", flush=True)
sys.stdin.readline()                       # the test has killed the audio server
later = []
for i in range(10):
    later.append(speaker.say(f"Prompt number {i}", interrupt=False))
    speaker.play_earcon("step")
    pump_until(lambda: False, 0.05)
listened = listener.listen(seconds=0.5)
done = pump_until(lambda: all(u.played or u.error or u.interrupted for u in later)
                  and not speaker.speaking, 40)
speaker.shutdown()
listener.shutdown()
print("RESULT " + json.dumps({
    "done": done, "captions": len(captions), "errors": errors, "lost": AUDIO_SERVER.lost,
    "first_error": first.error, "later": [[u.played, u.error] for u in later],
    "listened": listened}), flush=True)
"""


@needs_espeak
@pytest.mark.skipif(shutil.which("pulseaudio") is None, reason="pulseaudio not installed (scripts/bootstrap.sh)")
def test_the_kiosk_goes_on_when_the_audio_server_dies_mid_prompt(tmp_path):
    """A private PulseAudio null sink is killed while a prompt plays. Every later prompt is
    still captioned and ends (with an error, not a hang), nothing crashes the process (Qt's
    PulseAudio backend aborts it when a stream starts after its server died), and the log
    stays short: no exception storm, no endless warnings."""
    root = Path(__file__).resolve().parent.parent
    audio_dir = tmp_path / "audio"
    env = with_private_audio_sink(dict(os.environ), audio_dir)
    child = subprocess.Popen(
        [sys.executable, "-c", PUMP_UNTIL + AUDIO_SERVER_DIES],
        cwd=root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = ""
        while started not in ("PLAYING", None):  # the child's faulthandler bounds this wait
            line = child.stdout.readline()
            started = line.strip() if line else None
        if started != "PLAYING":
            child.kill()
            err = child.communicate()[1]
            pytest.fail(f"the first prompt did not play ({started!r}, exit {child.returncode}): {err[-3000:]}")
        pid = int((audio_dir / "pulse" / "pid").read_text())
        os.kill(pid, 9)
        child.stdin.write("killed\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=100)
    finally:
        if child.poll() is None:
            child.kill()
        stop_private_audio_sink(audio_dir)
    assert child.returncode == 0, f"the process died ({child.returncode}): {err[-3000:]}"
    result = json.loads(out.split("RESULT ", 1)[1])
    assert result["done"], result
    assert result["captions"] == 11  # every prompt captioned
    assert result["lost"], "the lost audio server went unnoticed"
    assert all(played or error for played, error in result["later"]), result["later"]
    assert result["errors"] == ["audio playback failed"]  # said once, not once per prompt
    assert result["listened"] is False  # no microphone stream on a dead server
    lines = err.splitlines()
    assert "Traceback" not in err and "QSocketNotifier" not in err, err[-3000:]
    assert len(lines) < 40, f"{len(lines)} log lines:\n" + "\n".join(lines[:60])


def _on_a_loopback_microphone(tmp_path, script: str, *args: str) -> dict:
    """Runs `script` (with pump_until) in a child process whose microphone hears exactly what is
    played: a private null sink, its monitor remapped as the default source. Its RESULT line."""
    audio_dir = tmp_path / "audio"
    env = with_private_audio_sink(dict(os.environ), audio_dir)
    try:
        use_microphone(env, "module-remap-source", "master=kiosk_null.monitor")
        argv = [sys.executable, "-c", PUMP_UNTIL + script, *args]
        return child_result(argv, Path(__file__).resolve().parent.parent, env, timeout_s=120)[0]
    finally:
        stop_private_audio_sink(audio_dir)


SPEECH_WHILE_LISTENING = r"""
import faulthandler, json, os, sys, tempfile, time
faulthandler.dump_traceback_later(100, exit=True)
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import numpy as np
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication
from kiosk.speech.commands import CommandRecognizer, KeywordSpotter
from kiosk.speech.qt_audio import Listener, Speaker
from kiosk.speech.tts import OfflineTTS, TTSChain
from kiosk.ui import strings as S

app = QApplication([])
work = tempfile.mkdtemp()
speaker = Speaker(TTSChain([OfflineTTS(out_dir=work)], os.path.join(work, "cache")))
spotter = KeywordSpotter()
recogniser = CommandRecognizer([spotter])
recogniser.transcribe(np.zeros(1600, np.int16))  # the decoder is built before the clock runs
listener = Listener(recogniser)
listener.listening_changed.connect(speaker.hold)  # as the kiosk wires them
heard, events = [], []
listener.command.connect(lambda c: heard.append(c.value))
listener.not_understood.connect(lambda t: heard.append("not understood: " + t))
listener.error.connect(lambda t: heard.append("error: " + t))
speaker.speaking_changed.connect(lambda on: events.append(("speaking", on, "microphone open" if listener.listening else "")))

assert listener.listen(seconds=4.0), "the microphone did not open"
prompt = speaker.say(S.NOT_UNDERSTOOD, interrupt=False)  # the session says something meanwhile
done = pump_until(lambda: heard and (prompt.played or prompt.error) and not speaker.is_speaking(), 60)
speaker.shutdown()
listener.shutdown()
print("RESULT " + json.dumps({"done": done, "heard": heard, "played": prompt.played,
                              "interrupted": prompt.interrupted, "events": events,
                              "speech_frames": spotter.last.frames}), flush=True)
"""


@needs_espeak
@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("pulseaudio", "pactl")),
    reason="pulseaudio and pactl are needed (scripts/bootstrap.sh)",
)
def test_the_kiosk_does_not_speak_into_its_own_open_microphone(tmp_path):
    """The microphone hears the kiosk's loudspeaker (here it is the private null sink's monitor:
    it hears exactly what is played). While it was open for a command, a prompt the session had
    to say ("Sorry, I did not understand. Say start, repeat, help, more time or cancel.") was
    played into it: recorded over the person, and taken for a command ("repeat") now and then.
    Prompts now wait until the microphone is closed, then are played; the recording holds no
    speech at all."""
    result = _on_a_loopback_microphone(tmp_path, SPEECH_WHILE_LISTENING)
    assert result["done"], result
    assert result["heard"] == ["not understood: "], result
    assert result["speech_frames"] == 0, "the kiosk's own prompt was recorded"
    assert result["played"] and not result["interrupted"], result  # held back, not dropped
    assert result["events"][0] == ["speaking", True, ""], result["events"]  # only once it was closed


SPOKEN_AFTER_THE_SOUND = r"""
import faulthandler, json, os, subprocess, sys, time
faulthandler.dump_traceback_later(100, exit=True)
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from kiosk.speech.commands import CommandRecognizer, KeywordSpotter
from kiosk.speech.qt_audio import Listener

app = QApplication([])
recogniser = CommandRecognizer([KeywordSpotter()])
recogniser.transcribe(np.zeros(1600, np.int16))  # the decoder is built before the clock runs
listener = Listener(recogniser)
heard, opened, hearing = [], [], []
listener.command.connect(lambda c: heard.append(c.value))
listener.not_understood.connect(lambda t: heard.append("not understood: " + t))
listener.error.connect(lambda t: heard.append("error: " + t))

def cue():  # the listening sound: the person answers 0.3 s later
    hearing.append(time.monotonic() - opened[-1])
    QTimer.singleShot(300, lambda: subprocess.Popen(["paplay", sys.argv[1]]))

listener.recording.connect(cue)
for _ in range(3):
    n = len(heard)
    opened.append(time.monotonic())
    assert listener.listen(), "the microphone did not open"
    pump_until(lambda: len(heard) > n, 30)
    pump_until(lambda: False, 1.0)  # a quiet moment between two people
listener.shutdown()
print("RESULT " + json.dumps({"heard": heard, "hearing_after_s": hearing}), flush=True)
"""


@needs_espeak
@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("pulseaudio", "pactl", "paplay")),
    reason="pulseaudio, pactl and paplay are needed (scripts/bootstrap.sh)",
)
def test_a_command_said_right_after_the_listening_sound_is_heard(tmp_path):
    """A microphone can take a while to give its first sound (PulseAudio resuming a suspended
    source, a USB microphone starting; here up to 2 s, the private null sink's). The listening
    sound used to be played when the microphone was asked to open and the 3 s counted from then:
    "help" said 0.3 s after the sound was heard 0 times in 10 on this audio server. The sound
    now plays when the first sound arrives (`recording`), and the 3 s count from there."""
    wav = tmp_path / "help.wav"
    subprocess.run([ESPEAK, "-v", "en-us", "-w", str(wav), "help"], check=True)
    result = _on_a_loopback_microphone(tmp_path, SPOKEN_AFTER_THE_SOUND, str(wav))
    assert result["heard"] == ["help"] * 3, result


@needs_espeak
def test_the_listening_sound_is_not_left_in_the_recording(tmp_path):
    """The microphone hears the listening sound (played once it starts hearing), and the
    Listener drops the first skip_ms of every recording for it. Any of the sound left after that
    costs the command: the last 50 ms of the earlier 220 ms sound before "help" left nothing
    recognised. The sound is now short enough to leave 150 ms for the loudspeaker's latency,
    and played that late it is still all dropped."""
    import inspect

    from kiosk.speech.commands import read_wav_mono16k
    from kiosk.speech.earcons import earcon_path

    skip_ms = inspect.signature(Listener.listen).parameters["skip_ms"].default
    sound = read_wav_mono16k(earcon_path("listening")).astype(np.int16)
    latency_ms = 150
    assert len(sound) / 16 + latency_ms <= skip_ms, f"{len(sound) / 16:.0f} ms of sound, {skip_ms} ms dropped"
    wav = tmp_path / "help.wav"
    subprocess.run([ESPEAK, "-v", "en-us", "-w", str(wav), "help"], check=True)
    word = read_wav_mono16k(wav).astype(np.int16)
    recogniser = CommandRecognizer([KeywordSpotter()])
    noise = np.random.default_rng(0)
    for late_ms in (0, latency_ms):
        recording = np.concatenate(
            [np.zeros(16 * late_ms, np.int16), sound, np.zeros(16 * 300, np.int16), word, np.zeros(16000, np.int16)]
        )
        recording = (recording + noise.normal(0, 30, len(recording))).clip(-32768, 32767).astype(np.int16)
        assert recogniser.transcribe(recording[16 * skip_ms :], "en")[0] == "help", late_ms


# --- threads and memory ---------------------------------------------------------------------


def test_calls_from_other_threads_run_on_the_owner_thread(app, tmp_path):
    """A worker thread that speaks (or stops, or plays an earcon) never touches a Qt object:
    the call is re-posted to the Speaker's thread, where the caption is emitted."""
    speaker = Speaker(FakeTTS(tmp_path))
    caption_threads, earcon_threads = [], []
    speaker.caption.connect(lambda _text: caption_threads.append(threading.get_ident()))
    speaker.earcon.connect(lambda _name: earcon_threads.append(threading.get_ident()))
    done = []

    def worker():
        done.append(speaker.say("From a worker thread"))
        speaker.play_earcon("step")
        speaker.set_enabled(False)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert wait_until(lambda: caption_threads and earcon_threads and not speaker.enabled)
    assert caption_threads == [threading.get_ident()] == earcon_threads
    assert done[0].text == "From a worker thread" and list(speaker.utterances) == done
    speaker.shutdown()


def test_histories_are_bounded(app, tmp_path):
    from kiosk.speech.qt_audio import HISTORY

    speaker = Speaker(FakeTTS(tmp_path), enabled=False)
    for i in range(HISTORY + 50):
        speaker.say(f"prompt {i}")
        speaker.play_earcon("step")
    assert len(speaker.utterances) == HISTORY == len(speaker.earcons_played)
    assert speaker.utterances[-1].text == f"prompt {HISTORY + 49}"
    speaker.shutdown()


@needs_espeak
def test_recordings_are_recognised_from_memory(app, tmp_path):
    """The microphone's bytes, in whatever format the device gave, become 16 kHz samples in
    memory and are recognised without any file."""
    from PySide6.QtMultimedia import QAudioFormat

    from kiosk.speech.commands import read_wav_mono16k
    from kiosk.speech.qt_audio import _samples16k

    wav = tmp_path / "cancel.wav"
    subprocess.run([ESPEAK, "-v", "en-us", "-w", str(wav), "cancel"], check=True)
    reference = read_wav_mono16k(wav)
    up = np.interp(np.arange(len(reference) * 3) / 3, np.arange(len(reference)), reference) / 32768
    stereo_float_48k = np.repeat(up.astype("<f4"), 2).tobytes()  # a device's preferred format
    fmt = QAudioFormat()
    fmt.setSampleRate(48000)
    fmt.setChannelCount(2)
    fmt.setSampleFormat(QAudioFormat.SampleFormat.Float)
    samples = _samples16k(stereo_float_48k, fmt)
    assert samples.dtype == np.int16 and abs(len(samples) - len(reference)) <= 2

    listener = Listener(CommandRecognizer([KeywordSpotter()]))
    commands = record(listener.command)
    listener.recognize(samples)
    assert wait_until(lambda: commands, 10)
    assert commands == [Command.CANCEL]
    listener.shutdown()
