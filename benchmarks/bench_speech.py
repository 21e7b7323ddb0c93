"""Timings for the speech package (run from the project root with the runtime venv)."""
import importlib.util, statistics, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, ".")
from kiosk.speech.tts import AzureTTS, OfflineTTS, TTSChain
from kiosk.speech.commands import KeywordSpotter, PHRASES, parse_command, Command
spec = importlib.util.spec_from_file_location("f", "tests/test_speech_tts.py"); f = importlib.util.module_from_spec(spec); spec.loader.exec_module(f)

def stats(xs): return f"median {statistics.median(xs)*1000:.0f} ms, max {max(xs)*1000:.0f} ms (n={len(xs)})"
tmp = Path(tempfile.mkdtemp())
fake = f.FakeAzure()
def chain(): return TTSChain([AzureTTS(f.FAKE_KEY, "x", endpoint=fake.tts_url, out_dir=tmp), OfflineTTS(out_dir=tmp)], tmp / f"c{time.monotonic_ns()}")
for mode in ("answer", "refuse", "hang"):
    getattr(fake, mode)(); xs = []; eng = set()
    for i in range(8):
        c = chain(); t = time.monotonic(); r = c.synthesize_detailed(f"Please turn your head {i}", "en"); xs.append(time.monotonic() - t); eng.add(r.engine)
    print(f"TTSChain first prompt, Azure {mode}: {stats(xs)} -> {eng}")
fake.hang(); c = chain(); c.synthesize("warm", "en"); xs = []
for i in range(8):
    t = time.monotonic(); c.synthesize(f"during back-off {i}", "en"); xs.append(time.monotonic() - t)
print(f"TTSChain while backing off (offline only): {stats(xs)}")
fake.answer(); c = chain(); c.synthesize("cached prompt", "en"); fake.hang(); xs = []
for i in range(8):
    t = time.monotonic(); r = c.synthesize_detailed("cached prompt", "en"); xs.append(time.monotonic() - t)
print(f"TTSChain cache hit during outage: {stats(xs)} engine={r.engine}")
fake.close()
for lang, text in (("en", "Please look at the camera and smile."), ("de", "Bitte schauen Sie in die Kamera und lächeln Sie.")):
    for use in (True, False):
        o = OfflineTTS(out_dir=tmp, use_pyttsx3=use); xs = []
        for i in range(5):
            t = time.monotonic(); o.synthesize(text, lang); xs.append(time.monotonic() - t)
        print(f"OfflineTTS {lang} {'pyttsx3' if use else 'espeak-ng CLI'}: {stats(xs)}")
t = time.monotonic(); ks = KeywordSpotter(); ks.transcribe(Path("resources/sounds/step.wav")); print(f"KeywordSpotter load+first decode: {(time.monotonic()-t)*1000:.0f} ms")
phr = [(c, PHRASES['en'][c][0]) for c in Command] + [(parse_command(s, 'en'), s) for s in ("stop", "again", "mute", "wait")]
neg = ["the weather is nice","what is this","my name is John","hello there how are you","I like coffee","where is the exit door","thank you very much","is it working","seven","good morning","yes","no"]
for speed in (175, 140):
    ok = 0; xs = []; miss = []
    for c, p in phr:
        w = tmp / f"{speed}_{p}.wav"; subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(w), p], check=True)
        t = time.monotonic(); got = parse_command(ks.transcribe(w), "en"); xs.append(time.monotonic() - t)
        ok += got is c
        if got is not c: miss.append(f"{p}->{got}")
    fa = 0
    for s in neg:
        w = tmp / f"{speed}_n_{s}.wav"; subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(w), s], check=True)
        fa += parse_command(ks.transcribe(w), "en") is not None
    print(f"KeywordSpotter espeak-ng {speed} wpm: {ok}/{len(phr)} offline phrases, false accepts {fa}/{len(neg)}, decode {stats(xs)}; misses {miss}")
