"""Text to speech: Azure neural voices over REST, offline espeak-ng, and a cached chain.

Every engine has one interface: ``synthesize(text, language) -> Path`` (a WAV file the
caller owns). ``TTSChain`` tries engines in order under a hard deadline, remembers for a
back-off period that an engine is down, and caches results on disk by engine voice + text,
so the neural voice survives an Azure outage for prompts it has already spoken.

No Qt here: ``kiosk.speech.qt_audio`` plays the files.
"""
from __future__ import annotations

import configparser
import contextlib
import hashlib
import http.client
import io
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import tomllib
import urllib.parse
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence
from xml.sax.saxutils import escape, quoteattr

# Languages the kiosk ships. Keys are the kiosk's language codes (config speech.language).
AZURE_LOCALES = {"en": "en-US", "de": "de-DE"}
AZURE_VOICES = {"en": "en-US-JennyNeural", "de": "de-DE-KatjaNeural"}
ESPEAK_VOICES = {"en": "en-us", "de": "de"}

ENV_KEY = "KIOSK_AZURE_SPEECH_KEY"
ENV_REGION = "KIOSK_AZURE_SPEECH_REGION"
AZURE_OUTPUT_FORMAT = "riff-24khz-16bit-mono-pcm"
USER_AGENT = "kiosk-speech"


class TTSError(RuntimeError):
    """An engine could not produce speech (network, service or synthesiser failure)."""


class CredentialsError(RuntimeError):
    """Azure credentials are present but unusable (e.g. an unprotected file)."""


class TTSEngine(Protocol):
    name: str

    def voice_for(self, language: str) -> str: ...

    def synthesize(self, text: str, language: str) -> Path: ...


def base_language(language: str) -> str:
    """'de-DE' -> 'de', 'EN' -> 'en'."""
    return language.replace("_", "-").split("-")[0].lower()


def _unique_wav(out_dir: Path, prefix: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / f"{prefix}-{uuid.uuid4().hex}.wav"


def wav_info(path: Path) -> tuple[int, int]:
    """(frames, sample rate) of a WAV; raises wave.Error/EOFError if it is not one."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes(), w.getframerate()


def _check_wav(path: Path, engine: str) -> Path:
    try:
        frames, _ = wav_info(path)
    except (OSError, EOFError, wave.Error) as exc:
        raise TTSError(f"{engine}: output is not a WAV file: {exc}") from exc
    if frames <= 0:
        raise TTSError(f"{engine}: produced an empty WAV")
    return path


# --- credentials -------------------------------------------------------------------------

@dataclass(frozen=True)
class AzureCredentials:
    key: str = field(repr=False)
    region: str

    @classmethod
    def from_env_or_file(cls, path: str | os.PathLike | None = None,
                         region: str | None = None) -> "AzureCredentials | None":
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
            f"(mode {stat.filemode(mode)}); run 'chmod 600 {p}'")
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


# --- REST with a hard deadline -------------------------------------------------------------

def rest_post(url: str, headers: dict[str, str], body: bytes, timeout_s: float) -> tuple[int, bytes]:
    """POST and read the whole answer, never taking (much) longer than timeout_s.

    Every socket operation gets only the time that is left, so a host that accepts and
    never answers, or trickles bytes, cannot hold us past the deadline. (DNS lookup is not
    covered by socket timeouts; callers that must not block run this in a thread, see
    ``call_with_deadline``.) Raises TTSError on any failure.
    """
    deadline = time.monotonic() + timeout_s

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TTSError(f"timed out after {timeout_s:.2f} s: {url}")
        return remaining

    parts = urllib.parse.urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = conn_cls(parts.hostname, parts.port, timeout=left())
    try:
        conn.request("POST", path or "/", body=body, headers=headers)
        conn.sock.settimeout(left())
        resp = conn.getresponse()
        chunks = []
        while True:
            if conn.sock is not None:
                conn.sock.settimeout(left())
            chunk = resp.read1(65536)  # one recv at most, so each wait is bounded
            if not chunk:
                break
            chunks.append(chunk)
        return resp.status, b"".join(chunks)
    except (OSError, http.client.HTTPException) as exc:  # socket.timeout is an OSError
        raise TTSError(f"{type(exc).__name__}: {exc} ({parts.hostname}:{parts.port})") from exc
    finally:
        conn.close()


def call_with_deadline(fn: Callable[[], object], timeout_s: float):
    """Run fn in a daemon thread and give up after timeout_s (covers DNS stalls too).

    A stalled call is abandoned, not killed; its own socket timeouts end it soon after.
    """
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    worker = threading.Thread(target=run, name="speech-deadline", daemon=True)
    worker.start()
    worker.join(max(timeout_s, 0.0))
    if worker.is_alive():
        raise TTSError(f"no answer within {timeout_s:.2f} s")
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]


# --- engines -----------------------------------------------------------------------------

class AzureTTS:
    """Azure neural TTS through the REST API (no SDK: it can block ~80 s on a dead host)."""

    name = "azure"

    def __init__(self, key: str, region: str, voices: dict[str, str] | None = None,
                 endpoint: str | None = None, timeout_s: float = 0.8,
                 out_dir: str | os.PathLike | None = None):
        self.key = key
        self.region = region
        self.voices = dict(voices or AZURE_VOICES)
        self.endpoint = endpoint or f"https://{region}.tts.speech.microsoft.com/cognitiveservices/v1"
        self.timeout_s = timeout_s
        self.out_dir = Path(out_dir) if out_dir else Path(tempfile.gettempdir()) / "kiosk-tts"

    def voice_for(self, language: str) -> str:
        lang = base_language(language)
        if lang not in self.voices:
            raise TTSError(f"azure: no voice configured for language {language!r}")
        return self.voices[lang]

    def ssml(self, text: str, language: str) -> str:
        voice = self.voice_for(language)
        locale = AZURE_LOCALES.get(base_language(language), "-".join(voice.split("-")[:2]))
        return (f"<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' "
                f"xml:lang={quoteattr(locale)}>"
                f"<voice name={quoteattr(voice)}>{escape(text)}</voice></speak>")

    def synthesize(self, text: str, language: str, timeout_s: float | None = None) -> Path:
        headers = {
            "Ocp-Apim-Subscription-Key": self.key,
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": AZURE_OUTPUT_FORMAT,
            "User-Agent": USER_AGENT,
        }
        status, body = rest_post(self.endpoint, headers, self.ssml(text, language).encode("utf-8"),
                                 self.timeout_s if timeout_s is None else timeout_s)
        if status != 200:
            raise TTSError(f"azure: HTTP {status}: {body[:200]!r}")
        if body[:4] != b"RIFF" or body[8:12] != b"WAVE":
            raise TTSError("azure: answer is not a RIFF/WAVE file")
        out = _unique_wav(self.out_dir, "azure")
        out.write_bytes(body)
        return _check_wav(out, self.name)


class OfflineTTS:
    """espeak-ng through pyttsx3, falling back to the espeak-ng command line.

    pyttsx3's espeak driver is process-global and not thread-safe, and one engine keeps only
    the last save_to_file of a run: we save exactly one unique WAV per call under a lock.
    """

    name = "espeak"
    _lock = threading.Lock()  # shared: the espeak library is one per process
    _pyttsx3_engine = None
    _pyttsx3_broken = False

    def __init__(self, voices: dict[str, str] | None = None, rate_wpm: int = 160,
                 out_dir: str | os.PathLike | None = None, use_pyttsx3: bool = True):
        self.voices = dict(voices or ESPEAK_VOICES)
        self.rate_wpm = rate_wpm
        self.out_dir = Path(out_dir) if out_dir else Path(tempfile.gettempdir()) / "kiosk-tts"
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
                    return _check_wav(out, "pyttsx3")
                except Exception:  # any driver failure: use the CLI, and stop trying pyttsx3
                    OfflineTTS._pyttsx3_broken = True
                    out.unlink(missing_ok=True)
            self._cli_save(text, voice, out)
        return _check_wav(out, self.name)

    def _pyttsx3_save(self, text: str, voice: str, out: Path) -> None:
        import pyttsx3  # optional at import time: the CLI path works without it

        if OfflineTTS._pyttsx3_engine is None:
            OfflineTTS._pyttsx3_engine = pyttsx3.init("espeak")
        engine = OfflineTTS._pyttsx3_engine
        engine.setProperty("voice", voice)
        engine.setProperty("rate", self.rate_wpm)
        with contextlib.redirect_stdout(io.StringIO()):  # the driver prints "Audio saved to"
            engine.save_to_file(text, str(out))
            engine.runAndWait()

    def _cli_save(self, text: str, voice: str, out: Path) -> None:
        exe = shutil.which("espeak-ng") or shutil.which("espeak")
        if not exe:
            raise TTSError("espeak: neither pyttsx3 nor the espeak-ng binary is usable")
        try:
            # "--" so a prompt starting with '-' is not read as an option
            subprocess.run([exe, "-v", voice, "-s", str(self.rate_wpm), "-w", str(out), "--", text],
                           check=True, capture_output=True, timeout=15)
        except (subprocess.SubprocessError, OSError) as exc:
            raise TTSError(f"espeak-ng failed: {exc}") from exc


# --- back-off and the cached chain ---------------------------------------------------------

class Backoff:
    """Remembers that an engine failed, so we do not wait on it again for every prompt."""

    def __init__(self, backoff_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.backoff_s = backoff_s
        self.clock = clock
        self._down_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_down(self, name: str) -> bool:
        with self._lock:
            return self.clock() < self._down_until.get(name, float("-inf"))

    def mark_down(self, name: str) -> None:
        with self._lock:
            self._down_until[name] = self.clock() + self.backoff_s

    def mark_up(self, name: str) -> None:
        with self._lock:
            self._down_until.pop(name, None)


@dataclass(frozen=True)
class Synthesis:
    path: Path
    engine: str
    cached: bool


class TTSChain:
    """Engines in priority order (Azure first, offline last) with a disk cache.

    - cache key: sha256(engine name + voice + text). A prompt Azure has spoken once keeps
      its neural voice when Azure is down later.
    - The whole call, including fallback, stays within ``deadline_s``: remote engines get
      the remaining time minus ``local_reserve_s`` for the offline engine.
    - A failed engine is skipped for ``backoff_s`` (the Backoff), then tried again.
    """

    name = "chain"

    def __init__(self, engines: Sequence[TTSEngine], cache_dir: str | os.PathLike,
                 deadline_s: float = 1.0, backoff_s: float = 30.0, local_reserve_s: float = 0.2,
                 local_engines: Sequence[str] = ("espeak",),
                 clock: Callable[[], float] = time.monotonic):
        if not engines:
            raise ValueError("TTSChain needs at least one engine")
        self.engines = list(engines)
        self.cache_dir = Path(cache_dir).expanduser()
        self.deadline_s = deadline_s
        self.local_reserve_s = local_reserve_s
        self.local_engines = set(local_engines)
        self.backoff = Backoff(backoff_s, clock)
        self.errors: list[str] = []  # last failures, for logs and diagnostics
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
        failures = []
        for engine in self.engines:
            try:
                cached = self.cache_path(engine, text, language)
            except TTSError as exc:  # engine lacks this language
                failures.append(str(exc))
                continue
            if cached.is_file():
                return self._done(Synthesis(cached, engine.name, True))
            if self.backoff.is_down(engine.name):
                failures.append(f"{engine.name}: backing off")
                continue
            try:
                if engine.name in self.local_engines:
                    produced = engine.synthesize(text, language)
                else:
                    budget = self.deadline_s - self.local_reserve_s - (time.monotonic() - start)
                    if budget <= 0.05:
                        failures.append(f"{engine.name}: no time left")
                        continue
                    produced = call_with_deadline(lambda e=engine: e.synthesize(text, language), budget)
            except Exception as exc:  # any engine failure means: fall back now
                self.backoff.mark_down(engine.name)
                failures.append(f"{engine.name}: {exc}")
                continue
            self.backoff.mark_up(engine.name)
            return self._done(Synthesis(self._store(Path(produced), cached), engine.name, False))
        self.errors = failures
        raise TTSError("no speech engine succeeded: " + "; ".join(failures))

    def _done(self, result: Synthesis) -> Synthesis:
        self.last = result
        return result

    def _store(self, produced: Path, cached: Path) -> Path:
        """Move the fresh WAV into the cache atomically (readers never see half a file)."""
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{uuid.uuid4().hex}.tmp")
            shutil.move(str(produced), tmp)
            os.replace(tmp, cached)
            return cached
        except OSError:
            return produced  # unwritable cache: still speak


CachedTTS = TTSChain  # the name used in the issue


def build_tts_chain(credentials: AzureCredentials | None = None,
                    cache_dir: str | os.PathLike = "~/.cache/kiosk/tts",
                    azure_region: str | None = None,
                    timeout_s: float = 0.8, deadline_s: float = 1.0, backoff_s: float = 30.0,
                    endpoint: str | None = None,
                    language_voices_azure: dict[str, str] | None = None,
                    language_voices_espeak: dict[str, str] | None = None) -> TTSChain:
    """The kiosk's default: Azure (when credentials are given) then espeak-ng, cached.

    ``credentials`` comes from ``AzureCredentials.from_env_or_file``; ``azure_region``
    (config speech.azure_region) overrides its region.
    """
    engines: list[TTSEngine] = []
    creds = credentials
    if creds:
        engines.append(AzureTTS(creds.key, azure_region or creds.region, language_voices_azure,
                                endpoint=endpoint, timeout_s=timeout_s))
    engines.append(OfflineTTS(language_voices_espeak))
    return TTSChain(engines, cache_dir, deadline_s=deadline_s, backoff_s=backoff_s)


__all__ = [
    "AZURE_LOCALES", "AZURE_VOICES", "ESPEAK_VOICES", "AzureCredentials", "AzureTTS", "Backoff",
    "CachedTTS",
    "CredentialsError", "OfflineTTS", "Synthesis", "TTSChain", "TTSEngine", "TTSError",
    "base_language", "build_tts_chain", "call_with_deadline", "rest_post", "wav_info",
]
