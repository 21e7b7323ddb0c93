"""Timings for the speech package: run from the project root with the runtime venv,
``PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_speech.py``.

Speech out against the loopback fake of Azure (answering, refusing, hanging), the cache, the
offline engines; speech out against a bad network (silent, trickling, truncating, junk,
refusing server) as a ratio to the configured timeout; the offline keyword spotter on
espeak-ng speech.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
from kiosk.speech.commands import PHRASES, Command, KeywordSpotter, parse_command  # noqa: E402
from kiosk.speech.tts import AzureTTS, OfflineTTS, TTSChain, TTSError  # noqa: E402


def load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fakes = load("speech_fakes", "tests/test_speech_tts.py")
faults = load("speech_faults", "tests/faults/test_speech_transport.py")
tmp = Path(tempfile.mkdtemp())


def stats(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:.0f} ms, max {max(xs) * 1000:.0f} ms (n={len(xs)})"


def timed(fn) -> float:
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def chain(fake) -> TTSChain:
    return TTSChain(
        [AzureTTS(fakes.FAKE_KEY, "x", endpoint=fake.tts_url, out_dir=tmp), OfflineTTS(out_dir=tmp)],
        tmp / f"c{time.monotonic_ns()}",
    )


def speech_out() -> None:
    fake = fakes.FakeAzure()
    for mode in ("answer", "refuse", "hang"):
        getattr(fake, mode)()
        xs, engines = [], set()
        for i in range(8):
            c = chain(fake)
            start = time.monotonic()
            engines.add(c.synthesize_detailed(f"Please turn your head {i}", "en").engine)
            xs.append(time.monotonic() - start)
        print(f"TTSChain first prompt, Azure {mode}: {stats(xs)} -> {engines}")
    fake.hang()
    c = chain(fake)
    c.synthesize("warm", "en")
    xs = [timed(lambda i=i: c.synthesize(f"during back-off {i}", "en")) for i in range(8)]
    print(f"TTSChain while backing off (offline only): {stats(xs)}")
    fake.answer()
    c = chain(fake)
    c.synthesize("cached prompt", "en")
    fake.hang()
    xs = [timed(lambda: c.synthesize_detailed("cached prompt", "en")) for _ in range(8)]
    print(f"TTSChain cache hit during outage: {stats(xs)} engine={c.last.engine if c.last else None}")
    fake.close()


def bad_network() -> None:
    """How long AzureTTS waits before it gives up, as a ratio to its timeout (1.00 = exactly
    speech.timeout_s), and what the failed prompts leave behind (threads, descriptors, files)."""
    for mode in ("silent", "trickle", "truncate", "junk", "refused"):
        server = faults.Loopback(mode)
        timeout = faults.TIMEOUT_S
        out = tmp / f"bad-{mode}"
        azure = AzureTTS(fakes.FAKE_KEY, "x", endpoint=server.tts_url, timeout_s=timeout, out_dir=out)
        threads, fds = threading.active_count(), len(os.listdir("/proc/self/fd"))
        xs = []
        for i in range(5 if mode in ("silent", "trickle") else 20):
            start = time.monotonic()
            try:
                azure.synthesize(f"prompt {i}", "en")
            except TTSError:
                pass
            xs.append(time.monotonic() - start)
        extra_threads, extra_fds = threading.active_count() - threads, len(os.listdir("/proc/self/fd")) - fds
        server.close()
        left = len(list(out.glob("*"))) if out.exists() else 0
        print(
            f"AzureTTS vs a {mode} server: {stats(xs)} = {statistics.median(xs) / timeout:.2f} x timeout_s "
            f"({timeout} s); threads +{extra_threads}, fds +{extra_fds}, files left {left}"
        )


def offline_engines() -> None:
    for lang, text in (
        ("en", "Please look at the camera and smile."),
        ("de", "Bitte schauen Sie in die Kamera und lächeln Sie."),
    ):
        for use in (True, False):
            engine = OfflineTTS(out_dir=tmp, use_pyttsx3=use)
            xs = [timed(lambda e=engine, t=text, lg=lang: e.synthesize(t, lg)) for _ in range(5)]
            print(f"OfflineTTS {lang} {'pyttsx3' if use else 'espeak-ng CLI'}: {stats(xs)}")


def espeak_wav(path: Path, text: str, speed: int) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(path), text], check=True)
    return path


def spotter() -> None:
    start = time.monotonic()
    ks = KeywordSpotter()
    ks.transcribe(Path("resources/sounds/step.wav"))
    print(f"KeywordSpotter load+first decode: {(time.monotonic() - start) * 1000:.0f} ms")
    phrases = [(c, PHRASES["en"][c][0]) for c in Command] + [
        (parse_command(s, "en"), s) for s in ("stop", "again", "mute", "wait")
    ]
    negatives = [
        "the weather is nice",
        "what is this",
        "my name is John",
        "hello there how are you",
        "I like coffee",
        "where is the exit door",
        "thank you very much",
        "is it working",
        "seven",
        "good morning",
        "yes",
        "no",
    ]
    for speed in (175, 140):
        ok, xs, misses = 0, [], []
        for command, phrase in phrases:
            wav = espeak_wav(tmp / f"{speed}_{phrase}.wav", phrase, speed)
            start = time.monotonic()
            got = parse_command(ks.transcribe(wav), "en")
            xs.append(time.monotonic() - start)
            ok += got is command
            if got is not command:
                misses.append(f"{phrase}->{got}")
        false_accepts = sum(
            parse_command(ks.transcribe(espeak_wav(tmp / f"{speed}_n_{s}.wav", s, speed)), "en") is not None
            for s in negatives
        )
        print(
            f"KeywordSpotter espeak-ng {speed} wpm: {ok}/{len(phrases)} offline phrases, false accepts "
            f"{false_accepts}/{len(negatives)}, decode {stats(xs)}; misses {misses}"
        )


if __name__ == "__main__":
    speech_out()
    bad_network()
    offline_engines()
    spotter()
