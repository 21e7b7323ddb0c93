"""Builds and runs the kiosk: QApplication, theme, fonts, translations, pipeline, worker, engine;
and keeps it honest while it runs (kiosk.health): the systemd watchdog is fed only while frames
are analysed and the session engine moves, and an error storm takes the kiosk out of service
and ends the process (non-zero) so systemd restarts it."""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QLocale, QObject, QTimer, QTranslator, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication

from .. import metrics
from ..config import PROJECT_ROOT
from ..files import AlreadyRunning, lock_instance
from ..health import Health
from ..memory import release_free_heap
from ..preflight import preflight
from ..session.clock import MonotonicClock
from ..session.engine import EngineSettings, Event, SessionEngine, State
from ..session.observation import Observation
from ..vision.sources import open_source
from .controller import KioskController
from .theme import stylesheet
from .window import KioskWindow
from .worker import CameraWorker, WorkerThread

log = logging.getLogger(__name__)
RESOURCES = PROJECT_ROOT / "resources"

# Exit status after an error storm (EX_SOFTWARE): systemd's Restart=always starts a fresh kiosk.
EXIT_ERROR_STORM = 70
# Exit status for a restart that brings the audio back (EX_TEMPFAIL): a sound server came up
# after the kiosk started, and Qt connects to one only when the process starts. systemd's
# Restart=always starts a fresh kiosk, which connects.
EXIT_AUDIO_RETURNED = 75
# How often the kiosk without audio looks for a sound server: a stat and a connect on a local
# socket, only while the audio is missing.
AUDIO_WATCH_MS = 3000
# How long the out-of-service screen (and its spoken message) stays before the process exits.
OUT_OF_SERVICE_GRACE_S = 8.0
OUT_OF_SERVICE_WHAT = "a fault was found, staff have been notified and the kiosk restarts by itself"


class BeatingEngine(SessionEngine):
    """The session engine, beating the "engine" heartbeat each time it judged an observation or a
    timer tick without raising: an engine that raises on every call lets the watchdog run out."""

    def __init__(self, *args: Any, beat: Callable[[], None], **kwargs: Any):
        self._beat = beat
        super().__init__(*args, **kwargs)

    def feed(self, obs: Observation) -> list[Event]:
        events = super().feed(obs)
        self._beat()
        return events

    def tick(self) -> list[Event]:
        events = super().tick()
        self._beat()
        return events


def qt_app() -> QApplication:
    app = QApplication.instance()
    return app if isinstance(app, QApplication) else QApplication(sys.argv[:1])


def load_fonts() -> list[str]:
    """Bundled fonts (the colour emoji font in installers); the system's are used otherwise."""
    families = []
    for f in sorted((RESOURCES / "fonts").glob("*.[ot]tf")):
        fid = QFontDatabase.addApplicationFont(str(f))
        if fid >= 0:
            families += QFontDatabase.applicationFontFamilies(fid)
    return families


def install_translator(app: QApplication, language: str) -> QTranslator | None:
    if language == "en":
        return None
    tr = QTranslator(app)
    if tr.load(str(RESOURCES / "translations" / f"kiosk_{language}.qm")):
        app.installTranslator(tr)
        QLocale.setDefault(QLocale(language))
        return tr
    log.warning("no translation for %s; showing English", language)
    return None


def make_limiter(cfg):
    from ..ratelimit import RateLimiter

    return RateLimiter(
        cfg.security.max_failures,
        cfg.security.window_s,
        cfg.security.lockout_s,
        state_path=cfg.security.state_path or None,
    )


def make_voice(cfg, speaker=None, listener=None):
    """Speaker (Azure with offline fallback) and command listener from the [speech] settings."""
    from ..speech import build_from_config
    from ..speech.qt_audio import Listener, Speaker

    tts, recognizer = build_from_config(cfg.speech, cfg.ui.language)
    speaker = speaker or Speaker(tts, language=cfg.ui.language, enabled=cfg.ui.voice)
    listener = listener or Listener(recognizer, language=cfg.ui.language)
    return speaker, listener


@dataclass
class Kiosk:
    app: QApplication
    window: KioskWindow
    controller: KioskController
    pipeline: object
    worker_thread: WorkerThread | None
    reporter: Any = None
    health: Health = field(default_factory=Health)

    def shutdown(self) -> None:
        self.controller.shutdown()
        if self.reporter is not None:
            self.reporter.close()
        self.window.allow_close = True
        self.window.close()


def build_kiosk(
    cfg,
    source: str | None = None,
    pipeline=None,
    start_worker: bool = True,
    speaker=None,
    listener=None,
    rng=None,
    clock=None,
    reporter=None,
    health: Health | None = None,
    source_factory: Callable[[], Any] | None = None,
) -> Kiosk:
    app = qt_app()
    app.setStyleSheet(stylesheet())
    load_fonts()
    install_translator(app, cfg.ui.language)
    if pipeline is None:
        from ..vision.pipeline import VisionPipeline

        pipeline = VisionPipeline(cfg)
    checked = preflight(cfg, pipeline)  # the same checks as check-config, the pool through kiosk/pool.py
    pool = checked.pool
    for note in checked.notes:
        log.warning(note)
    # No liveness model or nothing to ask after level 1: out of service instead of failing on every frame.
    problem = checked.out_of_service()
    health = health or Health(cfg.health)
    # Heartbeats age on the monotonic clock: a wall-clock jump neither kills nor hides a stuck part.
    health.beats.expect("engine", health.stale_after_s)
    health.beats.expect("frames", health.stale_after_s + cfg.camera.reconnect_s)
    limiter = make_limiter(cfg)
    engine = BeatingEngine(
        EngineSettings.from_config(cfg),
        pool,
        clock or MonotonicClock(),
        rng=rng,
        limiter=limiter,
        beat=lambda: health.beat("engine"),
    )
    if reporter is None:
        from ..reporting import VerdictReporter

        reporter = VerdictReporter(cfg, {n: s.version for n, s in pipeline.models.items() if s.available})
    problem = problem or getattr(reporter, "problem", "")  # no device key: out of service, no restart loop
    for cut in limiter.interrupted:  # sessions a kill, crash or power cut cut short
        # Their markers go only once the record is in the spool or with the host.
        reporter.submit_interrupted(cut, on_safe=functools.partial(limiter.reported, cut.get("session_id")))
    submit = reporter.submit

    def on_result(record) -> None:
        metrics.sessions.labels(outcome=record.result or "unknown").inc()
        submit(record)
        # What the session's native parts freed goes back to the system, not into a heap that
        # only grows over months (kiosk.memory).
        release_free_heap()

    if speaker is None or listener is None:
        speaker, listener = make_voice(cfg, speaker, listener)
    # Voice failures the speech layer signals (it counts its own engine fallbacks in kiosk.metrics).
    if hasattr(speaker, "error"):
        speaker.error.connect(lambda _text: metrics.speech_errors.labels(engine="speaker", kind="playback").inc())
    if hasattr(listener, "error"):
        listener.error.connect(lambda _text: metrics.speech_errors.labels(engine="listener", kind="recognition").inc())
    window = KioskWindow()
    window.retranslate()
    spec = source if source is not None else cfg.camera.source
    # Files and folders loop, so a recorded source behaves like a camera that never ends.
    worker = CameraWorker(
        source_factory or (lambda: open_source(spec, cfg.camera.width, cfg.camera.height, cfg.camera.fps, loop=True)),
        lambda: pipeline,
        fps=cfg.camera.fps,
        reconnect_s=cfg.camera.reconnect_s,
        idle_fps=cfg.camera.idle_fps,
        health=health,
        frozen_after_s=cfg.camera.frozen_after_s,
    )
    thread = WorkerThread(worker)
    controller = KioskController(
        cfg, engine, window, thread, speaker=speaker, listener=listener, on_result=on_result, model_problem=problem
    )
    if start_worker:
        thread.start()
    return Kiosk(app, window, controller, pipeline, thread, reporter, health)


class _StormRelay(QObject):
    """Brings an error storm, declared on whichever thread raised, to the GUI thread."""

    storm = Signal(str)

    def __init__(self, handler: Callable[[str], None]):
        super().__init__()
        self._handler = handler
        self.storm.connect(self._on_storm)

    @Slot(str)
    def _on_storm(self, summary: str) -> None:
        self._handler(summary)


def abandon_session(kiosk: Kiosk, reason: str) -> None:
    """A session in progress ends as abandoned and is reported like any other, even when the
    engine itself is what broke (the record is then closed here)."""
    controller, engine = kiosk.controller, kiosk.controller.engine
    if engine.state not in (State.LIVENESS, State.CHALLENGE):
        return
    record = engine.record
    try:
        controller.abandon(reason)
        return
    except Exception as exc:
        log.error("the session engine could not end the session (%s); reporting it as abandoned", exc)
    if record is not None and not record.result and controller.on_result is not None:
        record.result, record.reason = "abandoned", reason
        record.finished_at = record.last_seen_at or record.started_at
        record.states.append("abandoned")
        controller.on_result(record)


def go_out_of_service(kiosk: Kiosk, summary: str, exit_later: Callable[[int], None], watchdog=None) -> None:
    """Error storm: end the session (reported), show and say "out of service", tell systemd why,
    and exit non-zero after a grace (exit_later) so the message can be read and heard."""
    controller = kiosk.controller
    if controller.model_problem == OUT_OF_SERVICE_WHAT:
        return
    abandon_session(kiosk, "out_of_service")
    controller.model_problem = OUT_OF_SERVICE_WHAT  # the frames stop reaching the engine
    from . import strings as S
    from .strings import tr

    try:
        controller.refresh()
        controller.say(tr(S.MODEL_TITLE) + ". " + tr(S.MODEL_DETAIL).format(what=OUT_OF_SERVICE_WHAT))
    except Exception as exc:  # the screen or the voice may be what is broken: still exit
        log.error("out-of-service screen failed: %s", exc)
    if watchdog is not None:
        watchdog.status(f"out of service: {summary}")
    exit_later(EXIT_ERROR_STORM)


def _watch_audio_output() -> QObject | None:
    """kiosk_audio_up follows the system's default audio output, and stays 0 once the server
    behind it is lost (Qt may still list, or list again, the dead server's device; the watch
    for a returning server, _watch_audio_return, holds the same meaning between changes)."""
    try:
        from PySide6.QtMultimedia import QMediaDevices

        from ..speech.qt_audio import AUDIO_SERVER
    except ImportError:
        return None
    devices = QMediaDevices()

    def update() -> None:
        usable = AUDIO_SERVER.lost is None and not QMediaDevices.defaultAudioOutput().isNull()
        metrics.audio_up.set(1 if usable else 0)

    devices.audioOutputsChanged.connect(update)
    update()
    return devices


def _watch_audio_return(kiosk: Kiosk, restart: Callable[[], None], interval_ms: int = AUDIO_WATCH_MS) -> QTimer | None:
    """While the kiosk has no usable audio, looks for a sound server every interval_ms; once
    one is back (kiosk.speech.qt_audio.AudioComeback) and the audio would be used (voice or
    earcons on), calls restart() at the next moment nobody is being served (the attract
    screen), never during a session. kiosk_audio_up is kept at 0 while the audio is lost, even
    where Qt still lists the dead server's device."""
    try:
        from ..speech.qt_audio import AudioComeback
    except ImportError:
        return None
    comeback = AudioComeback()
    controller = kiosk.controller
    speaker = controller.speaker
    ready = False

    def tick() -> None:
        nonlocal ready
        if comeback.audio_missing():
            metrics.audio_up.set(0)
        ready = ready or comeback.check()
        wanted = getattr(speaker, "enabled", False) or getattr(speaker, "earcons_enabled", False)
        if ready and wanted and controller.at_rest():
            timer.stop()  # once: the process is on its way out
            restart()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(interval_ms)
    return timer


def serve(
    kiosk: Kiosk,
    watchdog=None,
    metrics_port: int = 0,
    grace_s: float = OUT_OF_SERVICE_GRACE_S,
    health_interval_ms: int = 500,
    audio_watch_ms: int = AUDIO_WATCH_MS,
) -> int:
    """Runs the Qt loop with the watchdog, the error-storm exit, the watch for a returning
    sound server and the metrics server; returns the exit status (0 after a stop,
    EXIT_ERROR_STORM after a storm, EXIT_AUDIO_RETURNED to get the audio back)."""
    from ..logging_setup import install_qt_message_handler, quiet_ffmpeg
    from ..watchdog import Watchdog

    app, window, health = kiosk.app, kiosk.window, kiosk.health
    watchdog = watchdog or Watchdog()

    def quit_app(code: int = 0) -> None:
        # Qt 6 quits by closing every window; the kiosk window refuses that unless allowed.
        window.allow_close = True
        app.exit(code)

    exit_timer = QTimer()  # owned here, so a pending exit cannot outlive this loop
    exit_timer.setSingleShot(True)

    def exit_later(code: int) -> None:
        exit_timer.timeout.connect(lambda: quit_app(code))
        exit_timer.start(int(grace_s * 1000))

    relay = _StormRelay(lambda summary: go_out_of_service(kiosk, summary, exit_later, watchdog))
    health.errors.on_storm = relay.storm.emit
    install_qt_message_handler()
    old_hooks = sys.excepthook, threading.excepthook
    sys.excepthook = health.errors.excepthook()  # exceptions escaping Qt slots, "gui" or "worker"
    gui_hook = health.errors.excepthook("thread")
    threading.excepthook = lambda a: gui_hook(a.exc_type, a.exc_value or a.exc_type(), a.exc_traceback)
    kiosk.controller.quit_requested.connect(lambda: quit_app(0))

    def health_tick() -> None:
        health.out_of_service = kiosk.controller.model_problem
        metrics.out_of_service.set(1 if health.out_of_service else 0)
        ok = health.healthy()
        metrics.healthy.set(1 if ok else 0)
        # The ping rides on the GUI loop: if the loop freezes, systemd's WatchdogSec restarts us.
        watchdog.ping(ok)

    beat = QTimer()
    beat.timeout.connect(health_tick)
    beat.start(health_interval_ms)
    audio = _watch_audio_output()

    def audio_restart() -> None:
        if exit_timer.isActive():  # out of service already, exiting anyway
            return
        log.warning(
            "a sound server is reachable now but this process has no audio (Qt connects only at "
            "start): exiting with status %d on the attract screen so systemd restarts the kiosk with its voice",
            EXIT_AUDIO_RETURNED,
        )
        watchdog.status("restarting to connect to the sound server that came up")
        quit_app(EXIT_AUDIO_RETURNED)

    audio_return = _watch_audio_return(kiosk, audio_restart, audio_watch_ms)
    quiet_ffmpeg()  # after Qt's media backend started: it sets FFmpeg's log level when it does
    server = metrics.serve(metrics_port, health)
    watchdog.ready()
    if health.errors.storm:  # declared before the loop was wired (the worker starts earlier)
        relay.storm.emit(health.errors.storm)
    started = time.monotonic()
    try:
        code = app.exec()
    finally:
        beat.stop()
        exit_timer.stop()
        if audio_return is not None:
            audio_return.stop()
        watchdog.stopping()
        if server is not None:
            server.stop()
        sys.excepthook, threading.excepthook = old_hooks
        health.errors.on_storm = None
        # A session cut by a stop is reported now, while the reporter is still open: left to the
        # next start, its verdict would reach the host only then (hours later after a stop for
        # maintenance), and it would count as a failure like a session cut by a crash.
        abandon_session(kiosk, "stopped")
        kiosk.shutdown()
    log.info("kiosk stopped after %.0f s with status %d", time.monotonic() - started, code)
    del audio, relay
    return code


def run_app(cfg, windowed: bool = False) -> int:
    from ..logging_setup import install_qt_message_handler
    from ..verdict import KeyFileError

    install_qt_message_handler()  # before any Qt part is built: its warnings are rate-limited too
    try:
        locks = lock_state_folders(cfg)
    except AlreadyRunning as exc:
        # Before anything is built: no second window over the first, no camera taken from it.
        # systemd's restarts get the lock once the other one is gone.
        log.error("not started: %s", exc)
        print(f"kiosk: not started: {exc}", file=sys.stderr)
        return 2
    try:
        try:
            kiosk = build_kiosk(cfg)
        except KeyFileError as exc:
            print(f"kiosk: config key 'verdict.key_path': {exc}", file=sys.stderr)
            return 2
        return _run_kiosk(kiosk, cfg, windowed)
    finally:
        for fd in locks:
            os.close(fd)


def lock_state_folders(cfg) -> list[int]:
    """The single-instance lock on each folder of the kiosk's state (device key and verdict
    spool; lockout state). A second `run` on them would take the first one's session marker for
    a crash (a "fail" verdict for a session still running, then the real verdict refused as a
    repeat) and rewrite the spool under it. A folder where no lock file can be made is logged
    and left unlocked: the key or state problem it causes is reported as usual."""
    folders = {cfg.path(cfg.verdict.key_path).parent}
    if cfg.security.state_path:
        folders.add(cfg.path(cfg.security.state_path).parent)
    locks: list[int] = []
    try:
        for folder in sorted(folders):
            try:
                locks.append(lock_instance(folder))
            except OSError as exc:
                log.warning("cannot take the single-instance lock in %s: %s", folder, exc)
    except AlreadyRunning:
        for fd in locks:
            os.close(fd)
        raise
    return locks


def _run_kiosk(kiosk: Kiosk, cfg, windowed: bool) -> int:
    app, window = kiosk.app, kiosk.window

    def stop(*_: Any) -> None:
        window.allow_close = True
        app.quit()

    # Qt blocks Python's signal handlers while in C++; a timer lets SIGTERM (systemd stop) through.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, stop)  # a closed terminal or session cleans up like a stop
    pulse = QTimer()
    pulse.start(250)
    pulse.timeout.connect(lambda: None)
    if cfg.ui.fullscreen and not windowed:
        screen = app.primaryScreen()
        if screen is not None:  # without a window manager the geometry must be set first
            window.setGeometry(screen.geometry())
        window.showFullScreen()
    else:
        window.resize(1280, 800)
        window.show()
    return serve(kiosk, metrics_port=cfg.metrics.port)
