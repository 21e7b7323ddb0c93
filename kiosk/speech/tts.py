"""Text to speech: Azure neural voices over REST, offline espeak-ng, and a cached chain.

Every engine has one interface: ``synthesize(text, language) -> Path`` (a WAV file the
caller owns). ``TTSChain`` tries engines in order with the speech layer's one fallback loop
(``kiosk.speech.fallback``) under a hard deadline, backs off an engine that failed or was
slow, and caches results on disk by engine voice + text, so the neural voice survives an
Azure outage for prompts it has already spoken.

Audio is checked whole before it is written, cached or played: the RIFF/WAVE header must
describe exactly the bytes that arrived, in a plausible PCM format, and decode. A cut-off or
junk answer raises TTSError and leaves no file behind.

No Qt here: ``kiosk.speech.qt_audio`` plays the files.
"""

from __future__ import annotations

import atexit
import configparser
import contextlib
import hashlib
import io
import logging
import os
import shutil
import stat
import struct
import subprocess
import tempfile
import threading
import time
import uuid
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape, quoteattr

import tomllib

from .fallback import AllFailed, Candidate, Skip, first_success
from .transport import SLOW_SHARE, Backoff, SpeechTransportError, post

# Languages the kiosk ships. Keys are the kiosk's language codes (config speech.language).
AZURE_LOCALES = {"en": "en-US", "de": "de-DE"}
AZURE_VOICES = {"en": "en-US-JennyNeural", "de": "de-DE-KatjaNeural"}
ESPEAK_VOICES = {"en": "en-us", "de": "de"}

ENV_KEY = "KIOSK_AZURE_SPEECH_KEY"
ENV_REGION = "KIOSK_AZURE_SPEECH_REGION"
AZURE_OUTPUT_FORMAT = "riff-24khz-16bit-mono-pcm"
AZURE_WAV = (24000, 1, 2)  # what AZURE_OUTPUT_FORMAT promises: rate, channels, bytes per sample
# Azure has been seen to send a RIFF size of 0, and streamed WAVs carry 0xFFFFFFFF or
# 0x7FFFFFFF where the length was not known yet: such a header says nothing about length.
UNKNOWN_SIZES = (0, 0x7FFFFFFF, 0xFFFFFFFF)
MAX_SPEECH_S = 120.0

log = logging.getLogger(__name__)


class TTSError(RuntimeError):
    """An engine could not produce speech (network, service or synthesiser failure), or what
    it produced is not whole, playable audio."""


class CredentialsError(RuntimeError):
    """Azure credentials are present but unusable (e.g. an unprotected file)."""


class TTSEngine(Protocol):
    name: str

    def voice_for(self, language: str) -> str: ...

    def synthesize(self, text: str, language: str) -> Path: ...


def base_language(language: str) -> str:
    """'de-DE' -> 'de', 'EN' -> 'en'."""
    return language.replace("_", "-").split("-")[0].lower()


_own_out_dir: Path | None = None
_own_out_dir_lock = threading.Lock()


def own_out_dir() -> Path:
    """This process's folder for fresh WAVs, the engines' default: made once, mode 0700 (mkdtemp),
    removed at exit. A fixed name under /tmp was one folder for every user of the machine: whoever
    made it first (root running a self-test) owned it, every other user's offline speech then
    failed with "Permission denied", and a local user who made it first could read or swap the
    prompts before they were played."""
    global _own_out_dir
    with _own_out_dir_lock:
        if _own_out_dir is None:
            _own_out_dir = Path(tempfile.mkdtemp(prefix="kiosk-tts-"))
            atexit.register(shutil.rmtree, _own_out_dir, True)
        return _own_out_dir


def _unique_wav(out_dir: Path, prefix: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / f"{prefix}-{uuid.uuid4().hex}.wav"


def wav_info(path: Path) -> tuple[int, int]:
    """(frames, sample rate) of a WAV; raises wave.Error/EOFError if it is not one."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes(), w.getframerate()


@dataclass(frozen=True)
class WavFormat:
    rate: int
    channels: int
    sample_width: int  # bytes
    frames: int


def checked_wav(
    data: bytes, source: str, length_checked: bool = False, expect: tuple[int, int, int] | None = None
) -> tuple[bytes, WavFormat]:
    """(a clean WAV of the same audio, its format), or TTSError saying what is wrong.

    The header must describe exactly the bytes received: a data chunk longer than what
    arrived is a cut-off answer. Only when the header carries no length (UNKNOWN_SIZES) is the
    transport's word taken (``length_checked``: the HTTP framing proved the body complete).
    ``expect`` = (rate, channels, sample width) that was asked for. The audio must decode with
    the wave module; the returned bytes are written by it, with correct sizes.
    """

    def bad(reason: str) -> TTSError:
        return TTSError(f"{source}: not whole audio: {reason}")

    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise bad(f"no RIFF/WAVE header ({len(data)} bytes)")
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if riff_size not in UNKNOWN_SIZES and riff_size + 8 != len(data):
        raise bad(f"RIFF header announces {riff_size + 8} bytes, {len(data)} arrived")
    fmt: tuple[int, int, int, int, int, int] | None = None
    pcm: bytes | None = None
    pos = 12
    while pos + 8 <= len(data) and pcm is None:
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if chunk == b"fmt ":
            if size < 16 or body + size > len(data):
                raise bad("fmt chunk cut off")
            fmt = struct.unpack_from("<HHIIHH", data, body)
        elif chunk == b"data":
            if fmt is None:
                raise bad("data chunk before the fmt chunk")
            if size in UNKNOWN_SIZES[1:] or (size == 0 and riff_size in UNKNOWN_SIZES):
                if riff_size in UNKNOWN_SIZES and not length_checked:
                    raise bad("the header gives no length and the transport could not check it")
                size = len(data) - body
            if body + size > len(data):
                raise bad(f"cut off: data chunk announces {size} bytes, {len(data) - body} arrived")
            pcm = data[body : body + size]
        pos = body + size + (size & 1)
    if fmt is None or pcm is None:
        raise bad("no fmt or data chunk")
    tag, channels, rate, byte_rate, block_align, bits = fmt
    width = bits // 8
    if tag != 1 or channels not in (1, 2) or bits not in (8, 16, 24, 32) or not 8000 <= rate <= 48000:
        raise bad(f"implausible format (tag {tag}, {channels} channels, {bits} bit, {rate} Hz)")
    if block_align != channels * width or byte_rate != rate * block_align:
        raise bad(f"inconsistent format (block align {block_align}, byte rate {byte_rate})")
    if expect is not None and (rate, channels, width) != expect:
        raise bad(f"asked for {expect}, got {(rate, channels, width)} (rate, channels, width)")
    if len(pcm) % block_align:
        raise bad(f"ends inside a sample frame ({len(pcm)} bytes of {block_align}-byte frames)")
    frames = len(pcm) // block_align
    if frames == 0 or frames > MAX_SPEECH_S * rate:
        raise bad(f"{frames / rate:.1f} s of audio")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)
    clean = out.getvalue()
    try:
        with wave.open(io.BytesIO(clean), "rb") as r:
            decoded = r.readframes(r.getnframes())
    except (EOFError, wave.Error) as exc:
        raise bad(f"does not decode: {exc}") from exc
    if len(decoded) != len(pcm):
        raise bad("does not decode whole")
    return clean, WavFormat(rate, channels, width, frames)


def check_wav_file(path: Path, source: str) -> WavFormat:
    """The format of a WAV file that holds whole audio; TTSError otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TTSError(f"{source}: cannot read {path.name}: {exc}") from exc
    return checked_wav(data, source)[1]


def _check_output(path: Path, engine: str) -> Path:
    """A file an engine just wrote: kept if whole, deleted (never left behind) if not."""
    try:
        check_wav_file(path, engine)
    except TTSError:
        path.unlink(missing_ok=True)
        raise
    return path


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers (the player, the cache) never see half a file, and a failed write leaves none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --- credentials -------------------------------------------------------------------------


@dataclass(frozen=True)
class AzureCredentials:
    key: str = field(repr=False)
    region: str

    @classmethod
    def from_env_or_file(
        cls, path: str | os.PathLike | None = None, region: str | None = None
    ) -> AzureCredentials | None:
        """The key from KIOSK_AZURE_SPEECH_KEY, else from a protected file; the region from
        ``region`` (config speech.azure_region), else KIOSK_AZURE_SPEECH_REGION, else the file.

        The file is TOML or INI with ``[azure_speech]`` holding ``key`` (and optionally
        ``region``), or just the key on one line. It must not be readable or writable by
        others (chmod 600): such a file is refused with CredentialsError, never silently
        used. Returns None when no key or no region is configured: the kiosk runs offline.
        """
        key = os.environ.get(ENV_KEY, "").strip()
        region = (region or os.environ.get(ENV_REGION, "")).strip()
        if not key and path:
            p = Path(path).expanduser()
            if p.is_file():
                section = _read_credentials_file(p)
                key = str(section.get("key", "")).strip()
                region = region or str(section.get("region", "")).strip()
                if not key:
                    raise CredentialsError(f"{p}: no Azure key in it ([azure_speech] key = ...)")
        if not key or not region:
            return None
        return cls(key, region)


def _read_credentials_file(p: Path) -> dict:
    mode = p.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise CredentialsError(
            f"refusing Azure credentials file {p}: it is readable or writable by other users "
            f"(mode {stat.filemode(mode)}); run 'chmod 600 {p}'"
        )
    text = p.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
        return dict(data.get("azure_speech", data))
    except tomllib.TOMLDecodeError:
        pass
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text, source=str(p))
        if parser.has_section("azure_speech"):
            return dict(parser["azure_speech"])
    except configparser.Error:
        pass
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if len(lines) == 1 and not any(c in lines[0] for c in "[]= "):
        return {"key": lines[0]}  # a bare key file
    raise CredentialsError(f"{p}: expected [azure_speech] key = ... (TOML or INI) or a bare key")


# --- engines -----------------------------------------------------------------------------


class AzureTTS:
    """Azure neural TTS through the REST API (no SDK: it can block ~80 s on a dead host)."""

    name = "azure"

    def __init__(
        self,
        key: str,
        region: str,
        voices: dict[str, str] | None = None,
        endpoint: str | None = None,
        timeout_s: float = 0.8,
        out_dir: str | os.PathLike | None = None,
    ):
        self.key = key
        self.region = region
        self.voices = dict(voices or AZURE_VOICES)
        self.endpoint = endpoint or f"https://{region}.tts.speech.microsoft.com/cognitiveservices/v1"
        self.timeout_s = timeout_s
        self.out_dir = Path(out_dir) if out_dir else own_out_dir()

    def voice_for(self, language: str) -> str:
        lang = base_language(language)
        if lang not in self.voices:
            raise TTSError(f"azure: no voice configured for language {language!r}")
        return self.voices[lang]

    def ssml(self, text: str, language: str) -> str:
        voice = self.voice_for(language)
        locale = AZURE_LOCALES.get(base_language(language), "-".join(voice.split("-")[:2]))
        return (
            f"<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' "
            f"xml:lang={quoteattr(locale)}>"
            f"<voice name={quoteattr(voice)}>{escape(text)}</voice></speak>"
        )

    def synthesize(self, text: str, language: str, timeout_s: float | None = None) -> Path:
        """A WAV of ``text`` within ``timeout_s`` (at most the engine's own timeout), checked
        whole before it is written. TTSError on any failure; then no file is left."""
        timeout = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        headers = {
            "Ocp-Apim-Subscription-Key": self.key,
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": AZURE_OUTPUT_FORMAT,
        }
        try:
            answer = post(self.endpoint, headers, self.ssml(text, language).encode("utf-8"), timeout)
        except SpeechTransportError as exc:
            raise TTSError(f"azure: {exc}") from exc
        if answer.status != 200:
            raise TTSError(f"azure: HTTP {answer.status}: {answer.body[:200]!r}")
        audio, _ = checked_wav(answer.body, self.name, answer.length_checked, expect=AZURE_WAV)
        out = _unique_wav(self.out_dir, self.name)
        _write_atomically(out, audio)
        return out


class OfflineTTS:
    """espeak-ng through pyttsx3, falling back to the espeak-ng command line.

    pyttsx3's espeak driver is process-global and not thread-safe, and one engine keeps only
    the last save_to_file of a run: we save exactly one unique WAV per call under a lock.
    """

    name = "espeak"
    _lock = threading.Lock()  # shared: the espeak library is one per process
    _pyttsx3_engine: Any = None
    _pyttsx3_broken = False

    def __init__(
        self,
        voices: dict[str, str] | None = None,
        rate_wpm: int = 160,
        out_dir: str | os.PathLike | None = None,
        use_pyttsx3: bool = True,
    ):
        self.voices = dict(voices or ESPEAK_VOICES)
        self.rate_wpm = rate_wpm
        self.out_dir = Path(out_dir) if out_dir else own_out_dir()
        self.use_pyttsx3 = use_pyttsx3

    def voice_for(self, language: str) -> str:
        lang = base_language(language)
        if lang not in self.voices:
            raise TTSError(f"espeak: no voice configured for language {language!r}")
        return self.voices[lang]

    def synthesize(self, text: str, language: str) -> Path:
        voice = self.voice_for(language)
        out = _unique_wav(self.out_dir, "espeak")
        with self._lock:
            if self.use_pyttsx3 and not OfflineTTS._pyttsx3_broken:
                try:
                    self._pyttsx3_save(text, voice, out)
                    return _check_output(out, "pyttsx3")
                except Exception:  # any driver failure: use the CLI, and stop trying pyttsx3
                    OfflineTTS._pyttsx3_broken = True
                    out.unlink(missing_ok=True)
            try:
                self._cli_save(text, voice, out)
            except TTSError:
                out.unlink(missing_ok=True)
                raise
        return _check_output(out, self.name)

    def _pyttsx3_save(self, text: str, voice: str, out: Path) -> None:
        import pyttsx3  # optional at import time: the CLI path works without it

        # The driver prints "Audio saved to ..." for every file, also while the engine is set
        # up and configured: all of it runs with stdout redirected (stdout is the kiosk's log).
        with contextlib.redirect_stdout(io.StringIO()):
            if OfflineTTS._pyttsx3_engine is None:
                OfflineTTS._pyttsx3_engine = pyttsx3.init("espeak")
            engine = OfflineTTS._pyttsx3_engine
            engine.setProperty("voice", voice)
            engine.setProperty("rate", self.rate_wpm)
            engine.save_to_file(text, str(out))
            engine.runAndWait()

    def _cli_save(self, text: str, voice: str, out: Path) -> None:
        exe = shutil.which("espeak-ng") or shutil.which("espeak")
        if not exe:
            raise TTSError("espeak: neither pyttsx3 nor the espeak-ng binary is usable")
        try:
            # "--" so a prompt starting with '-' is not read as an option
            subprocess.run(
                [exe, "-v", voice, "-s", str(self.rate_wpm), "-w", str(out), "--", text],
                check=True,
                capture_output=True,
                timeout=15,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            raise TTSError(f"espeak-ng failed: {exc}") from exc


# --- the cached chain ----------------------------------------------------------------------


@dataclass(frozen=True)
class Synthesis:
    path: Path
    engine: str
    cached: bool


class TTSChain:
    """Engines in priority order (Azure first, offline last) with a disk cache.

    - Each engine's cached audio is tried before the engine itself: a prompt Azure has spoken
      once keeps its neural voice when Azure is down later. Cache key: sha256(engine name +
      voice + text). A cached file that is not whole audio (a crash mid-write, a cut-off
      answer cached by an older version) is deleted and never played.
    - The whole call, including fallback, stays within ``deadline_s``: remote engines get
      the remaining time minus ``local_reserve_s`` for the offline engine.
    - A failed engine, or one whose answer used more than SLOW_SHARE of its timeout, is
      skipped for ``backoff_s`` (the Backoff), then tried again.
    """

    name = "chain"

    def __init__(
        self,
        engines: Sequence[TTSEngine],
        cache_dir: str | os.PathLike,
        deadline_s: float = 1.0,
        backoff_s: float = 30.0,
        local_reserve_s: float = 0.2,
        local_engines: Sequence[str] = ("espeak",),
        clock: Callable[[], float] = time.monotonic,
    ):
        if not engines:
            raise ValueError("TTSChain needs at least one engine")
        self.engines = list(engines)
        self.cache_dir = Path(cache_dir).expanduser()
        self.deadline_s = deadline_s
        self.local_reserve_s = local_reserve_s
        self.local_engines = set(local_engines)
        self.backoff = Backoff(backoff_s, clock)
        self.errors: list[str] = []  # why the last call passed engines over, for diagnostics
        self._cache_problem: str | None = None  # why the cache cannot be written, once logged
        self.last: Synthesis | None = None

    def voice_for(self, language: str) -> str:
        return self.engines[0].voice_for(language)

    def cache_path(self, engine: TTSEngine, text: str, language: str) -> Path:
        key = hashlib.sha256(f"{engine.name}\0{engine.voice_for(language)}\0{text}".encode()).hexdigest()
        return self.cache_dir / f"{engine.name}-{key[:32]}.wav"

    def synthesize(self, text: str, language: str) -> Path:
        return self.synthesize_detailed(text, language).path

    def synthesize_detailed(self, text: str, language: str) -> Synthesis:
        start = time.monotonic()
        try:
            outcome = first_success(self._candidates(text, language, start), self.backoff)
        except AllFailed as exc:
            self.errors = list(exc.failures)
            raise TTSError(f"no speech engine succeeded: {exc}") from None
        self.errors = list(outcome.failures)
        self.last = outcome.value
        return outcome.value

    def _candidates(self, text: str, language: str, start: float) -> Iterator[Candidate[Synthesis]]:
        for engine in self.engines:
            try:
                cached = self.cache_path(engine, text, language)
            except TTSError as exc:  # the engine has no voice for this language
                yield Candidate(engine.name, _skip(str(exc)), tracked=False)
                continue
            if cached.is_file():
                yield Candidate(f"{engine.name} cache", partial(self._from_cache, engine, cached), tracked=False)
            timeout = getattr(engine, "timeout_s", None)
            local = engine.name in self.local_engines
            # The offline engine is the last resort: one failure (a busy machine) must not
            # silence every prompt for the back-off time, so it is never backed off.
            yield Candidate(
                engine.name,
                partial(self._fresh, engine, cached, text, language, start),
                tracked=not local,
                slow_after_s=None if local or timeout is None else SLOW_SHARE * timeout,
            )

    def _from_cache(self, engine: TTSEngine, cached: Path) -> Synthesis:
        try:
            check_wav_file(cached, f"{engine.name} cache")
        except TTSError as exc:
            cached.unlink(missing_ok=True)
            raise Skip(f"{exc}; removed from the cache") from None
        return Synthesis(cached, engine.name, True)

    def _fresh(self, engine: TTSEngine, cached: Path, text: str, language: str, start: float) -> Synthesis:
        if engine.name in self.local_engines:
            produced = engine.synthesize(text, language)
        else:
            budget = self.deadline_s - self.local_reserve_s - (time.monotonic() - start)
            if budget <= 0.05:
                raise Skip("no time left")
            produced = engine.synthesize(text, language, timeout_s=budget)  # type: ignore[call-arg]
        return Synthesis(self._store(Path(produced), cached), engine.name, False)

    def _store(self, produced: Path, cached: Path) -> Path:
        """Move the fresh, checked WAV into the cache atomically (readers never see half a file).

        When the cache cannot take it, speech goes on from the engine's own folder, under the
        cache entry's name there: each prompt's new file replaces its last one instead of one
        more file per prompt for as long as the kiosk runs."""
        tmp = cached.with_name(f".{cached.name}.{uuid.uuid4().hex}.part")
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            shutil.move(str(produced), tmp)
            os.replace(tmp, cached)
        except OSError as exc:
            if self._cache_problem is None:
                log.warning("speech cache %s unusable (%s): prompts are synthesized every time", self.cache_dir, exc)
            self._cache_problem = str(exc)
            source = produced if produced.exists() else tmp  # tmp: moved, but not into place
            if source is produced:
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)  # a copy cut short by a full disk
            own = produced.with_name(cached.name)
            try:
                os.replace(source, own)
            except OSError:
                return source
            return own
        if self._cache_problem is not None:
            self._cache_problem = None
            log.info("speech cache %s works again", self.cache_dir)
        return cached


def _skip(reason: str) -> Callable[[], Synthesis]:
    def run() -> Synthesis:
        raise Skip(reason)

    return run


def build_tts_chain(
    credentials: AzureCredentials | None = None,
    cache_dir: str | os.PathLike = "~/.cache/kiosk/tts",
    azure_region: str | None = None,
    timeout_s: float = 0.8,
    deadline_s: float = 1.0,
    backoff_s: float = 30.0,
    endpoint: str | None = None,
    language_voices_azure: dict[str, str] | None = None,
    language_voices_espeak: dict[str, str] | None = None,
) -> TTSChain:
    """The kiosk's default: Azure (when credentials are given) then espeak-ng, cached.

    ``credentials`` comes from ``AzureCredentials.from_env_or_file``; ``azure_region``
    (config speech.azure_region) overrides its region.
    """
    engines: list[TTSEngine] = []
    creds = credentials
    if creds:
        engines.append(
            AzureTTS(
                creds.key, azure_region or creds.region, language_voices_azure, endpoint=endpoint, timeout_s=timeout_s
            )
        )
    engines.append(OfflineTTS(language_voices_espeak))
    return TTSChain(engines, cache_dir, deadline_s=deadline_s, backoff_s=backoff_s)


__all__ = [
    "AZURE_LOCALES",
    "AZURE_VOICES",
    "ESPEAK_VOICES",
    "AzureCredentials",
    "AzureTTS",
    "CredentialsError",
    "OfflineTTS",
    "Synthesis",
    "TTSChain",
    "TTSEngine",
    "TTSError",
    "WavFormat",
    "base_language",
    "build_tts_chain",
    "check_wav_file",
    "checked_wav",
    "wav_info",
]
