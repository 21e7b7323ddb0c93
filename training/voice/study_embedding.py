"""Study (not used by the kiosk): voice commands from a speech-embedding network trained on real speech.

The kiosk's offline recogniser (pocketsphinx grammar passes, ``kiosk.speech.commands.KeywordSpotter``)
recognises 75 % of English and 62 % of German held-out command utterances
(``benchmarks/bench_voice_commands.py``); its misses are mostly its acoustic model choosing another
phrase for one-syllable commands. This study measures another path on the same held-out set:
Google's speech_embedding network (96 values per 80 ms, trained on large amounts of real speech; the
ONNX port and its mel front end ship in the openwakeword 0.4.0 wheel) with a small classifier over
the utterance's embeddings, trained on espeak-ng speech of *other* voices, speeds, pitches and
sentences than the benchmark's held-out set (openWakeWord's own method: synthetic speech on a
real-speech embedding).

    /work/venvs/train/bin/pip install onnxruntime==1.32.0           # the study only; MIT
    pip download openwakeword==0.4.0 --no-deps -d /tmp/oww          # its models, not its code
    /work/venvs/train/bin/python training/voice/study_embedding.py \
        --wheel /tmp/oww/openwakeword-0.4.0-py3-none-any.whl --languages en --renders 48 \
        --out training/voice/report/embedding.json          # ~10 min on one core

Everything here is espeak-ng: a figure says how well the classifier generalises to other synthetic
voices, not to people. Real recordings are needed before such a recogniser could be trusted.

Result (2026-12-02, English, ``--renders 48``: 6,142 training utterances; ``report/embedding.json``):
on the benchmark's held-out voices 57.2 % of command utterances recognised (clean 82.5 %, white
noise 20 dB 77.2 %, babble 10 dB 12.1 %), 1.6 % taken for another command, 2.4 % of ordinary
sentences taken for a command, at the threshold 0.99 (on the tuning set its ordinary sentences still
gave 2.9 % there); on the tuning voices, whose base voices it trained on, 89.9 %. The pocketsphinx
recogniser on the same held-out set: 75.4 % and 5.9 %. The classifier learns the training voices,
not the words, and babble defeats it, so it was not taken further (German not run). The licence
was not settled either: openWakeWord's README puts its included models under CC BY-NC-SA 4.0, while
the embedding network is a port of Google's Apache-2.0 speech_embedding module.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import bench_voice_commands as bench  # noqa: E402  (espeak(), Scene, the held-out voices and sentences)

from kiosk.speech.commands import PHRASES, parse_command, trim_to_speech  # noqa: E402

# Training speech: espeak-ng voices whose base voice the benchmark's held-out set does not use
# (en-us, en-gb, en-gb-scotland are held out). German has one base voice: the held-out set uses
# its variants f3, m3, f4 and the plain voice, so training takes the other variants only.
TRAIN_BASES = {"en": ("en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc", "en-gb-x-rp"), "de": ("de",)}
VARIANTS = ("m1", "m2", "m4", "m5", "m6", "m7", "f1", "f2", "f5", "klatt", "klatt2", "croak")
HELD_OUT_VARIANTS = {"en": (), "de": ("f3", "m3", "f4")}

# Things people say that are no command, other than the benchmark's sentences (checked below).
OTHER = {
    "en": (
        "hi",
        "good evening",
        "thanks a lot",
        "alright",
        "one moment",
        "just a second",
        "hang on",
        "sorry",
        "my coat is wet",
        "is this the machine for passports",
        "what happens next",
        "I can hardly hear you",
        "my name is Anna",
        "I am here for my appointment",
        "does it take long",
        "I forgot my glasses",
        "my granddaughter came with me",
        "two three four",
        "eight nine",
        "twenty five",
        "it is raining outside",
        "lovely weather",
        "where should I stand",
        "is the camera on",
        "what is this for",
        "the screen is dark",
        "I want to go home",
        "let me think",
        "one two",
        "left",
        "up",
        "down",
        "maybe",
        "of course",
        "sure",
        "really",
        "why",
        "what",
        "who are you",
        "can I take a seat",
        "this is strange",
        "my phone is ringing",
        "turn around",
        "show me",
        "look at this",
        "the car is outside",
        "the bus has gone",
        "a cup of tea",
        "hello hello",
        "I have an appointment at ten",
        "can I bring my dog",
        "the door is open",
        "how are you",
        "very good",
        "nothing",
        "never mind",
        "I guess so",
        "it is my turn",
        "they told me to come here",
        "where is the lift",
        "it is too small",
        "my feet are cold",
        "I am a bit nervous",
        "let us see",
        "so far so good",
        "perhaps later",
        "is someone there",
        "the queue is long",
        "I have my ticket",
        "what a day",
    ),
    "de": (
        "hallo zusammen",
        "guten Abend",
        "danke sehr",
        "alles klar",
        "einen Augenblick bitte",
        "Verzeihung",
        "ist das der Automat für Pässe",
        "was passiert jetzt",
        "ich höre Sie kaum",
        "ich heiße Anna",
        "ich habe einen Termin",
        "dauert das lange",
        "ich habe meine Brille vergessen",
        "meine Enkelin ist mitgekommen",
        "zwei drei vier",
        "acht neun",
        "fünfundzwanzig",
        "es regnet draußen",
        "schönes Wetter",
        "wo soll ich stehen",
        "ist die Kamera an",
        "wofür ist das",
        "der Bildschirm ist dunkel",
        "ich will nach Hause",
        "lass mich nachdenken",
        "eins zwei",
        "links",
        "oben",
        "unten",
        "vielleicht",
        "natürlich",
        "sicher",
        "wirklich",
        "warum",
        "was",
        "wer sind Sie",
        "darf ich mich hinsetzen",
        "das ist komisch",
        "mein Handy klingelt",
        "dreh dich um",
        "zeig mal",
        "schau mal",
        "das Auto steht draußen",
        "der Bus ist weg",
        "eine Tasse Tee",
        "hallo hallo",
        "ich habe um zehn einen Termin",
        "darf ich meinen Hund mitbringen",
        "die Tür ist offen",
        "wie geht es Ihnen",
        "sehr gut",
        "nichts",
        "macht nichts",
        "ich glaube schon",
        "ich bin dran",
        "man hat mich hierher geschickt",
        "wo ist der Aufzug",
        "das ist zu klein",
        "meine Füße sind kalt",
        "ich bin etwas nervös",
        "mal sehen",
        "so weit so gut",
        "vielleicht später",
        "ist da jemand",
        "die Schlange ist lang",
        "ich habe meine Karte",
        "was für ein Tag",
    ),
}


class Embedder:
    """openWakeWord's front end: 16 kHz audio -> 32 mel bands per 10 ms -> 96 values per 80 ms."""

    def __init__(self, wheel: Path):
        import onnxruntime as ort

        with zipfile.ZipFile(wheel) as z:
            read = lambda name: z.read(f"openwakeword/resources/models/{name}.onnx")  # noqa: E731
            options = ort.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            self.mel = ort.InferenceSession(read("melspectrogram"), options)
            self.emb = ort.InferenceSession(read("embedding_model"), options)

    def __call__(self, pcm: np.ndarray) -> np.ndarray:
        x = pcm.astype(np.float32)[None]
        spec = self.mel.run(None, {"input": x})[0][:, 0]  # (1, frames, 32)
        spec = spec / 10.0 + 2.0  # openWakeWord's scaling of the mel model's output
        frames = spec[0]
        if len(frames) < 76:  # one window at least: pad with the quietest band values
            frames = np.concatenate([frames, np.repeat(frames.min(0, keepdims=True), 76 - len(frames), 0)])
        windows = np.stack([frames[i : i + 76] for i in range(0, len(frames) - 75, 8)])[..., None]
        return self.emb.run(None, {"input_1": windows.astype(np.float32)})[0][:, 0, 0, :]  # (T, 96)


def pooled(e: np.ndarray) -> np.ndarray:
    """A fixed-length view of a variable-length utterance: mean, max and spread over time, and the
    first and last thirds (word order: "voice on" vs "on voice")."""
    third = max(1, len(e) // 3)
    return np.concatenate([e.mean(0), e.max(0), e.std(0), e[:third].mean(0), e[-third:].mean(0)])


def utterance(embedder: Embedder, pcm: np.ndarray) -> np.ndarray | None:
    speech = trim_to_speech(pcm)  # the kiosk's own endpointing
    return None if speech is None else pooled(embedder(speech))


def training_set(embedder, language, renders, seed):
    rng = np.random.default_rng(seed)
    voices = list(TRAIN_BASES[language]) + [
        f"{b}+{v}" for b in TRAIN_BASES[language] for v in VARIANTS if v not in HELD_OUT_VARIANTS[language]
    ]
    if language == "de":
        voices = [v for v in voices if v != "de"]  # the plain German voice is held out
    scene = bench.Scene(language, seed)
    # babble from the training voices and sentences, not the benchmark's
    scene.babble = [bench.espeak(t, voices[i % len(voices)], 160) for i, t in enumerate(OTHER[language][:20])]
    items = [(c.name, p) for c, table in PHRASES[language].items() for p in table]
    items += [("OTHER", t) for t in OTHER[language]]
    X, y = [], []
    for label, text in items:
        for _ in range(renders):
            voice = voices[int(rng.integers(len(voices)))]
            speech = bench.espeak(text, voice, int(rng.integers(120, 241)), int(rng.integers(25, 76)))
            condition = bench.CONDITIONS[int(rng.integers(len(bench.CONDITIONS)))]
            f = utterance(embedder, scene.render(speech, condition))
            if f is not None:
                X.append(f)
                y.append(label)
    return np.array(X), np.array(y)


def benchmark_set(embedder, language, which, conditions):
    """The benchmark's own recordings: its voices, speeds, conditions, phrases and sentences."""
    scene = bench.Scene(language, 0)
    rows = []
    for voice in bench.VOICES[which][language]:
        for speed in bench.SPEEDS[which]:
            for command, table in PHRASES[language].items():
                for phrase in table:
                    speech = bench.espeak(phrase, voice, speed)
                    for cond in conditions:
                        rows.append((voice, cond, command.name, utterance(embedder, scene.render(speech, cond))))
            for text in bench.ORDINARY[which][language]:
                speech = bench.espeak(text, voice, speed)
                for cond in conditions:
                    rows.append((voice, cond, "OTHER", utterance(embedder, scene.render(speech, cond))))
    return rows


def top_classes(clf, rows):
    """Each row's most likely class and its probability (None for an utterance with no speech)."""
    out: list[tuple[str, float] | None] = [None] * len(rows)
    idx = [i for i, r in enumerate(rows) if r[3] is not None]
    if idx:
        p = clf.predict_proba(np.stack([rows[i][3] for i in idx]))
        for i, row in zip(idx, p, strict=True):
            k = int(row.argmax())
            out[i] = (clf.classes_[k], float(row[k]))
    return out


def heard(top, threshold):
    """The command a row's utterance is taken for at ``threshold`` (None: no command)."""
    if top is None or top[0] == "OTHER" or top[1] < threshold:
        return None
    return top[0]


def score(rows, tops, threshold):
    t = Counter()
    per_voice = Counter()
    for (voice, _cond, label, _f), top in zip(rows, tops, strict=True):
        got = heard(top, threshold)
        if label == "OTHER":
            t["ordinary"] += 1
            t["false"] += got is not None
        else:
            t["commands"] += 1
            t["correct"] += got == label
            t["wrong"] += got is not None and got != label
            per_voice[voice, "n"] += 1
            per_voice[voice, "ok"] += got == label
    voices = sorted({v for v, _ in per_voice})
    return {
        "recognised": round(t["correct"] / t["commands"], 4),
        "wrong_command": round(t["wrong"] / t["commands"], 4),
        "ordinary_to_command": round(t["false"] / t["ordinary"], 4),
        "per_voice_recognised": {v: round(per_voice[v, "ok"] / per_voice[v, "n"], 4) for v in voices},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", type=Path, required=True)
    ap.add_argument("--languages", default="en,de")
    ap.add_argument("--renders", type=int, default=24, help="training renderings per command phrase")
    ap.add_argument("--max-ordinary", type=float, default=0.01, help="on the tuning set, when choosing the threshold")
    ap.add_argument("--out", type=Path, default=Path("training/voice/report/embedding.json"))
    args = ap.parse_args()
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for language in args.languages.split(","):
        overlap = {t.lower() for t in OTHER[language]} & {
            t.lower() for which in ("test", "dev") for t in bench.ORDINARY[which][language]
        }
        assert not overlap, f"training sentences in the benchmark: {overlap}"
        for text in OTHER[language]:
            assert parse_command(text, language) is None, f"{text!r} is a command"
    embedder = Embedder(args.wheel)
    report = {"command": " ".join(["training/voice/study_embedding.py", *sys.argv[1:]]), "languages": {}}
    for language in args.languages.split(","):
        t0 = time.time()
        X, y = training_set(embedder, language, args.renders, seed=7)
        t1 = time.time()
        clf = make_pipeline(StandardScaler(), MLPClassifier((128,), alpha=1e-3, max_iter=400, random_state=0))
        clf.fit(X, y)
        dev = benchmark_set(embedder, language, "dev", ("clean", "white20"))
        dev_tops = top_classes(clf, dev)  # once: only the threshold changes below
        grid = np.linspace(0.3, 0.99, 70)
        ok = [g for g in grid if score(dev, dev_tops, g)["ordinary_to_command"] <= args.max_ordinary]
        threshold = float(min(ok)) if ok else 0.99
        test = benchmark_set(embedder, language, "test", bench.CONDITIONS)
        test_tops = top_classes(clf, test)
        by_condition = {}
        for c in bench.CONDITIONS:
            idx = [i for i, r in enumerate(test) if r[1] == c]
            by_condition[c] = score([test[i] for i in idx], [test_tops[i] for i in idx], threshold)
        result = {
            "training_utterances": int(len(y)),
            "seconds_training_set": round(t1 - t0),
            "threshold": round(threshold, 3),
            "dev": score(dev, dev_tops, threshold),
            "test": score(test, test_tops, threshold),
            "test_by_condition": by_condition,
        }
        report["languages"][language] = result
        print(language, json.dumps(result, indent=1), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
