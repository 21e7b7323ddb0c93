"""Speech transport under a bad network: Azure pointed at a loopback server that stays silent,
trickles its headers, cuts its answer off, answers 200 with junk, answers slowly but whole, or
refuses. Each case: speech out falls back to espeak-ng and speech in to pocketsphinx within the
deadline (config speech.timeout_s), nothing bad reaches the cache or the temp folder, no
thread or socket outlives its request, and the error is the speech module's own.

The server runs in its own process (this file, run as a script), so every thread and file
descriptor counted here belongs to the client.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

FAKE_KEY = "test-key-not-secret"
TRICKLE_S = 0.3  # one header byte every 0.3 s, as seen on the bad network
ESPEAK = shutil.which("espeak-ng")


# --- the loopback server (runs as: python this_file.py serve MODE [delay]) ---------------------


def neural_wav(seconds: float = 1.0, rate: int = 24000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((6000 * np.sin(2 * np.pi * 330 * t)).astype("<i2").tobytes())
    return buf.getvalue()


def _read_request(conn: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return ""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.split(b" ")[1].decode()


def _answer(path: str) -> tuple[str, bytes]:
    if path.startswith("/speech/recognition/"):
        return "application/json", json.dumps({"RecognitionStatus": "Success", "DisplayText": "Stop."}).encode()
    return "audio/wav", neural_wav()


def _serve_one(conn: socket.socket, mode: str, delay: float) -> None:
    try:
        _answer_as(conn, mode, delay)
    except OSError:  # the client gave up (its deadline): expected here
        pass


def _answer_as(conn: socket.socket, mode: str, delay: float) -> None:
    with conn:
        path = _read_request(conn)
        ctype, body = _answer(path)
        if mode == "silent":
            while conn.recv(1024):  # until the client gives up and closes
                pass
        elif mode == "trickle":
            head = b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"a" * 100000
            for i in range(len(head)):
                conn.sendall(head[i : i + 1])
                time.sleep(TRICKLE_S)
        elif mode == "truncate":  # Content-Length says 48,044 bytes; 1,044 arrive
            full = neural_wav(1.0)
            conn.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {len(full)}\r\n\r\n".encode()
                + full[:1044]
            )
        elif mode == "truncate-unframed":  # no length in HTTP: only the WAV header can tell
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nConnection: close\r\n\r\n" + neural_wav(1.0)[:1044]
            )
        elif mode == "junk":
            junk = b"RIFF" + (4088).to_bytes(4, "little") + b"WAVE" + os.urandom(4084)
            conn.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {len(junk)}\r\n\r\n".encode() + junk
            )
        elif mode in ("slow", "ok"):
            if mode == "slow":
                time.sleep(delay)
            conn.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
            )


def serve(mode: str, delay: float) -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    print(server.getsockname()[1], flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_serve_one, args=(conn, mode, delay), daemon=True).start()


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
    sys.exit(0)


# --- the tests ----------------------------------------------------------------------------------

from kiosk.config import load_config  # noqa: E402
from kiosk.speech.commands import AzureSTT, CommandRecognizer, KeywordSpotter, RecognitionError  # noqa: E402
from kiosk.speech.transport import SpeechTimeout, SpeechTransportError  # noqa: E402
from kiosk.speech.tts import AzureTTS, OfflineTTS, TTSChain, TTSError, wav_info  # noqa: E402

needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng binary not installed (apt install espeak-ng)")
TIMEOUT_S = load_config().speech.timeout_s  # the kiosk's configured Azure timeout
SLACK_S = 0.25  # scheduling on a loaded 2-core machine


class Loopback:
    def __init__(self, mode: str, delay: float = 0.0):
        self.mode = mode
        if mode == "refused":  # a port nothing listens on
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
            self.proc = None
            return
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "serve", mode, str(delay)], stdout=subprocess.PIPE, text=True
        )
        self.port = int(self.proc.stdout.readline())

    @property
    def tts_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cognitiveservices/v1"

    @property
    def stt_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/speech/recognition/conversation/cognitiveservices/v1"

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()


@pytest.fixture
def server(request):
    loopback = Loopback(*request.param) if isinstance(request.param, tuple) else Loopback(request.param)
    yield loopback
    loopback.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def wait_for(predicate, timeout_s: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def chain_for(server: Loopback, tmp_path: Path) -> TTSChain:
    azure = AzureTTS(FAKE_KEY, "westeurope", endpoint=server.tts_url, timeout_s=TIMEOUT_S, out_dir=tmp_path / "out")
    return TTSChain(
        [azure, OfflineTTS(out_dir=tmp_path / "out")], tmp_path / "cache", deadline_s=max(1.0, TIMEOUT_S + 0.2)
    )


def files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.rglob("*") if p.is_file())


def samples(text: str) -> np.ndarray:
    """16 kHz mono int16 speech in memory (espeak-ng), as the microphone would give it."""
    out = subprocess.run(
        [ESPEAK, "-v", "en-us", "--stdout", "--", text], check=True, capture_output=True, timeout=15
    ).stdout
    pcm = np.frombuffer(out[44 : len(out) // 2 * 2], dtype="<i2").astype(np.float32)
    n = int(len(pcm) * 16000 / 22050)
    return np.interp(np.arange(n) * 22050 / 16000, np.arange(len(pcm)), pcm).astype(np.int16)


@pytest.fixture(scope="module")
def spotter():
    spotter = KeywordSpotter()
    spotter.transcribe(np.zeros(1600, np.int16))  # load the model before anything is timed
    return spotter


BAD = {  # mode -> the transport error behind the engine's own error
    "silent": SpeechTimeout,
    "trickle": SpeechTimeout,
    "truncate": SpeechTransportError,
    "refused": SpeechTransportError,
}


@needs_espeak
@pytest.mark.parametrize(
    "server", ["silent", "trickle", "truncate", "truncate-unframed", "junk", "refused"], indirect=True
)
def test_speech_out_falls_back_and_keeps_nothing_bad(server, tmp_path):
    OfflineTTS(out_dir=tmp_path / "warm").synthesize("warm up", "en")  # espeak loaded: not timed
    shutil.rmtree(tmp_path / "warm")
    threads, fds = threading.active_count(), open_fds()

    azure = AzureTTS(FAKE_KEY, "westeurope", endpoint=server.tts_url, timeout_s=TIMEOUT_S, out_dir=tmp_path / "out")
    start = time.monotonic()
    with pytest.raises(TTSError) as raised:
        azure.synthesize("Turn your head to the left", "en")
    took = time.monotonic() - start
    assert took < TIMEOUT_S + SLACK_S, f"{server.mode}: Azure gave up after {took:.2f} s"
    expected = BAD.get(server.mode)
    if expected is not None:
        assert isinstance(raised.value.__cause__, expected), repr(raised.value.__cause__)
    else:  # junk / a cut-off WAV without HTTP length: the audio check says so
        assert "not whole audio" in str(raised.value)
    assert files(tmp_path) == [], "a failed answer left a file behind"

    chain = chain_for(server, tmp_path)
    start = time.monotonic()
    result = chain.synthesize_detailed("Please blink twice", "en")
    took = time.monotonic() - start
    assert result.engine == "espeak" and wav_info(result.path)[0] > 0
    assert took < chain.deadline_s + 1.0, f"{server.mode}: fallback took {took:.2f} s"
    assert chain.errors and chain.errors[0].startswith("azure:")
    assert chain.backoff.is_down("azure")
    assert [n for n in files(tmp_path) if not n.startswith("espeak-")] == [], files(tmp_path)

    assert wait_for(lambda: threading.active_count() == threads), threading.enumerate()
    assert wait_for(lambda: open_fds() == fds), f"{open_fds() - fds} descriptors left open"


@needs_espeak
@pytest.mark.parametrize("server", ["silent", "trickle", "truncate", "junk", "refused"], indirect=True)
def test_speech_in_falls_back_within_the_configured_timeout(server, spotter, monkeypatch):
    audio = samples("stop")
    threads, fds = threading.active_count(), open_fds()
    azure = AzureSTT(FAKE_KEY, "westeurope", endpoint=server.stt_url, timeout_s=TIMEOUT_S)
    start = time.monotonic()
    with pytest.raises(RecognitionError) as raised:
        azure.transcribe(audio, "en")
    took = time.monotonic() - start
    assert took < TIMEOUT_S + SLACK_S, f"{server.mode}: Azure STT gave up after {took:.2f} s"
    if server.mode in BAD:
        assert isinstance(raised.value.__cause__, BAD[server.mode]), repr(raised.value.__cause__)

    # When the fallback begins is what the timeout bounds; how long the offline recogniser then
    # takes depends on how busy the machine is.
    fell_back_at: list[float] = []
    offline = spotter.transcribe

    def offline_noting_when(audio, language):
        fell_back_at.append(time.monotonic())
        return offline(audio, language)

    monkeypatch.setattr(spotter, "transcribe", offline_noting_when)
    recognizer = CommandRecognizer([azure, spotter])
    start = time.monotonic()
    text, engine = recognizer.transcribe(audio, "en")
    assert engine == "pocketsphinx" and text == "stop"
    assert fell_back_at and fell_back_at[0] - start < TIMEOUT_S + SLACK_S, (
        f"fell back after {fell_back_at[0] - start:.2f} s"
    )
    assert recognizer.backoff.is_down("azure")
    assert wait_for(lambda: threading.active_count() == threads), threading.enumerate()
    assert wait_for(lambda: open_fds() == fds), f"{open_fds() - fds} descriptors left open"


@pytest.mark.parametrize("server", ["trickle"], indirect=True)
def test_a_hundred_prompts_against_a_trickling_server_leave_no_thread_or_socket(server, tmp_path):
    """The deadline is enforced on the socket: each request ends on time, in the caller's
    thread, and closes its socket. (A short timeout keeps the test short; the code path is the
    one every prompt takes.)"""
    threads, fds = threading.active_count(), open_fds()
    azure = AzureTTS(FAKE_KEY, "westeurope", endpoint=server.tts_url, timeout_s=0.1, out_dir=tmp_path)
    stt = AzureSTT(FAKE_KEY, "westeurope", endpoint=server.stt_url, timeout_s=0.1)
    start = time.monotonic()
    for i in range(100):
        with pytest.raises(TTSError):
            azure.synthesize(f"prompt {i}", "en")
    for _ in range(10):
        with pytest.raises(RecognitionError):
            stt.transcribe(np.zeros(16000, np.int16), "en")
    took = time.monotonic() - start
    assert took < 110 * 0.1 + 3.0, f"110 requests of 0.1 s took {took:.1f} s"
    assert threading.active_count() == threads, threading.enumerate()
    assert wait_for(lambda: open_fds() == fds), f"{open_fds() - fds} descriptors left open"
    assert files(tmp_path) == []


@needs_espeak
@pytest.mark.parametrize("server", [("slow", 0.85 * TIMEOUT_S)], indirect=True)
def test_slow_but_complete_answers_are_used_and_counted_toward_back_off(server, tmp_path, spotter):
    chain = chain_for(server, tmp_path)
    first = chain.synthesize_detailed("Welcome", "en")
    assert first.engine == "azure" and wav_info(first.path)[1] == 24000  # the answer is used ...
    assert chain.backoff.is_down("azure")  # ... and backed off
    start = time.monotonic()
    second = chain.synthesize_detailed("Look at the camera", "en")
    assert second.engine == "espeak"
    assert time.monotonic() - start < 0.5 + SLACK_S  # no second wait on the slow service

    recognizer = CommandRecognizer(
        [AzureSTT(FAKE_KEY, "westeurope", endpoint=server.stt_url, timeout_s=TIMEOUT_S), spotter]
    )
    audio = samples("stop")
    assert recognizer.transcribe(audio, "en") == ("Stop.", "azure")
    assert recognizer.backoff.is_down("azure")
    assert recognizer.transcribe(audio, "en")[1] == "pocketsphinx"


@needs_espeak
@pytest.mark.parametrize("server", ["ok"], indirect=True)
def test_a_healthy_answer_is_cached_and_keeps_azure_up(server, tmp_path):
    chain = chain_for(server, tmp_path)
    result = chain.synthesize_detailed("Thank you", "en")
    assert result.engine == "azure" and not result.cached and not chain.backoff.is_down("azure")
    assert chain.synthesize_detailed("Thank you", "en").cached
    assert [n for n in files(tmp_path) if n.startswith("azure-")] == [result.path.name]


def test_a_stalled_name_lookup_costs_one_deadline_and_one_thread(monkeypatch):
    """getaddrinfo cannot be timed out: lookups run on one resolver thread, and a request
    waits for its lookup only as long as its deadline allows."""
    from kiosk import net

    release = threading.Event()
    real = socket.getaddrinfo

    def stalled(host, *args, **kwargs):
        if host == "azure.stalled.test":
            release.wait(30)
            raise socket.gaierror("stalled lookup")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(net, "_RESOLVER", net._Resolver())
    monkeypatch.setattr(socket, "getaddrinfo", stalled)
    before = set(threading.enumerate())
    try:
        for _ in range(5):
            start = time.monotonic()
            with pytest.raises(SpeechTimeout, match="looking up"):
                net.post("https://azure.stalled.test/cognitiveservices/v1", {}, b"x", 0.2)
            assert time.monotonic() - start < 0.2 + SLACK_S
        # the one resolver, not one per request (the threads started since, not a count: other
        # tests' threads may end meanwhile)
        assert set(threading.enumerate()) - before == {net._RESOLVER._thread}
    finally:
        release.set()


@pytest.mark.parametrize("server", ["silent"], indirect=True)
def test_a_tls_handshake_that_never_completes_ends_on_time(server):
    """Azure is reached over https: a host that accepts and never completes the handshake
    costs the deadline, no more, and leaves nothing open."""
    from kiosk.speech import transport

    fds = open_fds()
    start = time.monotonic()
    with pytest.raises(SpeechTimeout):
        transport.post(f"https://127.0.0.1:{server.port}/cognitiveservices/v1", {}, b"<speak/>", TIMEOUT_S)
    assert time.monotonic() - start < TIMEOUT_S + SLACK_S
    assert wait_for(lambda: open_fds() == fds)
