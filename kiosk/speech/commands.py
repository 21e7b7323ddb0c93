"""Voice commands: phrase tables, Azure short-audio recognition, an offline keyword spotter.

``CommandRecognizer(engines).recognize_wav(path)`` tries Azure first (REST, hard timeout)
and falls back to the offline pocketsphinx spotter (English only), then maps the heard text
to a ``Command`` with ``parse_command``. No Qt here.
"""
from __future__ import annotations

import enum
import json
import os
import re
import threading
import time
import unicodedata
import urllib.parse
import wave
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from .tts import AZURE_LOCALES, Backoff, TTSError, base_language, call_with_deadline, rest_post


class Command(enum.Enum):
    START = "start"
    REPEAT = "repeat"
    HELP = "help"
    MORE_TIME = "more_time"
    VOICE_ON = "voice_on"
    VOICE_OFF = "voice_off"
    CANCEL = "cancel"
    # The welcome screen's accessibility choices; the value after "profile:" is the engine's
    # profile name. Acted on only while the person is choosing.
    PROFILE_STANDARD = "profile:standard"
    PROFILE_NO_HANDS = "profile:no_hands"
    PROFILE_NO_EXPRESSION = "profile:no_expression"
    PROFILE_LIMITED_HEAD = "profile:limited_head"
    PROFILE_NO_SIGHT = "profile:no_sight"

    @property
    def profile(self) -> str | None:
        """The profile this command chooses, or None for the other commands."""
        return self.value.split(":", 1)[1] if self.value.startswith("profile:") else None


class RecognitionError(RuntimeError):
    """An engine could not recognise (network, service, decoder failure)."""


# Phrases per language, lower case, without punctuation. The first phrase of each command is
# the one the help screen shows. Longer phrases win over shorter ones ("voice off" > "voice").
PHRASES: dict[str, dict[Command, tuple[str, ...]]] = {
    "en": {
        Command.START: ("start", "begin", "go", "lets start", "let's start", "start again"),
        Command.REPEAT: ("repeat", "again", "say again", "say that again", "pardon", "what did you say"),
        Command.HELP: ("help", "help me", "i need help"),
        Command.MORE_TIME: ("more time", "more", "wait", "slower", "slow down", "give me more time"),
        Command.VOICE_ON: ("voice on", "speech on", "sound on", "unmute", "turn the voice on", "speak"),
        Command.VOICE_OFF: ("voice off", "speech off", "sound off", "mute", "quiet", "be quiet",
                            "turn the voice off", "silence"),
        Command.CANCEL: ("cancel", "stop", "abort", "quit", "exit"),
    },
    "de": {
        Command.START: ("start", "starten", "beginnen", "los", "los gehts", "anfangen"),
        Command.REPEAT: ("wiederholen", "wiederholung", "nochmal", "noch einmal", "wie bitte", "bitte wiederholen"),
        Command.HELP: ("hilfe", "helfen", "ich brauche hilfe"),
        Command.MORE_TIME: ("mehr zeit", "warten", "warte", "langsamer", "moment"),
        Command.VOICE_ON: ("stimme an", "sprache an", "ton an", "stimme ein", "sprache ein", "ton ein"),
        Command.VOICE_OFF: ("stimme aus", "sprache aus", "ton aus", "stumm", "ruhe", "leise"),
        Command.CANCEL: ("abbrechen", "abbruch", "stopp", "stop", "beenden", "ende"),
    },
}

# Spoken words for the welcome screen's choices. The first word of each is the one the spoken
# welcome reads out: short, and unlike any other command word.
PROFILE_PHRASES: dict[str, dict[Command, tuple[str, ...]]] = {
    "en": {
        Command.PROFILE_STANDARD: ("standard",),
        Command.PROFILE_NO_HANDS: ("hands", "no hands", "i can't use my hands"),
        Command.PROFILE_NO_EXPRESSION: ("expressions", "no expressions", "i can't make facial expressions"),
        Command.PROFILE_LIMITED_HEAD: ("head", "i can't turn my head"),
        Command.PROFILE_NO_SIGHT: ("blind", "i can't see", "i can't see the screen"),
    },
    "de": {
        Command.PROFILE_STANDARD: ("standard",),
        Command.PROFILE_NO_HANDS: ("hände", "keine hände"),
        Command.PROFILE_NO_EXPRESSION: ("mimik", "keine mimik"),
        Command.PROFILE_LIMITED_HEAD: ("kopf", "kopf drehen"),
        Command.PROFILE_NO_SIGHT: ("blind", "ich kann nicht sehen"),
    },
}
for _language, _table in PROFILE_PHRASES.items():
    PHRASES[_language].update(_table)

# The offline grammar: the first (canonical) phrase of every command, a few one-word
# synonyms, and decoy words. Without decoys a grammar maps any speech onto the nearest
# command (measured on espeak-ng speech: 10 of 12 unrelated sentences accepted, 0-1 with
# them). Decoys that espeak-ng's "help"/"repeat" were heard as ("two", "three", "who") are
# left out. Long synonym phrases are left out too: their first word surfaced as partial
# hypotheses ("be" for "be quiet").
OFFLINE_SYNONYMS = ("stop", "again", "mute", "wait")
OFFLINE_DECOYS = ("yes", "no", "hello", "hi", "okay", "thanks", "what", "where", "why", "how",
                  "please", "nothing", "name", "weather", "good", "bad", "one", "coffee", "water",
                  "sorry", "maybe")


def _normalise(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).casefold().replace("ß", "ss")
    text = text.replace("’", "'")
    return re.findall(r"[\w']+", text)


# One-word synonyms ("go", "exit", "more") also occur in ordinary sentences ("where is the
# exit?"); they count only in short utterances. Main phrases and multi-word phrases count
# anywhere ("could you repeat that, please?").
SHORT_UTTERANCE_WORDS = 3


def parse_command(text: str | None, language: str = "en") -> Command | None:
    """Map heard text to a command: the longest known phrase found in it (earliest on a tie).

    Azure returns punctuated, capitalised text ("Voice off."); this ignores both. English
    phrases are also accepted in other languages (people say "Start" or "Stop" everywhere).
    """
    if not text:
        return None
    words = _normalise(text)
    if not words:
        return None
    short = len(words) <= SHORT_UTTERANCE_WORDS
    tables = [PHRASES.get(base_language(language), {})]
    if base_language(language) != "en":
        tables.append(PHRASES["en"])
    best: tuple[int, int, Command] | None = None  # (-length, start, command)
    for table in tables:
        for command, phrases in table.items():
            for rank, phrase in enumerate(phrases):
                ph = _normalise(phrase)
                n = len(ph)
                if n == 1 and rank > 0 and not short:
                    continue
                for i in range(len(words) - n + 1):
                    if words[i:i + n] == ph:
                        cand = (-n, i, command)
                        if best is None or cand[:2] < best[:2]:
                            best = cand
                        break
        if best is not None:
            return best[2]  # the user's language wins over the English fallback
    return None


def phrases_for(command: Command, language: str = "en") -> tuple[str, ...]:
    return PHRASES.get(base_language(language), PHRASES["en"])[command]


# --- audio helpers -------------------------------------------------------------------------

def read_wav_mono16k(path: str | os.PathLike) -> np.ndarray:
    """Any 8/16/32-bit PCM WAV -> int16 mono at 16 kHz (what both recognisers want)."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 65536.0
    elif width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) * 256.0
    else:
        raise RecognitionError(f"unsupported WAV sample width {width}")
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    if rate != 16000 and len(x):
        x = _resample(x, rate, 16000)
    return np.clip(x, -32768, 32767).astype(np.int16)


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    if dst < src:  # crude low-pass (moving average) against aliasing before decimating
        k = max(1, int(round(src / dst)))
        if k > 1:
            x = np.convolve(x, np.ones(k) / k, mode="same")
    n = int(round(len(x) * dst / src))
    return np.interp(np.arange(n) * (src / dst), np.arange(len(x)), x)


def wav_bytes_16k(path: str | os.PathLike) -> bytes:
    """A 16 kHz mono 16-bit WAV file as bytes (the format Azure's short-audio API takes)."""
    import io

    pcm = read_wav_mono16k(path)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


# --- engines -------------------------------------------------------------------------------

class SpeechToText(Protocol):
    name: str

    def supports(self, language: str) -> bool: ...

    def transcribe(self, path: Path, language: str) -> str | None: ...


class AzureSTT:
    """Azure speech to text, REST API for short audio (<= 60 s), with a hard timeout."""

    name = "azure"

    def __init__(self, key: str, region: str, endpoint: str | None = None, timeout_s: float = 3.0,
                 locales: dict[str, str] | None = None):
        self.key = key
        self.region = region
        self.endpoint = endpoint or (f"https://{region}.stt.speech.microsoft.com"
                                     "/speech/recognition/conversation/cognitiveservices/v1")
        self.timeout_s = timeout_s
        self.locales = dict(locales or AZURE_LOCALES)

    def supports(self, language: str) -> bool:
        return base_language(language) in self.locales

    def transcribe(self, path: Path, language: str) -> str | None:
        locale = self.locales[base_language(language)]
        url = f"{self.endpoint}?{urllib.parse.urlencode({'language': locale, 'format': 'simple'})}"
        headers = {
            "Ocp-Apim-Subscription-Key": self.key,
            "Content-Type": "audio/wav; codecs=audio/pcm; samplerate=16000",
            "Accept": "application/json",
            "User-Agent": "kiosk-speech",
        }
        try:
            status, body = rest_post(url, headers, wav_bytes_16k(path), self.timeout_s)
        except TTSError as exc:
            raise RecognitionError(f"azure stt: {exc}") from exc
        if status != 200:
            raise RecognitionError(f"azure stt: HTTP {status}: {body[:200]!r}")
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise RecognitionError("azure stt: answer is not JSON") from exc
        status_text = answer.get("RecognitionStatus")
        if status_text == "Success":
            return answer.get("DisplayText") or None
        if status_text in ("NoMatch", "InitialSilenceTimeout", "BabbleTimeout"):
            return None  # heard nothing usable: not an outage
        raise RecognitionError(f"azure stt: RecognitionStatus {status_text!r}")


class KeywordSpotter:
    """Offline English command recogniser: pocketsphinx 5 with a JSGF grammar.

    The grammar holds the English command phrases plus decoy words; the hypothesis is then
    parsed like Azure's text. The model ships inside the pocketsphinx wheel (English only).
    With ``any_language`` (default) it also serves other kiosk languages by listening for
    the English words ("start", "stop", "help"), which parse_command accepts in every
    language; with it off, other languages raise RecognitionError.
    """

    name = "pocketsphinx"
    languages = ("en",)

    def __init__(self, extra_decoys: Sequence[str] = (), any_language: bool = True):
        self.any_language = any_language
        self._lock = threading.Lock()
        self._decoder = None
        self._phrases: set[str] = set()
        self._extra_decoys = tuple(extra_decoys)

    def supports(self, language: str) -> bool:
        return self.any_language or base_language(language) in self.languages

    def _ensure_decoder(self):
        if self._decoder is None:
            from pocketsphinx import Decoder, set_loglevel  # heavy import, only when needed

            set_loglevel("WARN")  # the model loader otherwise logs ~150 INFO lines
            decoder = Decoder(lm=None, logfn=os.devnull)
            known = lambda phrase: all(decoder.lookup_word(w) for w in phrase.split())  # noqa: E731
            phrases = [table[0] for table in PHRASES["en"].values()] + list(OFFLINE_SYNONYMS)
            phrases += list(OFFLINE_DECOYS) + list(self._extra_decoys)
            usable = sorted({p for p in phrases if known(p)})
            self._phrases = set(usable)
            grammar = ("#JSGF V1.0;\ngrammar kiosk;\npublic <utterance> = "
                       + " | ".join(usable) + ";\n")
            decoder.add_jsgf_string("kiosk", grammar)
            decoder.activate_search("kiosk")
            self._decoder = decoder
        return self._decoder

    def transcribe(self, path: Path, language: str = "en") -> str | None:
        if not self.supports(language):
            raise RecognitionError(f"pocketsphinx: no offline model for {language!r}")
        pcm = read_wav_mono16k(path)
        # 0.3 s of faint noise on each side: the endpoints need silence, and digital zeros
        # (log of zero energy) confuse the feature normalisation.
        pad = np.random.default_rng(0).normal(0.0, 8.0, 4800).astype(np.int16)
        audio = np.concatenate([pad, pcm, pad]).tobytes()
        with self._lock:
            decoder = self._ensure_decoder()
            decoder.start_utt()
            decoder.process_raw(audio, full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
        text = hyp.hypstr.strip() if hyp is not None else ""
        # When no path reaches the grammar's end, pocketsphinx returns the best partial
        # path ("more" for "more time"): not a phrase the user said, so not a result.
        return text if text in self._phrases else None


class CommandRecognizer:
    """Engines in order (Azure, then the offline spotter), with back-off like TTSChain."""

    def __init__(self, engines: Sequence[SpeechToText], language: str = "en",
                 backoff_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        if not engines:
            raise ValueError("CommandRecognizer needs at least one engine")
        self.engines = list(engines)
        self.language = language
        self.backoff = Backoff(backoff_s, clock)
        self.last_text: str | None = None
        self.last_engine: str | None = None
        self.errors: list[str] = []

    def transcribe(self, path: str | os.PathLike, language: str | None = None) -> tuple[str | None, str]:
        """(heard text or None, engine name). Raises RecognitionError if no engine answered."""
        language = language or self.language
        failures = []
        for engine in self.engines:
            if not engine.supports(language):
                continue
            if self.backoff.is_down(engine.name):
                failures.append(f"{engine.name}: backing off")
                continue
            try:
                timeout = getattr(engine, "timeout_s", None)
                if timeout is not None:  # remote: guard DNS stalls too
                    text = call_with_deadline(lambda e=engine: e.transcribe(Path(path), language),
                                              timeout + 0.2)
                else:
                    text = engine.transcribe(Path(path), language)
            except Exception as exc:
                self.backoff.mark_down(engine.name)
                failures.append(f"{engine.name}: {exc}")
                continue
            self.backoff.mark_up(engine.name)
            self.errors = failures
            return text, engine.name
        self.errors = failures
        raise RecognitionError("no recogniser answered: " + ("; ".join(failures) or
                                                            f"none supports {language!r}"))

    def recognize_wav(self, path: str | os.PathLike, language: str | None = None) -> Command | None:
        language = language or self.language
        text, engine = self.transcribe(path, language)
        self.last_text, self.last_engine = text, engine
        return parse_command(text, language)


def build_command_recognizer(credentials=None, language: str = "en", timeout_s: float = 3.0,
                             endpoint: str | None = None) -> CommandRecognizer:
    """Azure (when credentials are given) then the offline spotter."""
    engines: list[SpeechToText] = []
    if credentials is not None:
        engines.append(AzureSTT(credentials.key, credentials.region, endpoint=endpoint,
                                timeout_s=timeout_s))
    engines.append(KeywordSpotter())
    return CommandRecognizer(engines, language=language)


__all__ = [
    "AzureSTT", "Command", "CommandRecognizer", "KeywordSpotter", "OFFLINE_DECOYS",
    "OFFLINE_SYNONYMS", "PHRASES", "PROFILE_PHRASES",
    "RecognitionError", "build_command_recognizer", "parse_command", "phrases_for",
    "read_wav_mono16k", "wav_bytes_16k",
]
