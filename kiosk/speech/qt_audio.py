"""Qt side of speech: Speaker (TTS + earcons through QtMultimedia) and Listener (microphone).

Synthesis and recognition run on a one-thread QThreadPool (never on the GUI thread); their
results come back to the GUI thread through queued signals. Captions are emitted for every
utterance even when voice output is off, so the screen always shows what would be said.
"""
from __future__ import annotations

import logging
import tempfile
import time
import uuid
import wave
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, QUrl, Signal, Slot
from PySide6.QtMultimedia import (QAudioFormat, QAudioOutput, QAudioSource, QMediaDevices,
                                  QMediaPlayer, QSoundEffect)

from .commands import Command, parse_command
from .earcons import earcon_path

log = logging.getLogger(__name__)

# Short, stable texts for the error signals (map them to translated captions); the details
# go to the log.
NO_AUDIO_OUTPUT = "no audio output device"
SYNTHESIS_FAILED = "speech output unavailable"
PLAYBACK_FAILED = "audio playback failed"
NO_MICROPHONE = "no microphone"
MICROPHONE_FAILED = "microphone failed"
RECOGNITION_FAILED = "speech recognition unavailable"


@dataclass
class Utterance:
    """One thing the kiosk said (or would have said with voice off)."""
    text: str
    language: str
    voiced: bool                 # voice output was on when it was said
    t: float                     # time.monotonic() when say() was called
    wav: Path | None = None      # synthesized audio, once ready
    engine: str | None = None    # which engine produced it ("azure", "espeak", ...)
    played: bool = False         # handed to an audio device
    interrupted: bool = False
    error: str | None = None


class _Relay(QObject):
    """Carries workers' results back to the GUI thread: done(token, result) is emitted in
    the worker and delivered, queued, in the thread the relay lives in."""
    done = Signal(object, object)

    def submit(self, pool: QThreadPool, token: object, fn: Callable[[], object]) -> None:
        def run() -> None:
            try:
                result = fn()
            except Exception as exc:  # reported to the GUI thread, never raised in the pool
                result = exc
            self.done.emit(token, result)

        pool.start(run)


def _has_audio_output() -> bool:
    return not QMediaDevices.defaultAudioOutput().isNull()


class Speaker(QObject):
    """Speaks prompts. ``tts`` is any object with ``synthesize(text, language) -> Path``
    (normally a ``TTSChain``); if it has ``last`` (a Synthesis), the engine is logged."""

    caption = Signal(str)            # every utterance, voice on or off
    speaking_changed = Signal(bool)
    enabled_changed = Signal(bool)
    earcon = Signal(str)             # every earcon played (e.g. to flash an icon)
    error = Signal(str)
    # Nothing is being synthesized, waiting or playing any more: what was said has been heard
    # (or dropped). The kiosk waits for this before it acts on its own (auto-start).
    finished = Signal()

    def __init__(self, tts, language: str = "en", enabled: bool = True, parent: QObject | None = None,
                 earcons_enabled: bool = True):
        super().__init__(parent)
        self._tts = tts
        self.language = language
        self._enabled = enabled
        self.earcons_enabled = earcons_enabled
        self.utterances: list[Utterance] = []
        self.earcons_played: list[str] = []
        self._generation = 0
        self._play_queue: deque[Utterance] = deque()
        self._current: Utterance | None = None
        self._speaking = False
        self._pending = 0                # utterances handed to synthesis, not answered yet
        self._busy = False               # finished is owed once everything has been said
        self._warned_no_device = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one synthesis at a time keeps prompts in order
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_synthesized, Qt.QueuedConnection)
        self._player: QMediaPlayer | None = None
        self._output: QAudioOutput | None = None
        self._effects: dict[str, QSoundEffect] = {}

    # --- voice on/off ---------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        enabled = bool(enabled)
        if enabled == self._enabled:
            return
        self._enabled = enabled
        if not enabled:
            self.stop()
        self.enabled_changed.emit(enabled)

    def toggle_enabled(self) -> bool:
        self.set_enabled(not self._enabled)
        return self._enabled

    @property
    def speaking(self) -> bool:
        return self._speaking

    def is_speaking(self) -> bool:
        """True from say() until the utterance was played (or dropped), unlike ``speaking``,
        which is only true while audio plays."""
        return self._pending > 0 or self._current is not None or bool(self._play_queue)

    def _check_finished(self) -> None:
        if self._busy and not self.is_speaking():
            self._busy = False
            self.finished.emit()

    # --- speech ---------------------------------------------------------------------------
    def say(self, text: str, language: str | None = None, interrupt: bool = True) -> Utterance:
        """Show ``text`` as a caption and, with voice on, speak it.

        interrupt=True cuts off whatever is being said or waiting; False queues behind it.
        """
        language = language or self.language
        utterance = Utterance(text, language, self._enabled, time.monotonic())
        self.utterances.append(utterance)
        self.caption.emit(text)
        if not self._enabled or not text.strip():
            return utterance
        if interrupt:
            self._interrupt()
        generation = self._generation
        self._pending += 1
        self._busy = True
        self._relay.submit(self._pool, (utterance, generation),
                           lambda: self._synthesize(text, language, generation))
        return utterance

    def _synthesize(self, text: str, language: str, generation: int):  # worker thread
        if generation != self._generation:
            return None  # interrupted while waiting: do not spend an Azure call on it
        path = Path(self._tts.synthesize(text, language))
        last = getattr(self._tts, "last", None)
        engine = getattr(last, "engine", None) or getattr(self._tts, "name", None)
        return path, engine

    def stop(self) -> None:
        """Stop speaking now and drop everything queued (synthesis results arriving later
        are ignored)."""
        self._interrupt()
        self._set_speaking(False)
        self._check_finished()

    def _interrupt(self) -> None:
        self._generation += 1
        for u in self._play_queue:
            u.interrupted = True
        self._play_queue.clear()
        if self._current is not None:
            self._current.interrupted = True
            self._current = None
        if self._player is not None:
            self._player.stop()

    @Slot(object, object)
    def _on_synthesized(self, token, result) -> None:
        self._pending -= 1
        try:
            self._take_synthesized(token, result)
        finally:
            self._check_finished()

    def _take_synthesized(self, token, result) -> None:
        utterance, generation = token
        if isinstance(result, Exception):
            utterance.error = str(result)
            log.warning("speech synthesis failed for %r: %s", utterance.text, result)
            self.error.emit(SYNTHESIS_FAILED)
            return
        if result is None:
            utterance.interrupted = True
            return
        utterance.wav, utterance.engine = result
        if generation != self._generation or not self._enabled:
            utterance.interrupted = True
            return
        self._play_queue.append(utterance)
        if self._current is None:
            self._play_next()

    def _play_next(self) -> None:
        if not self._play_queue:
            self._current = None
            self._set_speaking(False)
            self._check_finished()
            return
        utterance = self._play_queue.popleft()
        if not _has_audio_output():
            if not self._warned_no_device:
                self._warned_no_device = True
                log.warning("no audio output device: captions and log only")
                self.error.emit(NO_AUDIO_OUTPUT)
            self._play_next()
            return
        self._current = utterance
        player = self._ensure_player()
        player.setSource(QUrl.fromLocalFile(str(utterance.wav)))
        player.play()
        utterance.played = True
        self._set_speaking(True)

    def _ensure_player(self) -> QMediaPlayer:
        if self._player is None:
            self._output = QAudioOutput(self)
            self._player = QMediaPlayer(self)
            self._player.setAudioOutput(self._output)
            self._player.mediaStatusChanged.connect(self._on_media_status)
            self._player.errorOccurred.connect(self._on_player_error)
        return self._player

    @Slot(QMediaPlayer.MediaStatus)
    def _on_media_status(self, status) -> None:
        if status in (QMediaPlayer.MediaStatus.EndOfMedia, QMediaPlayer.MediaStatus.InvalidMedia):
            if self._current is not None:
                self._current = None
                self._play_next()

    @Slot(QMediaPlayer.Error, str)
    def _on_player_error(self, _err, message: str) -> None:
        if self._current is not None:
            self._current.error = message
        log.warning("audio playback failed: %s", message)
        self.error.emit(PLAYBACK_FAILED)
        self._current = None
        self._play_next()

    def _set_speaking(self, speaking: bool) -> None:
        if speaking != self._speaking:
            self._speaking = speaking
            self.speaking_changed.emit(speaking)

    # --- earcons --------------------------------------------------------------------------
    def play_earcon(self, name: str) -> None:
        """Play a short non-speech sound (pass, fail, detected, step, listening, attention).

        Earcons are independent of voice on/off: they are the wordless channel."""
        path = earcon_path(name)  # KeyError for unknown names: a programming error
        self.earcons_played.append(path.stem)
        self.earcon.emit(path.stem)
        if not self.earcons_enabled or not _has_audio_output():
            return
        effect = self._effects.get(path.stem)
        if effect is None:
            effect = QSoundEffect(self)
            effect.setSource(QUrl.fromLocalFile(str(path)))
            self._effects[path.stem] = effect
        effect.play()

    def shutdown(self, timeout_ms: int = 2000) -> None:
        """Stop and wait for a running synthesis (call before the app quits)."""
        self.stop()
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)


class Listener(QObject):
    """Records a voice command from the default microphone and recognises it off-thread.

    ``recognizer`` is a CommandRecognizer-like object with
    ``transcribe(path, language) -> (text, engine)``.
    """

    listening_changed = Signal(bool)
    command = Signal(object)          # a Command
    heard = Signal(str)               # what was recognised (for a caption "I heard ...")
    not_understood = Signal(str)      # speech that is no command ('' when nothing was heard)
    no_microphone = Signal()
    error = Signal(str)

    SAMPLE_RATE = 16000

    def __init__(self, recognizer, language: str = "en", parent: QObject | None = None,
                 record_dir: str | None = None):
        super().__init__(parent)
        self._recognizer = recognizer
        self.language = language
        self._record_dir = Path(record_dir or tempfile.gettempdir()) / "kiosk-listen"
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_recognized, Qt.QueuedConnection)
        self._source: QAudioSource | None = None
        self._io = None
        self._format: QAudioFormat | None = None
        self._skip_ms = 0
        self._buffer = bytearray()
        self._listening = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._finish_recording)
        self.last_recording: Path | None = None

    @property
    def listening(self) -> bool:
        return self._listening

    @staticmethod
    def microphone_available() -> bool:
        return not QMediaDevices.defaultAudioInput().isNull()

    def listen(self, seconds: float = 3.0, skip_ms: int = 250) -> bool:
        """Open the microphone for ``seconds``, then recognise. False if it could not start.

        The first ``skip_ms`` are dropped: they hold the "listening" earcon if the caller
        played it just before (people start speaking later than that)."""
        if self._listening:
            return True
        device = QMediaDevices.defaultAudioInput()
        if device.isNull():
            self.no_microphone.emit()
            self.error.emit(NO_MICROPHONE)
            return False
        fmt = QAudioFormat()
        fmt.setSampleRate(self.SAMPLE_RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            fmt = device.preferredFormat()  # converted to 16-bit when saved
        self._format = fmt
        self._skip_ms = max(0, int(skip_ms))
        self._buffer = bytearray()
        self._source = QAudioSource(device, fmt, self)
        self._io = self._source.start()
        if self._io is None:
            log.warning("could not open the microphone %s", device.description())
            self.error.emit(MICROPHONE_FAILED)
            self._source = None
            return False
        self._io.readyRead.connect(self._read_available)
        self._set_listening(True)
        self._timer.start(int(seconds * 1000))
        return True

    def cancel(self) -> None:
        """Close the microphone without recognising."""
        self._timer.stop()
        self._stop_source()
        self._set_listening(False)

    def _read_available(self) -> None:
        if self._io is not None:
            self._buffer += bytes(self._io.readAll().data())

    def _stop_source(self) -> None:
        if self._source is not None:
            self._read_available()
            self._source.stop()
            self._source.deleteLater()
            self._source, self._io = None, None

    def _finish_recording(self) -> None:
        self._stop_source()
        self._set_listening(False)
        fmt = self._format
        frame_bytes = max(1, fmt.bytesPerFrame())
        skip = int(fmt.sampleRate() * self._skip_ms / 1000) * frame_bytes
        raw = bytes(self._buffer[skip:])
        try:
            path = self._write_wav(raw[: len(raw) // frame_bytes * frame_bytes], fmt)
        except Exception as exc:
            log.warning("could not save the recording: %s", exc)
            self.error.emit(MICROPHONE_FAILED)
            return
        self.last_recording = path
        self.recognize_file(path)

    def _write_wav(self, raw: bytes, fmt: QAudioFormat) -> Path:
        channels = max(1, fmt.channelCount())
        kind = fmt.sampleFormat()
        if kind == QAudioFormat.SampleFormat.Float:
            samples = np.frombuffer(raw, dtype="<f4")
            pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
        elif kind == QAudioFormat.SampleFormat.Int32:
            pcm = (np.frombuffer(raw, dtype="<i4") >> 16).astype("<i2")
        elif kind == QAudioFormat.SampleFormat.UInt8:
            pcm = ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype("<i2")
        else:
            pcm = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
        self._record_dir.mkdir(parents=True, exist_ok=True)
        path = self._record_dir / f"listen-{uuid.uuid4().hex}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(fmt.sampleRate())
            w.writeframes(pcm.tobytes())
        return path

    def recognize_file(self, path: str | Path, language: str | None = None) -> None:
        """Recognise a WAV off the GUI thread; answers with command / not_understood / error."""
        language = language or self.language
        self._relay.submit(self._pool, language,
                           lambda: self._recognizer.transcribe(Path(path), language))

    @Slot(object, object)
    def _on_recognized(self, language, result) -> None:
        if isinstance(result, Exception):
            log.warning("speech recognition failed: %s", result)
            self.error.emit(RECOGNITION_FAILED)
            return
        text, _engine = result
        if text:
            self.heard.emit(text)
        command = parse_command(text, language)
        if isinstance(command, Command):
            self.command.emit(command)
        else:
            self.not_understood.emit(text or "")

    def _set_listening(self, listening: bool) -> None:
        if listening != self._listening:
            self._listening = listening
            self.listening_changed.emit(listening)

    def shutdown(self, timeout_ms: int = 2000) -> None:
        self.cancel()
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)


__all__ = ["MICROPHONE_FAILED", "NO_AUDIO_OUTPUT", "NO_MICROPHONE", "PLAYBACK_FAILED",
           "RECOGNITION_FAILED", "SYNTHESIS_FAILED", "Listener", "Speaker", "Utterance"]
