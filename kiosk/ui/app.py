"""Builds and runs the kiosk: QApplication, theme, fonts, translations, pipeline, worker, engine."""
from __future__ import annotations

import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLocale, QTimer, QTranslator
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication

from ..preflight import preflight
from ..session.clock import MonotonicClock
from ..session.engine import EngineSettings, SessionEngine
from ..vision.sources import open_source
from .controller import KioskController
from .theme import stylesheet
from .window import KioskWindow
from .worker import CameraWorker, WorkerThread

log = logging.getLogger(__name__)
RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def qt_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    return app


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
    return RateLimiter(cfg.security.max_failures, cfg.security.window_s, cfg.security.lockout_s,
                       state_path=cfg.security.state_path or None)


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
    reporter: object = None

    def shutdown(self) -> None:
        self.controller.shutdown()
        if self.reporter is not None:
            self.reporter.close()
        self.window.allow_close = True
        self.window.close()


def build_kiosk(cfg, source: str | None = None, pipeline=None, start_worker: bool = True,
                speaker=None, listener=None, rng=None, clock=None, reporter=None) -> Kiosk:
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
    engine = SessionEngine(EngineSettings.from_config(cfg), pool, clock or MonotonicClock(), rng=rng,
                           limiter=make_limiter(cfg))
    if reporter is None:
        from ..reporting import VerdictReporter
        reporter = VerdictReporter(cfg, {n: s.version for n, s in pipeline.models.items() if s.available})
    problem = problem or getattr(reporter, "problem", "")  # no device key: out of service, no restart loop
    for cut in getattr(engine.limiter, "interrupted", []):  # sessions a stop or crash cut short
        reporter.submit_interrupted(cut)
    if speaker is None or listener is None:
        speaker, listener = make_voice(cfg, speaker, listener)
    window = KioskWindow()
    window.retranslate()
    spec = source if source is not None else cfg.camera.source
    # Files and folders loop, so a recorded source behaves like a camera that never ends.
    worker = CameraWorker(lambda: open_source(spec, cfg.camera.width, cfg.camera.height, cfg.camera.fps, loop=True),
                          lambda: pipeline, fps=cfg.camera.fps, reconnect_s=cfg.camera.reconnect_s,
                          idle_fps=cfg.camera.idle_fps)
    thread = WorkerThread(worker)
    controller = KioskController(cfg, engine, window, thread, speaker=speaker, listener=listener,
                                 on_result=reporter.submit, model_problem=problem)
    if start_worker:
        thread.start()
    return Kiosk(app, window, controller, pipeline, thread, reporter)


def run_app(cfg, windowed: bool = False) -> int:
    from ..verdict import KeyFileError
    try:
        kiosk = build_kiosk(cfg)
    except KeyFileError as exc:
        print(f"kiosk: config key 'verdict.key_path': {exc}", file=sys.stderr)
        return 2
    app, window = kiosk.app, kiosk.window

    def quit_app(*_):
        # Qt 6 quits by closing every window; the kiosk window refuses that unless allowed.
        window.allow_close = True
        app.quit()

    kiosk.controller.quit_requested.connect(quit_app)
    # Qt blocks Python's signal handlers while in C++; a timer lets SIGTERM (systemd stop) through.
    signal.signal(signal.SIGTERM, quit_app)
    signal.signal(signal.SIGINT, quit_app)
    signal.signal(signal.SIGHUP, quit_app)  # a closed terminal or session cleans up like a stop
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
    from ..watchdog import Watchdog
    watchdog = Watchdog()
    watchdog.ready()
    # The ping rides on the GUI loop: if the loop freezes, systemd's WatchdogSec restarts us.
    kiosk.controller.timer.timeout.connect(watchdog.ping)
    code = app.exec()
    watchdog.stopping()
    kiosk.shutdown()
    return code
