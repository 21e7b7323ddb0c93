"""Speech out: Azure REST TTS against a local fake that refuses, hangs and answers; the
offline espeak-ng engine; the cached chain (fallback within 1 s, back-off, recovery).

Also home of FakeAzure, which the other speech tests load from this file.
Only loopback addresses are used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from kiosk.speech.tts import AzureCredentials, AzureTTS, CredentialsError, OfflineTTS, TTSChain, TTSError, wav_info

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng binary not installed (apt install espeak-ng)")

FAKE_KEY = "test-key-not-secret"
AZURE_RATE = 24000  # riff-24khz-16bit-mono-pcm: tells the Azure path from espeak's 22050 Hz
ESPEAK_RATE = 22050


# --- the fake Azure endpoint ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_neural_wav(text: str) -> bytes:
    """A real speech WAV at 24 kHz: espeak-ng's rendering, resampled (a tone without espeak)."""
    if ESPEAK:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "x.wav"
            subprocess.run(
                [ESPEAK, "-v", "en-us", "-w", str(out), "--", text or "ok"], check=True, capture_output=True, timeout=15
            )
            with wave.open(str(out)) as w:
                rate = w.getframerate()
                x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
        n = int(len(x) * AZURE_RATE / rate)
        y = np.interp(np.arange(n) * rate / AZURE_RATE, np.arange(len(x)), x)
    else:
        t = np.arange(int(0.4 * AZURE_RATE)) / AZURE_RATE
        y = 8000 * np.sin(2 * np.pi * 440 * t)
    import io

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(AZURE_RATE)
        w.writeframes(y.astype("<i2").tobytes())
    return buf.getvalue()


class FakeAzure:
    """One loopback port that can refuse (nothing listens), hang (accepts, never answers)
    or answer like Azure's TTS and short-audio STT REST endpoints."""

    def __init__(self, key: str = FAKE_KEY, stt_text: str = "Start."):
        self.key = key
        self.port = _free_port()
        self.stt_text = stt_text
        self.stt_status = "Success"
        self.requests: list[dict] = []
        self.connections = 0  # connections accepted while hanging
        self.mode = "refuse"
        self._server: ThreadingHTTPServer | None = None
        self._hang_sock: socket.socket | None = None
        self._hung: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def tts_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cognitiveservices/v1"

    @property
    def stt_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/speech/recognition/conversation/cognitiveservices/v1"

    def refuse(self) -> None:
        self._shutdown()
        self.mode = "refuse"

    def hang(self) -> None:
        self._shutdown()
        self.mode = "hang"
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        sock.settimeout(0.05)
        self._hang_sock = sock
        self._stop.clear()

        def accept_forever():
            while not self._stop.is_set():
                try:
                    conn, _ = sock.accept()
                except (TimeoutError, OSError):
                    continue
                self.connections += 1
                self._hung.append(conn)  # keep it open, never answer

        self._thread = threading.Thread(target=accept_forever, daemon=True)
        self._thread.start()

    def answer(self) -> None:
        self._shutdown()
        self.mode = "answer"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.headers.get("Ocp-Apim-Subscription-Key") != fake.key:
                    return self._send(401, "application/json", b'{"error": "unauthorized"}')
                if self.path.startswith("/cognitiveservices/v1"):
                    ssml = body.decode("utf-8")
                    text = re.sub(r"<[^>]+>", "", ssml)
                    return self._send(200, "audio/wav", fake_neural_wav(text))
                if self.path.startswith("/speech/recognition/"):
                    answer = {
                        "RecognitionStatus": fake.stt_status,
                        "DisplayText": fake.stt_text,
                        "Offset": 0,
                        "Duration": 10000000,
                    }
                    return self._send(200, "application/json", json.dumps(answer).encode())
                return self._send(404, "text/plain", b"not found")

            def _send(self, code, ctype, data):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def tts_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith("/cognitiveservices/v1")]

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._hang_sock is not None:
            self._stop.set()
            if self._thread is not None:
                self._thread.join(1)
            self._hang_sock.close()
            self._hang_sock = None
            for conn in self._hung:
                conn.close()
            self._hung.clear()

    def close(self) -> None:
        self._shutdown()


@pytest.fixture
def fake_azure():
    fake = FakeAzure()
    yield fake
    fake.close()


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_chain(fake: FakeAzure, tmp_path: Path, clock=None, backoff_s: float = 30.0) -> TTSChain:
    azure = AzureTTS(FAKE_KEY, "westeurope", endpoint=fake.tts_url, timeout_s=0.8, out_dir=tmp_path / "out")
    offline = OfflineTTS(out_dir=tmp_path / "out")
    kwargs = {"clock": clock} if clock else {}
    return TTSChain([azure, offline], tmp_path / "cache", deadline_s=1.0, backoff_s=backoff_s, **kwargs)


def assert_valid_wav(path: Path, rate: int) -> None:
    frames, actual_rate = wav_info(path)
    assert frames > 0
    assert actual_rate == rate


# --- Azure answers ---------------------------------------------------------------------------


def test_azure_path_uses_rest_headers_and_neural_voices(fake_azure, tmp_path):
    fake_azure.answer()
    chain = make_chain(fake_azure, tmp_path)
    result = chain.synthesize_detailed("Please look at the camera & smile", "en")
    assert result.engine == "azure" and not result.cached
    assert_valid_wav(result.path, AZURE_RATE)

    request = fake_azure.tts_requests()[-1]
    assert request["headers"]["Ocp-Apim-Subscription-Key"] == FAKE_KEY
    assert request["headers"]["X-Microsoft-OutputFormat"] == "riff-24khz-16bit-mono-pcm"
    assert request["headers"]["Content-Type"] == "application/ssml+xml"
    ssml = request["body"].decode()
    assert 'name="en-US-JennyNeural"' in ssml and 'xml:lang="en-US"' in ssml
    assert "&amp; smile" in ssml  # text is XML-escaped

    german = chain.synthesize_detailed("Bitte schauen Sie in die Kamera", "de")
    assert german.engine == "azure"
    assert "de-DE-KatjaNeural" in fake_azure.tts_requests()[-1]["body"].decode()


def test_azure_errors_are_reported_not_swallowed(fake_azure, tmp_path):
    fake_azure.answer()
    wrong_key = AzureTTS("wrong", "westeurope", endpoint=fake_azure.tts_url, out_dir=tmp_path)
    with pytest.raises(TTSError, match="HTTP 401"):
        wrong_key.synthesize("hello", "en")
    with pytest.raises(TTSError, match="no voice"):
        wrong_key.synthesize("hello", "fr")


def test_chain_raises_when_every_engine_fails(fake_azure, tmp_path):
    fake_azure.refuse()
    azure = AzureTTS(FAKE_KEY, "westeurope", endpoint=fake_azure.tts_url, out_dir=tmp_path)
    chain = TTSChain([azure], tmp_path / "cache")
    with pytest.raises(TTSError, match="no speech engine succeeded"):
        chain.synthesize("hello", "en")


# --- fallback, back-off, recovery, cache -------------------------------------------------------


@needs_espeak
@pytest.mark.parametrize("outage", ["refuse", "hang"])
def test_falls_back_to_offline_within_one_second(fake_azure, tmp_path, outage):
    getattr(fake_azure, outage)()
    chain = make_chain(fake_azure, tmp_path)
    start = time.monotonic()
    result = chain.synthesize_detailed("Turn your head to the left", "en")
    elapsed = time.monotonic() - start
    assert result.engine == "espeak"
    assert_valid_wav(result.path, ESPEAK_RATE)
    assert elapsed < 1.0, f"fallback took {elapsed:.2f} s"
    if outage == "hang":
        assert fake_azure.connections >= 1  # it really reached the hanging host


@needs_espeak
def test_backoff_skips_azure_then_recovers(fake_azure, tmp_path):
    clock = FakeClock()
    chain = make_chain(fake_azure, tmp_path, clock=clock, backoff_s=30.0)
    fake_azure.hang()
    assert chain.synthesize_detailed("first prompt", "en").engine == "espeak"
    seen = fake_azure.connections

    start = time.monotonic()
    assert chain.synthesize_detailed("second prompt", "en").engine == "espeak"
    assert time.monotonic() - start < 0.5  # no second wait on the dead host
    assert fake_azure.connections == seen

    fake_azure.answer()  # Azure is back, but we are still backing off
    clock.now += 10
    assert chain.synthesize_detailed("third prompt", "en").engine == "espeak"
    assert fake_azure.tts_requests() == []

    clock.now += 25  # back-off over: recovery
    result = chain.synthesize_detailed("fourth prompt", "en")
    assert result.engine == "azure"
    assert_valid_wav(result.path, AZURE_RATE)
    assert len(fake_azure.tts_requests()) == 1


@needs_espeak
def test_an_azure_outage_is_logged_once_and_counted(fake_azure, tmp_path, caplog):
    """An operator must see that the kiosk speaks with the offline voice because Azure fails:
    one warning when the outage starts (not one per prompt or per retry), one line when Azure
    answers again, and every prompt it cost counted in kiosk_speech_fallbacks."""
    import logging

    from kiosk import metrics

    def fallbacks() -> float:
        return sum(
            metrics.REGISTRY.get_sample_value("kiosk_speech_fallbacks_total", {"engine": "azure", "reason": r}) or 0.0
            for r in ("error", "timeout", "backoff", "skipped")
        )

    clock = FakeClock()
    chain = make_chain(fake_azure, tmp_path, clock=clock, backoff_s=30.0)
    fake_azure.refuse()
    before = fallbacks()
    caplog.set_level(logging.DEBUG, logger="kiosk.speech")
    for i in range(3):
        clock.now += 31  # each prompt after the back-off: Azure is tried, and fails, again
        assert chain.synthesize_detailed(f"prompt {i}", "en").engine == "espeak"
    assert chain.synthesize_detailed("prompt 3", "en").engine == "espeak"  # within the back-off
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "azure" in warnings[0].getMessage() and "Connection refused" in warnings[0].getMessage()
    assert fallbacks() - before == 4

    fake_azure.answer()
    clock.now += 31
    caplog.clear()
    assert chain.synthesize_detailed("prompt 4", "en").engine == "azure"
    assert any("azure" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
    assert fallbacks() - before == 4


@needs_espeak
def test_one_offline_failure_does_not_silence_the_following_prompts(fake_azure, tmp_path, monkeypatch):
    """espeak-ng is the last resort: a single failure (a busy machine) must not back it off, or
    every prompt for the next 30 s would be silent."""
    fake_azure.refuse()
    chain = make_chain(fake_azure, tmp_path, clock=FakeClock(), backoff_s=30.0)
    offline = chain.engines[-1]
    real = offline.synthesize
    calls = []

    def fails_once(text, language):
        calls.append(text)
        if len(calls) == 1:
            raise TTSError("espeak-ng failed: timed out")
        return real(text, language)

    monkeypatch.setattr(offline, "synthesize", fails_once)
    with pytest.raises(TTSError, match="timed out"):
        chain.synthesize("first prompt", "en")
    assert chain.synthesize_detailed("second prompt", "en").engine == "espeak"
    assert calls == ["first prompt", "second prompt"]


@needs_espeak
def test_cache_keeps_the_neural_voice_during_an_outage(fake_azure, tmp_path):
    fake_azure.answer()
    chain = make_chain(fake_azure, tmp_path)
    first = chain.synthesize_detailed("Welcome. Please step closer.", "en")
    assert first.engine == "azure" and not first.cached

    fake_azure.hang()
    start = time.monotonic()
    again = chain.synthesize_detailed("Welcome. Please step closer.", "en")
    assert time.monotonic() - start < 0.2
    assert again.engine == "azure" and again.cached and again.path == first.path
    assert_valid_wav(again.path, AZURE_RATE)
    assert fake_azure.connections == 0  # served from disk, the network was not touched

    new = chain.synthesize_detailed("A prompt never heard before", "en")
    assert new.engine == "espeak"
    # the cache key includes the voice: the same text in German is a different entry
    assert chain.cache_path(chain.engines[0], "Hallo", "de") != chain.cache_path(chain.engines[0], "Hallo", "en")


@needs_espeak
def test_an_unusable_cache_folder_leaves_no_pile_of_files_and_is_logged_once(tmp_path, caplog):
    """A cache folder the kiosk cannot write (a wrong owner, a path under a file) must not
    leave one WAV per prompt in the output folder for months: speech goes on, each distinct
    prompt keeps at most one file, and the operator reads once why nothing is cached."""
    import logging

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # unwritable for root too: the cache would be under a file
    out = tmp_path / "out"
    chain = TTSChain([OfflineTTS(out_dir=out)], blocker / "cache")
    caplog.set_level(logging.INFO, logger="kiosk.speech")
    for i in range(6):
        result = chain.synthesize_detailed(f"Bitte lächeln Sie {i % 2}", "de")
        assert result.engine == "espeak" and not result.cached
        assert_valid_wav(result.path, ESPEAK_RATE)
    assert len(list(out.iterdir())) == 2  # one per distinct prompt, not one per prompt
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and str(blocker / "cache") in warnings[0], warnings


# --- offline engine --------------------------------------------------------------------------


@needs_espeak
@pytest.mark.parametrize("language,text", [("en", "Please smile"), ("de", "Bitte lächeln Sie")])
def test_offline_engine_writes_a_unique_wav_per_call(tmp_path, language, text):
    tts = OfflineTTS(out_dir=tmp_path)
    first = tts.synthesize(text, language)
    second = tts.synthesize(text + " " + text, language)
    assert first != second and first.exists() and second.exists()  # nothing overwritten
    assert_valid_wav(first, ESPEAK_RATE)
    assert wav_info(second)[0] > wav_info(first)[0]


@needs_espeak
def test_offline_engine_uses_espeak_cli_when_pyttsx3_fails(tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("driver broken")

    monkeypatch.setattr(OfflineTTS, "_pyttsx3_save", broken)
    monkeypatch.setattr(OfflineTTS, "_pyttsx3_broken", False)
    path = OfflineTTS(out_dir=tmp_path).synthesize("-starts with a dash", "en")
    frames, rate = wav_info(path)
    assert frames > 0 and rate == ESPEAK_RATE


@needs_espeak
def test_engines_put_fresh_prompts_into_a_private_folder_of_their_own(tmp_path):
    """The engines' default folder was one fixed name under /tmp for every user: after root ran a
    self-test there, the kiosk user's offline speech failed ("Permission denied"), and whoever
    made it first could read or swap the prompts. Now each process makes its own (0700) and
    removes it at exit; the old name being taken changes nothing."""
    (tmp_path / "kiosk-tts").write_text("made by someone else")
    script = (
        "import json, os, stat\n"
        "from kiosk.speech.tts import AzureTTS, OfflineTTS\n"
        "wav = OfflineTTS().synthesize('Look at the camera.', 'en')\n"
        "st = os.stat(wav.parent)\n"
        "print(json.dumps({'wav': str(wav), 'azure': str(AzureTTS('k', 'westeurope').out_dir),\n"
        "                  'mode': stat.S_IMODE(st.st_mode), 'uid': st.st_uid}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    folder = Path(out["wav"]).parent
    assert folder.parent == tmp_path and folder.name.startswith("kiosk-tts-"), folder
    assert out["azure"] == str(folder)  # one folder per process, whichever engine
    assert out["mode"] == 0o700 and out["uid"] == os.getuid()
    assert not folder.exists(), "the folder (and the prompt in it) should be gone at exit"


# --- credentials ------------------------------------------------------------------------------


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("KIOSK_AZURE_SPEECH_KEY", raising=False)
    monkeypatch.delenv("KIOSK_AZURE_SPEECH_REGION", raising=False)


def test_credentials_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KIOSK_AZURE_SPEECH_KEY", "k")
    monkeypatch.setenv("KIOSK_AZURE_SPEECH_REGION", "westeurope")
    creds = AzureCredentials.from_env_or_file(tmp_path / "missing.toml")
    assert (creds.key, creds.region) == ("k", "westeurope")
    assert "'k'" not in repr(creds)  # the key never lands in logs
    # the configured region (speech.azure_region) wins over the environment's
    assert AzureCredentials.from_env_or_file(None, region="northeurope").region == "northeurope"


@pytest.mark.parametrize(
    "content",
    [
        '[azure_speech]\nkey = "abc"\nregion = "westeurope"\n',  # TOML
        "[azure_speech]\nkey = abc\nregion = westeurope\n",  # INI
    ],
)
def test_credentials_from_protected_file(no_env, tmp_path, content):
    path = tmp_path / "azure_speech.conf"
    path.write_text(content)
    path.chmod(0o600)
    creds = AzureCredentials.from_env_or_file(path)
    assert (creds.key, creds.region) == ("abc", "westeurope")


def test_bare_key_file_with_region_from_config(no_env, tmp_path):
    path = tmp_path / "azure.key"
    path.write_text("0123456789abcdef\n")
    path.chmod(0o600)
    creds = AzureCredentials.from_env_or_file(path, region="westeurope")
    assert (creds.key, creds.region) == ("0123456789abcdef", "westeurope")
    assert AzureCredentials.from_env_or_file(path) is None  # a key without a region: offline


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602])
def test_world_accessible_credentials_file_is_refused(no_env, tmp_path, mode):
    path = tmp_path / "azure_speech.toml"
    path.write_text('[azure_speech]\nkey = "abc"\nregion = "westeurope"\n')
    path.chmod(mode)
    with pytest.raises(CredentialsError, match="chmod 600"):
        AzureCredentials.from_env_or_file(path)


def test_no_credentials_means_offline_only(no_env, tmp_path):
    assert AzureCredentials.from_env_or_file(None) is None
    assert AzureCredentials.from_env_or_file(tmp_path / "missing.toml") is None
    keyless = tmp_path / "c.toml"
    keyless.write_text('[azure_speech]\nregion = "westeurope"\n')
    keyless.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with pytest.raises(CredentialsError, match="no Azure key"):
        AzureCredentials.from_env_or_file(keyless)


# --- wiring from the kiosk's [speech] config --------------------------------------------------


def test_build_from_config_offline_and_with_azure(no_env, monkeypatch, tmp_path, caplog):
    from types import SimpleNamespace

    from kiosk.speech import build_from_config

    cfg = SimpleNamespace(azure_region="", azure_key_file="", timeout_s=0.8, cache_dir=str(tmp_path / "c"))
    tts, recognizer = build_from_config(cfg, language="de")
    assert [e.name for e in tts.engines] == ["espeak"]
    assert [e.name for e in recognizer.engines] == ["pocketsphinx"] and recognizer.language == "de"

    key_file = tmp_path / "azure.key"
    key_file.write_text("secret-key\n")
    key_file.chmod(0o644)  # unprotected: refused, offline, logged
    cfg = SimpleNamespace(
        azure_region="westeurope", azure_key_file=str(key_file), timeout_s=0.8, cache_dir=str(tmp_path / "c")
    )
    tts, _ = build_from_config(cfg)
    assert [e.name for e in tts.engines] == ["espeak"]
    assert "chmod 600" in caplog.text

    key_file.chmod(0o600)
    tts, recognizer = build_from_config(cfg)
    assert [e.name for e in tts.engines] == ["azure", "espeak"]
    assert tts.engines[0].endpoint == "https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1"
    assert recognizer.engines[0].endpoint.startswith("https://westeurope.stt.speech.microsoft.com/")
    assert tts.deadline_s == 1.0
    # the kiosk's real default config has the keys this reads
    from kiosk.config import load_config

    speech = load_config().speech
    assert {"azure_region", "azure_key_file", "timeout_s", "cache_dir"} <= set(vars(speech))


# --- audio checked whole --------------------------------------------------------------------


def test_only_whole_audio_passes_the_check():
    import struct

    from kiosk.speech.tts import checked_wav

    good = fake_neural_wav("check")
    clean, fmt = checked_wav(good, "t", expect=(AZURE_RATE, 1, 2))
    assert (fmt.rate, fmt.channels, fmt.sample_width) == (AZURE_RATE, 1, 2) and fmt.frames > 0
    assert clean == good  # already clean: the same bytes
    with pytest.raises(TTSError, match="RIFF header announces"):
        checked_wav(good[:1044], "t")  # cut off, sizes in the header
    with pytest.raises(TTSError, match="cut off"):
        checked_wav(good[:4] + struct.pack("<I", 1036) + good[8:1044], "t")  # RIFF size patched too
    with pytest.raises(TTSError, match="no RIFF"):
        checked_wav(b"<html>502</html>", "t")
    junk = b"RIFF" + struct.pack("<I", 4088) + b"WAVE" + bytes(range(256)) * 16
    with pytest.raises(TTSError):
        checked_wav(junk[:4096], "t")
    with pytest.raises(TTSError, match="asked for"):
        checked_wav(good, "t", expect=(16000, 1, 2))
    # a streamed header without lengths is accepted only when HTTP proved the body complete
    streamed = good[:4] + struct.pack("<I", 0xFFFFFFFF) + good[8:40] + struct.pack("<I", 0xFFFFFFFF) + good[44:]
    with pytest.raises(TTSError, match="no length"):
        checked_wav(streamed, "t")
    assert checked_wav(streamed, "t", length_checked=True)[0] == good


@needs_espeak
def test_a_damaged_cache_entry_is_deleted_not_played(fake_azure, tmp_path):
    fake_azure.hang()
    chain = make_chain(fake_azure, tmp_path)
    poisoned = chain.cache_path(chain.engines[0], "Please smile", "en")
    poisoned.parent.mkdir(parents=True)
    poisoned.write_bytes(fake_neural_wav("Please smile")[:1044])  # what an older version cached
    result = chain.synthesize_detailed("Please smile", "en")
    assert result.engine == "espeak"
    assert not poisoned.exists()
    assert any("removed from the cache" in e for e in chain.errors)


def test_speech_in_timeout_comes_from_config(no_env, tmp_path):
    from types import SimpleNamespace

    from kiosk.speech import build_from_config

    key_file = tmp_path / "azure.key"
    key_file.write_text("secret-key\n")
    key_file.chmod(0o600)
    cfg = SimpleNamespace(
        azure_region="westeurope", azure_key_file=str(key_file), timeout_s=1.7, cache_dir=str(tmp_path / "c")
    )
    tts, recognizer = build_from_config(cfg)
    assert recognizer.engines[0].timeout_s == 1.7 == tts.engines[0].timeout_s
