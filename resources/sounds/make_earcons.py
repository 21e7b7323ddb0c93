"""Generate the kiosk's earcons (short non-speech sounds) as small 16 kHz mono WAVs.

Run:  python resources/sounds/make_earcons.py [out_dir]
Each earcon differs in pitch direction, rhythm and timbre, so they stay distinct for people
who cannot see the screen (and for those who cannot tell pitches apart: rhythm differs too).
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

RATE = 16000


def tone(freq: float, dur: float, harmonics: tuple[float, ...] = (1.0,), vol: float = 0.5) -> np.ndarray:
    t = np.arange(int(RATE * dur)) / RATE
    wave_ = sum(a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics))
    wave_ = wave_ / max(1e-9, sum(harmonics))
    # 5 ms attack, exponential decay: no clicks, bell-like
    env = np.minimum(1.0, t / 0.005) * np.exp(-t * 3.0 / dur)
    return vol * wave_ * env


def sweep(f0: float, f1: float, dur: float, vol: float = 0.45) -> np.ndarray:
    t = np.arange(int(RATE * dur)) / RATE
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * dur))
    env = np.minimum(1.0, t / 0.01) * np.minimum(1.0, (dur - t) / 0.03)
    return vol * np.sin(phase) * env


def silence(dur: float) -> np.ndarray:
    return np.zeros(int(RATE * dur))


def seq(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts)


EARCONS = {
    # success: rising major triad C5-E5-G5, bright
    "pass": lambda: seq(tone(523.25, 0.09, (1, 0.3)), tone(659.25, 0.09, (1, 0.3)), tone(783.99, 0.22, (1, 0.3))),
    # failure: two falling low tones with a buzzy timbre
    "fail": lambda: seq(tone(392.0, 0.16, (1, 0.6, 0.4, 0.3)), silence(0.03), tone(277.18, 0.30, (1, 0.6, 0.4, 0.3))),
    # the requested movement was seen: one short soft high blip
    "detected": lambda: tone(1046.5, 0.06, (1, 0.2), vol=0.35),
    # a challenge step is complete: two bright notes a fifth apart
    "step": lambda: seq(tone(1046.5, 0.07, (1, 0.4)), tone(1567.98, 0.14, (1, 0.4))),
    # microphone open: a smooth upward sweep (no discrete notes: unlike every other earcon).
    # Short: the microphone hears it, and any of it left in the recording after the Listener's
    # skip (250 ms) costs the command (a 50 ms tail turned "help" into nothing); 100 ms leaves
    # 150 ms for the loudspeaker's latency.
    "listening": lambda: sweep(450.0, 1100.0, 0.10),
    # attention: three equal mid beeps
    "attention": lambda: seq(*(p for _ in range(3) for p in (tone(880.0, 0.07, (1, 0.5)), silence(0.06)))),
}


def write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = np.clip(samples * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, make in EARCONS.items():
        write_wav(out_dir / f"{name}.wav", make())
        print(out_dir / f"{name}.wav")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
