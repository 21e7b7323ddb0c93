"""Voice commands: phrase parsing (English, German), Azure short-audio REST against the local
fake, the offline pocketsphinx spotter on WAVs recorded with espeak-ng, and the fallback."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from kiosk.speech.commands import (PHRASES, AzureSTT, Command, CommandRecognizer, KeywordSpotter,
                                   RecognitionError, parse_command, read_wav_mono16k)

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng binary not installed (apt install espeak-ng)")

# FakeAzure lives in test_speech_tts.py; load it by path (works in any pytest import mode).
_spec = importlib.util.spec_from_file_location("_speech_fakes", Path(__file__).with_name("test_speech_tts.py"))
_fakes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fakes)
FakeAzure, FAKE_KEY = _fakes.FakeAzure, _fakes.FAKE_KEY


@pytest.fixture
def fake_azure():
    fake = FakeAzure()
    yield fake
    fake.close()


def espeak_wav(directory: Path, text: str, voice: str = "en-us") -> Path:
    out = directory / f"{voice}-{abs(hash(text))}.wav"
    subprocess.run([ESPEAK, "-v", voice, "-w", str(out), "--", text], check=True,
                   capture_output=True, timeout=15)
    return out


# --- parsing -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,language,expected", [
    ("Start.", "en", Command.START),
    ("Could you repeat that, please?", "en", Command.REPEAT),
    ("HELP!", "en", Command.HELP),
    ("I need more time", "en", Command.MORE_TIME),
    ("Voice on.", "en", Command.VOICE_ON),
    ("Voice off.", "en", Command.VOICE_OFF),
    ("turn the voice off", "en", Command.VOICE_OFF),
    ("Cancel", "en", Command.CANCEL),
    ("stop", "en-US", Command.CANCEL),
    ("Starten", "de", Command.START),
    ("Noch einmal, bitte.", "de", Command.REPEAT),
    ("Hilfe", "de-DE", Command.HELP),
    ("Ich brauche mehr Zeit.", "de", Command.MORE_TIME),
    ("Stimme an", "de", Command.VOICE_ON),
    ("Stimme aus!", "de", Command.VOICE_OFF),
    ("Abbrechen", "de", Command.CANCEL),
    ("Stop", "de", Command.CANCEL),          # English words work in German too
    ("exit", "en", Command.CANCEL),
    ("Where is the exit door?", "en", None),  # one-word synonyms count in short utterances only
    ("I want to go home now", "en", None),
    ("", "en", None),
    (None, "en", None),
    ("Hello, how are you?", "en", None),
    ("The weather is nice today", "en", None),
    ("Guten Tag", "de", None),
])
def test_parse_command(text, language, expected):
    assert parse_command(text, language) is expected


def test_longest_phrase_wins():
    assert parse_command("voice off", "en") is Command.VOICE_OFF
    assert parse_command("give me more time", "en") is Command.MORE_TIME
    assert parse_command("stimme aus", "de") is Command.VOICE_OFF


def test_every_command_has_phrases_in_both_languages():
    for language in ("en", "de"):
        assert set(PHRASES[language]) == set(Command)
        for command in Command:
            assert parse_command(PHRASES[language][command][0], language) is command


def test_wav_is_converted_to_16k_mono(tmp_path):
    path = tmp_path / "stereo.wav"
    t = np.arange(22050) / 22050
    tone = (8000 * np.sin(2 * np.pi * 300 * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(np.stack([tone, tone], axis=1).tobytes())
    pcm = read_wav_mono16k(path)
    assert pcm.dtype == np.int16 and abs(len(pcm) - 16000) <= 1
    assert 6000 < np.abs(pcm).max() <= 8000


# --- Azure short-audio REST --------------------------------------------------------------------

@needs_espeak
def test_azure_stt_request_and_answer(fake_azure, tmp_path):
    fake_azure.answer()
    fake_azure.stt_text = "Voice off."
    stt = AzureSTT(FAKE_KEY, "westeurope", endpoint=fake_azure.stt_url, timeout_s=2.0)
    recognizer = CommandRecognizer([stt, KeywordSpotter()])
    assert recognizer.recognize_wav(espeak_wav(tmp_path, "voice off")) is Command.VOICE_OFF
    assert recognizer.last_engine == "azure" and recognizer.last_text == "Voice off."

    request = fake_azure.requests[-1]
    assert "language=en-US" in request["path"]
    assert request["headers"]["Content-Type"] == "audio/wav; codecs=audio/pcm; samplerate=16000"
    assert request["headers"]["Ocp-Apim-Subscription-Key"] == FAKE_KEY
    assert request["body"][:4] == b"RIFF"
    assert int.from_bytes(request["body"][24:28], "little") == 16000  # resampled for Azure

    fake_azure.stt_text = "Ich brauche mehr Zeit."  # German goes to Azure with de-DE
    assert recognizer.recognize_wav(espeak_wav(tmp_path, "mehr Zeit", "de"), "de") is Command.MORE_TIME
    assert "language=de-DE" in fake_azure.requests[-1]["path"]


@needs_espeak
def test_azure_no_match_is_an_answer_not_an_outage(fake_azure, tmp_path):
    fake_azure.answer()
    fake_azure.stt_status, fake_azure.stt_text = "NoMatch", ""
    stt = AzureSTT(FAKE_KEY, "westeurope", endpoint=fake_azure.stt_url, timeout_s=2.0)
    recognizer = CommandRecognizer([stt, KeywordSpotter()])
    assert recognizer.recognize_wav(espeak_wav(tmp_path, "cancel")) is None
    assert recognizer.last_engine == "azure"
    assert not recognizer.backoff.is_down("azure")


@needs_espeak
@pytest.mark.parametrize("outage", ["refuse", "hang"])
def test_falls_back_to_offline_spotter_and_backs_off(fake_azure, tmp_path, outage):
    getattr(fake_azure, outage)()
    stt = AzureSTT(FAKE_KEY, "westeurope", endpoint=fake_azure.stt_url, timeout_s=1.0)
    recognizer = CommandRecognizer([stt, KeywordSpotter()])
    wav = espeak_wav(tmp_path, "cancel")
    start = time.monotonic()
    assert recognizer.recognize_wav(wav) is Command.CANCEL
    assert time.monotonic() - start < 3.0
    assert recognizer.last_engine == "pocketsphinx"
    seen = fake_azure.connections
    recognizer.recognize_wav(wav)
    assert fake_azure.connections == seen  # backing off: not asked again

    # German has no offline model: with Azure down the spotter listens for the English
    # command words, which German users may say; German words are not guessed at
    assert recognizer.recognize_wav(wav, "de") is Command.CANCEL
    assert recognizer.recognize_wav(espeak_wav(tmp_path, "Das Wetter ist schön", "de"), "de") is None
    strict = CommandRecognizer([stt, KeywordSpotter(any_language=False)])
    strict.backoff.mark_down("azure")
    with pytest.raises(RecognitionError):
        strict.recognize_wav(wav, "de")


# --- offline keyword spotter on recorded (espeak-ng) speech ------------------------------------

NOT_COMMANDS = ["the weather is nice", "what is this", "my name is John", "hello there how are you",
                "I like coffee", "where is the exit door", "thank you very much", "is it working",
                "seven", "good morning", "yes", "no"]


@pytest.fixture(scope="module")
def spotter():
    return KeywordSpotter()


@needs_espeak
def test_spotter_recognises_commands_from_recorded_wavs(spotter, tmp_path):
    """Every command's main phrase, spoken by espeak-ng. Synthetic speech is hard for the
    acoustic model; measured 6/7 here ('repeat' is missed), so we require at least 6."""
    results = {}
    for command in Command:
        phrase = PHRASES["en"][command][0]
        text = spotter.transcribe(espeak_wav(tmp_path, phrase))
        results[phrase] = (parse_command(text, "en"), text)
    correct = [p for p, (got, _) in results.items() if got is PHRASES_TO_COMMAND[p]]
    assert len(correct) >= 6, results
    # a miss must be a rejection, never a different command
    wrong = {p: r for p, r in results.items() if r[0] not in (None, PHRASES_TO_COMMAND[p])}
    assert not wrong, wrong


PHRASES_TO_COMMAND = {PHRASES["en"][c][0]: c for c in Command}


@needs_espeak
def test_spotter_rejects_speech_that_is_no_command(spotter, tmp_path):
    accepted = {}
    for sentence in NOT_COMMANDS:
        command = parse_command(spotter.transcribe(espeak_wav(tmp_path, sentence)), "en")
        if command is not None:
            accepted[sentence] = command
    assert len(accepted) <= 1, accepted


def test_strict_spotter_is_english_only(tmp_path):
    strict = KeywordSpotter(any_language=False)
    assert strict.supports("en-US") and not strict.supports("de")
    with pytest.raises(RecognitionError):
        strict.transcribe(tmp_path / "unused.wav", "de")


def test_spotter_hears_nothing_in_silence(spotter, tmp_path):
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(32000, dtype="<i2").tobytes())
    assert parse_command(spotter.transcribe(path), "en") is None
