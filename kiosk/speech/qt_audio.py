"""Qt side of speech: Speaker (TTS + earcons) and Listener (microphone).

Threads: every Qt object here is created on, and used only from, the thread that owns the
Speaker/Listener (the GUI thread). Synthesis and recognition run on a one-thread QThreadPool
and hand their results back through queued signals; a call to a public method from another
thread is re-posted to the owner thread, never executed on the caller's.

Audio out goes through one QAudioSink per channel (speech, earcons) fed from memory with
PCM that the TTS layer has already checked whole. QMediaPlayer and QSoundEffect are not used:
both decode and render on threads of their own, outside this module's control. A watchdog ends
any playback that outlives its audio by PLAYBACK_SLACK_MS, so a dead audio server costs the
voice, never the captions or the queue.

Audio in (voice commands) stays in memory: the recording is handed to the recogniser as
samples and no file is ever written.

Captions are emitted for every utterance even when voice output is off, so the screen always
shows what would be said.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Qt, QThread, QThreadPool, QTimer, Signal, Slot
from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QAudioSource, QMediaDevices, QtAudio

from .commands import Command, parse_command, to_mono16k
from .earcons import earcon_name, earcon_path

log = logging.getLogger(__name__)

# Short, stable texts for the error signals (map them to translated captions); the details
# go to the log.
NO_AUDIO_OUTPUT = "no audio output device"
SYNTHESIS_FAILED = "speech output unavailable"
PLAYBACK_FAILED = "audio playback failed"
NO_MICROPHONE = "no microphone"
MICROPHONE_FAILED = "microphone failed"
RECOGNITION_FAILED = "speech recognition unavailable"

HISTORY = 200  # utterances and earcons remembered for diagnostics and tests
PLAYBACK_SLACK_MS = 2000  # a sound still "playing" this long after its end has failed
POLL_MS = 50  # how often a playing sink's state is looked at


@dataclass
class Utterance:
    """One thing the kiosk said (or would have said with voice off)."""

    text: str
    language: str
    voiced: bool  # voice output was on when it was said
    t: float  # time.monotonic() when say() was called
    wav: Path | None = None  # synthesized audio, once ready
    engine: str | None = None  # which engine produced it ("azure", "espeak", ...)
    played: bool = False  # handed to an audio device
    interrupted: bool = False
    error: str | None = None


class _OwnerThread(QObject):
    """Runs callables on the thread this object lives in (queued), whoever calls ``post``."""

    _call = Signal(object)

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def is_current(self) -> bool:
        return QThread.currentThread() == self.thread()

    def post(self, fn: Callable[[], object]) -> None:
        self._call.emit(fn)

    @Slot(object)
    def _run(self, fn: Callable[[], object]) -> None:
        fn()


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


def _socket_identity(st: os.stat_result) -> tuple[int, int, int]:
    """Which socket file this is: a restarted server's new socket often gets the inode number
    of the old one back (seen on ext4), so the time it was made is part of it."""
    return (st.st_dev, st.st_ino, st.st_mtime_ns)


class _AudioServer:
    """Whether a new audio stream may be started in this process.

    QtMultimedia's PulseAudio backend (seen with Qt 6.11) aborts the whole process on a libpulse
    assertion when a sink or source is started after the server it connected to has gone, even
    when a new server has come up since; its device list still shows the old device. So before
    each stream the server's socket is checked (still there, still the same file, accepting),
    and once the server was lost no stream is started again: voice and earcons stay off, the
    captions go on, and ``lost`` says why. A new process brings the audio back: the kiosk
    restarts itself for it on the attract screen once a server is back (``AudioComeback``)."""

    def __init__(self) -> None:
        self.lost: str | None = None
        self._identity: tuple[int, int, int] | None = None
        # Whether no server answered just before Qt made its one connection attempt (None: not
        # looked yet). AudioComeback needs it: a server that comes up between Qt's failed attempt
        # and the first look of the watch would otherwise pass for one that was always there.
        self.down_at_start: bool | None = None

    def note_start(self) -> None:
        """Looks once, before Qt's audio is first used (Speaker and Listener call this when
        they are made, before any QMediaDevices call), whether a server answers."""
        if self.down_at_start is None:
            self.down_at_start = self.reachable() is None

    @staticmethod
    def socket_path() -> Path | None:
        server = os.environ.get("PULSE_SERVER", "")
        if server:
            path = server[5:] if server.startswith("unix:") else server
            return Path(path) if path.startswith("/") else None
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        candidate = Path(runtime) / "pulse" / "native" if runtime else None
        return candidate if candidate is not None and candidate.exists() else None

    def usable(self) -> bool:
        if self.lost is not None:
            return False
        path = self.socket_path()
        if path is None:
            if self._identity is not None:
                self.lose("the audio server's socket is gone")
            return self.lost is None
        try:
            identity = self._answering(path)
        except OSError as exc:
            self.lose(f"the audio server does not answer ({exc})")
            return False
        if self._identity is None:
            self._identity = identity
        elif identity != self._identity:
            self.lose("the audio server was restarted")
        return self.lost is None

    def reachable(self) -> tuple[int, int, int] | None:
        """The identity of a server that accepts connections on the socket now, else None.
        No side effects: the watch for a returning server asks this every few seconds."""
        path = self.socket_path()
        if path is None:
            return None
        try:
            return self._answering(path)
        except OSError:
            return None

    @staticmethod
    def _answering(path: Path) -> tuple[int, int, int]:
        """The identity of the socket file at `path` once a server is seen listening on it;
        OSError when it is gone or nothing listens (refused).

        A listener too busy to take the probe is there all the same: on a loaded machine its
        queue of connections not yet accepted fills (the connect fails at once with EAGAIN) or
        the probe times out. Taken for "no server", one busy moment would pass for a server that
        came back, and a kiosk without an audio output would restart for nothing."""
        st = path.stat()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.2)
            try:
                probe.connect(str(path))
            except (BlockingIOError, TimeoutError):
                pass
        return _socket_identity(st)

    @property
    def identity(self) -> tuple[int, int, int] | None:
        """The socket file of the server this process first played through (None: not yet)."""
        return self._identity

    def still_there(self) -> bool:
        """A cheap check while a sound plays (no connection): the socket file is unchanged."""
        if self.lost is not None:
            return False
        path = self.socket_path()
        if self._identity is None:
            return True
        try:
            st = path.stat() if path is not None else None
        except OSError:
            st = None
        if st is None or _socket_identity(st) != self._identity:
            self.lose("the audio server went away")
        return self.lost is None

    def lose(self, reason: str) -> None:
        if self.lost is None:
            self.lost = reason
            log.warning(
                "audio lost: %s; voice and earcons stay off until the kiosk restarts (by itself, on the "
                "attract screen, once a sound server is back), captions go on",
                reason,
            )


AUDIO_SERVER = _AudioServer()


class AudioComeback:
    """Tells when a kiosk without audio should restart to get its voice back.

    Qt's PulseAudio backend connects once per process (seen with Qt 6.11): a kiosk started
    before its sound server (a boot race) has no audio output for good, even once the server is
    up, and a new QMediaDevices or QAudioSink does not connect again; a server that died is
    never used again either (``_AudioServer``). Only a new process gets the audio back.

    ``check()`` is called every few seconds while the kiosk runs. It is True once, in this
    process, the server was seen unreachable (just before Qt's one connection attempt, or by a
    later check) or a lost server was replaced by a new one, and a server now accepts
    connections on ``settle_checks`` checks in a row (the settle skips a server still starting
    or crashing in a loop), while the kiosk has no usable audio. A kiosk that started with its
    server reachable and still has no audio never gets True: a restart would find the same, so
    there is no restart loop."""

    def __init__(
        self,
        server: _AudioServer | None = None,
        has_output: Callable[[], bool] = _has_audio_output,
        settle_checks: int = 2,
    ):
        self._server = server or AUDIO_SERVER
        self._has_output = has_output
        self._settle = max(1, settle_checks)
        self._server.note_start()  # a no-op when the Speaker has looked already (it should have)
        self._down_seen = bool(self._server.down_at_start)
        self._up_checks = 0

    def audio_missing(self) -> bool:
        return self._server.lost is not None or not self._has_output()

    def check(self) -> bool:
        # A server that died or was replaced while nothing played is noticed now (a stat), not
        # by the next person's first prompt: Qt still lists the dead server's device.
        self._server.still_there()
        if not self.audio_missing():
            self._down_seen, self._up_checks = False, 0
            return False
        identity = self._server.reachable()
        if identity is None:
            self._down_seen, self._up_checks = True, 0
            return False
        # A lost server whose socket is another file now: a new server, even if the old one's
        # absence fell between two checks. The same socket file is the old server.
        replaced = self._server.lost is not None and identity != self._server.identity
        if not (self._down_seen or replaced):
            return False
        self._up_checks += 1
        return self._up_checks >= self._settle


_SAMPLE_FORMATS = {
    1: QAudioFormat.SampleFormat.UInt8,
    2: QAudioFormat.SampleFormat.Int16,
    4: QAudioFormat.SampleFormat.Int32,
}


def _read_pcm(path: Path) -> tuple[QAudioFormat, bytes, int]:
    """(format, PCM bytes, duration in ms) of a WAV; 24-bit audio becomes 32-bit."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        pcm = w.readframes(w.getnframes())
    if width == 3:  # QAudioFormat has no 24-bit samples: widen to 32 (low byte zero)
        b = np.frombuffer(pcm, dtype=np.uint8).reshape(-1, 3)
        pcm = np.concatenate([np.zeros((len(b), 1), np.uint8), b], axis=1).tobytes()
        width = 4
    fmt = QAudioFormat()
    fmt.setSampleRate(rate)
    fmt.setChannelCount(channels)
    fmt.setSampleFormat(_SAMPLE_FORMATS[width])
    frames = len(pcm) // (width * channels)
    return fmt, pcm, int(1000 * frames / max(rate, 1))


class _PcmPlayer(QObject):
    """Plays one sound at a time through a QAudioSink, on the thread that owns the player.

    ``finished(ok, message)`` follows every ``play`` exactly once, unless ``stop`` came first:
    at the end of the sound, on an audio error, or from the watchdog when the sound outlives
    its length by PLAYBACK_SLACK_MS (an audio server that died mid-sound)."""

    finished = Signal(bool, str)

    def __init__(self, parent: QObject, slack_ms: int = PLAYBACK_SLACK_MS):
        super().__init__(parent)
        self._slack_ms = slack_ms
        self._sink: QAudioSink | None = None
        self._buffer: QBuffer | None = None
        self._watchdog = QTimer(self)
        self._watchdog.setSingleShot(True)
        self._watchdog.timeout.connect(lambda: self._finish(False, "playback did not end (audio server gone?)"))
        # The sink's state is polled: PySide6 6.11 cannot pass stateChanged's argument to a
        # Python slot ("QAudio::State cannot be converted").
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check)

    @property
    def busy(self) -> bool:
        return self._sink is not None

    def play(self, fmt: QAudioFormat, pcm: bytes, duration_ms: int) -> None:
        self.stop()
        if not AUDIO_SERVER.usable():
            QTimer.singleShot(0, self, lambda: self.finished.emit(False, f"audio lost: {AUDIO_SERVER.lost}"))
            return
        device = QMediaDevices.defaultAudioOutput()
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(pcm))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self._sink = QAudioSink(device, fmt, self)
        self._watchdog.start(duration_ms + self._slack_ms)
        self._sink.start(self._buffer)
        self._poll.start()

    def stop(self) -> None:
        """End the current sound now, without a finished signal."""
        self._watchdog.stop()
        self._poll.stop()
        sink, buffer = self._sink, self._buffer
        self._sink = self._buffer = None
        if sink is not None:
            sink.stop()
            sink.deleteLater()
        if buffer is not None:
            buffer.close()
            buffer.deleteLater()

    def _check(self) -> None:
        sink = self._sink
        if sink is None:
            return
        if not AUDIO_SERVER.still_there():
            self._finish(False, f"audio lost: {AUDIO_SERVER.lost}")
            return
        state = sink.state()
        if state == QtAudio.State.IdleState:  # pull mode: the buffer is played out
            self._finish(True, "")
        elif state == QtAudio.State.StoppedState and sink.error() != QtAudio.Error.NoError:
            if sink.error() == QtAudio.Error.FatalError:
                AUDIO_SERVER.lose("the audio output failed (FatalError)")
            self._finish(False, f"audio output: {sink.error().name}")

    def _finish(self, ok: bool, message: str) -> None:
        if self._sink is None:
            return
        self.stop()
        self.finished.emit(ok, message)


class Speaker(QObject):
    """Speaks prompts. ``tts`` is any object with ``synthesize(text, language) -> Path``
    (normally a ``TTSChain``); if it has ``last`` (a Synthesis), the engine is logged."""

    caption = Signal(str)  # every utterance, voice on or off
    speaking_changed = Signal(bool)
    enabled_changed = Signal(bool)
    earcon = Signal(str)  # every earcon played (e.g. to flash an icon)
    error = Signal(str)
    # Nothing is being synthesized, waiting or playing any more: what was said has been heard
    # (or dropped). The kiosk waits for this before it acts on its own (auto-start).
    finished = Signal()

    def __init__(
        self,
        tts,
        language: str = "en",
        enabled: bool = True,
        parent: QObject | None = None,
        earcons_enabled: bool = True,
    ):
        super().__init__(parent)
        self._tts = tts
        self.language = language
        self._enabled = enabled
        self.earcons_enabled = earcons_enabled
        # bounded: a kiosk runs for months
        self.utterances: deque[Utterance] = deque(maxlen=HISTORY)
        self.earcons_played: deque[str] = deque(maxlen=HISTORY)
        AUDIO_SERVER.note_start()  # before this process's first QMediaDevices call
        self._owner = _OwnerThread(self)
        self._generation = 0
        self._play_queue: deque[Utterance] = deque()
        self._current: Utterance | None = None
        self._speaking = False
        self._pending = 0  # utterances handed to synthesis, not answered yet
        self._busy = False  # finished is owed once everything has been said
        self._held = False  # the microphone is open: nothing starts playing (hold)
        self._warned_no_device = False
        self._audio_failing = False  # log an audio outage once, not once per prompt
        self._synthesis_failing = False  # the same for an outage of every speech engine
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one synthesis at a time keeps prompts in order
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_synthesized, Qt.ConnectionType.QueuedConnection)
        self._voice = _PcmPlayer(self)
        self._voice.finished.connect(self._on_played)
        self._earcon_player = _PcmPlayer(self)
        self._earcon_player.finished.connect(self._on_earcon_played)
        self._earcon_pcm: dict[str, tuple[QAudioFormat, bytes, int]] = {}
        self._earcons_unusable: set[str] = set()

    # --- voice on/off ---------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        if not self._owner.is_current():
            self._owner.post(lambda: self.set_enabled(enabled))
            return
        enabled = bool(enabled)
        if enabled == self._enabled:
            return
        self._enabled = enabled
        if not enabled:
            self.stop()
        self.enabled_changed.emit(enabled)

    @Slot(bool)
    def hold(self, held: bool) -> None:
        """While held (the kiosk's microphone is open), no prompt starts playing: the microphone
        would record the kiosk's own words over the person's ("Say start, repeat, help ..."),
        and the kiosk would act on them. Prompts said meanwhile are captioned at once and
        played in order once released; ``is_speaking`` stays true for them, so whoever waits
        for the end of the speech waits for them too. Connect to Listener.listening_changed."""
        if not self._owner.is_current():
            self._owner.post(lambda: self.hold(held))
            return
        self._held = bool(held)
        if not self._held and self._current is None:
            self._play_next()

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
        if not self._owner.is_current():
            self._owner.post(lambda: self._say(utterance, interrupt))
            return utterance
        self._say(utterance, interrupt)
        return utterance

    def _say(self, utterance: Utterance, interrupt: bool) -> None:
        text, language = utterance.text, utterance.language
        self.utterances.append(utterance)
        self.caption.emit(text)
        if not self._enabled or not text.strip():
            return
        if interrupt:
            self._interrupt()
        generation = self._generation
        self._pending += 1
        self._busy = True
        self._relay.submit(self._pool, (utterance, generation), lambda: self._synthesize(text, language, generation))

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
        if not self._owner.is_current():
            self._owner.post(self.stop)
            return
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
        self._voice.stop()

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
            # An engine that is gone fails every prompt alike: said once per outage, like
            # playback, or the journal fills with the same warning for as long as it lasts.
            if not self._synthesis_failing:
                self._synthesis_failing = True
                log.warning("speech synthesis failed: %s (captions go on)", result)
                self.error.emit(SYNTHESIS_FAILED)
            else:
                log.debug("speech synthesis failed: %s", result)
            return
        if result is None:
            utterance.interrupted = True
            return
        if self._synthesis_failing:
            self._synthesis_failing = False
            log.info("speech synthesis works again")
        utterance.wav, utterance.engine = result
        if generation != self._generation or not self._enabled:
            utterance.interrupted = True
            return
        self._play_queue.append(utterance)
        if self._current is None:
            self._play_next()

    def _play_next(self) -> None:
        if not self._play_queue or self._held:
            self._current = None
            self._set_speaking(False)
            self._check_finished()  # with prompts held back, is_speaking() keeps it owed
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
        try:
            if utterance.wav is None:
                raise OSError("no audio")
            fmt, pcm, duration_ms = _read_pcm(utterance.wav)
        except (OSError, EOFError, KeyError, wave.Error) as exc:
            self._on_played(False, f"unreadable audio {utterance.wav}: {exc}")
            return
        self._voice.play(fmt, pcm, duration_ms)
        utterance.played = True
        self._set_speaking(True)

    @Slot(bool, str)
    def _on_played(self, ok: bool, message: str) -> None:
        if not ok:
            if self._current is not None:
                self._current.error = message
            self._audio_problem(message)
        elif self._audio_failing:
            self._audio_failing = False
            log.info("audio playback works again")
        self._current = None
        self._play_next()

    def _audio_problem(self, message: str) -> None:
        if not self._audio_failing:
            self._audio_failing = True
            log.warning("audio playback failed: %s (captions go on)", message)
            self.error.emit(PLAYBACK_FAILED)
        else:
            log.debug("audio playback failed: %s", message)

    def _set_speaking(self, speaking: bool) -> None:
        if speaking != self._speaking:
            self._speaking = speaking
            self.speaking_changed.emit(speaking)

    # --- earcons --------------------------------------------------------------------------
    def play_earcon(self, name: str) -> None:
        """Play a short non-speech sound (pass, fail, detected, step, listening, attention).

        Earcons are independent of voice on/off: they are the wordless channel."""
        stem = earcon_name(name)  # KeyError for unknown names: a programming error
        if not self._owner.is_current():
            self._owner.post(lambda: self.play_earcon(name))
            return
        self.earcons_played.append(stem)
        self.earcon.emit(stem)
        if not self.earcons_enabled or not _has_audio_output():
            return
        sound = self._earcon_pcm.get(stem)
        if sound is None:
            # A missing or broken file costs this sound only: callers play an earcon just
            # before they say and report a verdict, which must not be cut off by it.
            try:
                sound = self._earcon_pcm[stem] = _read_pcm(earcon_path(stem))
            except (OSError, EOFError, KeyError, wave.Error) as exc:
                if stem not in self._earcons_unusable:
                    self._earcons_unusable.add(stem)  # an installation problem: said once per sound
                    log.warning("earcon %r unusable, its screen signal goes on: %s", stem, exc)
                    self.error.emit(PLAYBACK_FAILED)
                return
        self._earcon_player.play(*sound)

    @Slot(bool, str)
    def _on_earcon_played(self, ok: bool, message: str) -> None:
        if not ok:
            self._audio_problem(message)

    def shutdown(self, timeout_ms: int = 2000) -> None:
        """Stop and wait for a running synthesis (call before the app quits)."""
        self.stop()
        self._earcon_player.stop()
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)


class Listener(QObject):
    """Records a voice command from the default microphone and recognises it off-thread.

    ``recognizer`` is a CommandRecognizer-like object with
    ``transcribe(audio, language) -> (text, engine)``, where audio is a WAV path or 16 kHz mono
    int16 samples. Recordings are passed as samples: a voice never reaches the disk.
    """

    listening_changed = Signal(bool)
    # The microphone hears: its first sound arrived, and the listening time counts from now. A
    # source can take a while to start (PulseAudio resuming a suspended one, a USB microphone):
    # the "listening" earcon is played on this, so the person speaks when they are heard.
    recording = Signal()
    command = Signal(object)  # a Command
    heard = Signal(str)  # what was recognised (for a caption "I heard ...")
    not_understood = Signal(str)  # speech that is no command ('' when nothing was heard)
    no_microphone = Signal()
    error = Signal(str)

    SAMPLE_RATE = 16000

    def __init__(self, recognizer, language: str = "en", parent: QObject | None = None):
        super().__init__(parent)
        self._recognizer = recognizer
        self.language = language
        AUDIO_SERVER.note_start()  # before this process's first QMediaDevices call
        self._owner = _OwnerThread(self)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_recognized, Qt.ConnectionType.QueuedConnection)
        self._source: QAudioSource | None = None
        self._io: QIODevice | None = None
        self._format: QAudioFormat | None = None
        self._skip_ms = 0
        self._buffer = bytearray()
        self._listening = False
        self._seconds = 0.0
        self._hearing = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._finish_recording)

    @property
    def listening(self) -> bool:
        return self._listening

    @staticmethod
    def microphone_available() -> bool:
        return not QMediaDevices.defaultAudioInput().isNull()

    # A microphone that has given no sound this long after it was opened is not going to: what
    # there is (nothing) is recognised, and the person hears that they were not understood.
    START_WAIT_S = 2.0

    def listen(self, seconds: float = 3.0, skip_ms: int = 250) -> bool:
        """Open the microphone, record ``seconds`` from its first sound (``recording``), then
        recognise. False if it could not start.

        The first ``skip_ms`` of the recording are dropped: they hold the "listening" earcon,
        played on ``recording`` (people start speaking later than that)."""
        if not self._owner.is_current():
            self._owner.post(lambda: self.listen(seconds, skip_ms))
            return True
        if self._listening:
            return True
        device = QMediaDevices.defaultAudioInput()
        if not AUDIO_SERVER.usable():
            self.error.emit(MICROPHONE_FAILED)
            return False
        if device.isNull():
            self.no_microphone.emit()
            self.error.emit(NO_MICROPHONE)
            return False
        fmt = QAudioFormat()
        fmt.setSampleRate(self.SAMPLE_RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            fmt = device.preferredFormat()  # converted to 16 kHz mono int16 in memory
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
        self._seconds, self._hearing = seconds, False
        self._set_listening(True)
        self._timer.start(int((seconds + self.START_WAIT_S) * 1000))  # until it hears (or not)
        return True

    def cancel(self) -> None:
        """Close the microphone without recognising."""
        if not self._owner.is_current():
            self._owner.post(self.cancel)
            return
        self._timer.stop()
        self._stop_source()
        self._set_listening(False)

    def _read_available(self) -> None:
        if self._io is not None:
            self._buffer += bytes(self._io.readAll().data())
            if self._buffer and not self._hearing and self._timer.isActive():
                self._hearing = True
                self._timer.start(int(self._seconds * 1000))
                self.recording.emit()

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
        if fmt is None:
            return
        frame_bytes = max(1, fmt.bytesPerFrame())
        skip = int(fmt.sampleRate() * self._skip_ms / 1000) * frame_bytes
        raw = bytes(self._buffer[skip:])
        self._buffer = bytearray()  # the voice is held only as long as it is needed
        try:
            samples = _samples16k(raw[: len(raw) // frame_bytes * frame_bytes], fmt)
        except ValueError as exc:
            log.warning("could not convert the recording: %s", exc)
            self.error.emit(MICROPHONE_FAILED)
            return
        self.recognize(samples)

    def recognize(self, audio: Path | str | np.ndarray, language: str | None = None) -> None:
        """Recognise a WAV file or 16 kHz mono int16 samples off the GUI thread; answers with
        command / not_understood / error."""
        language = language or self.language
        self._relay.submit(self._pool, language, lambda: self._recognizer.transcribe(audio, language))

    def recognize_file(self, path: str | Path, language: str | None = None) -> None:
        self.recognize(Path(path), language)

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


def _samples16k(raw: bytes, fmt: QAudioFormat) -> np.ndarray:
    """Microphone bytes in ``fmt`` -> int16 mono 16 kHz samples, all in memory."""
    kind = fmt.sampleFormat()
    x: np.ndarray
    if kind == QAudioFormat.SampleFormat.Float:
        x = np.clip(np.frombuffer(raw, dtype="<f4"), -1, 1) * 32767
    elif kind == QAudioFormat.SampleFormat.Int32:
        x = np.frombuffer(raw, dtype="<i4") / 65536.0
    elif kind == QAudioFormat.SampleFormat.UInt8:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) * 256.0
    elif kind == QAudioFormat.SampleFormat.Int16:
        x = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
    else:
        raise ValueError(f"unsupported microphone sample format {kind}")
    return to_mono16k(x, max(1, fmt.channelCount()), fmt.sampleRate())


__all__ = [
    "MICROPHONE_FAILED",
    "NO_AUDIO_OUTPUT",
    "NO_MICROPHONE",
    "PLAYBACK_FAILED",
    "RECOGNITION_FAILED",
    "SYNTHESIS_FAILED",
    "AudioComeback",
    "Listener",
    "Speaker",
    "Utterance",
]
