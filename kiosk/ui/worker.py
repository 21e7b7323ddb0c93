"""Camera worker (Qt for Python worker-object pattern): lives in its own QThread, reads frames,
runs the vision pipeline for the detectors the session needs, and emits results.

The GUI thread owns the session engine; it tells the worker what to run through `set_needs`.
"""
from __future__ import annotations

import logging
import threading
import traceback

import cv2
import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from ..session.events import Need
from ..vision.sources import SourceError

log = logging.getLogger(__name__)


def to_qimage(frame_bgr: np.ndarray, mirror: bool = True) -> QImage:
    """A mirrored RGB copy for display; the original frame never leaves the worker."""
    rgb = cv2.cvtColor(cv2.flip(frame_bgr, 1) if mirror else frame_bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class CameraWorker(QObject):
    frame = Signal(QImage)          # mirrored preview
    observed = Signal(object)       # kiosk.session.observation.Observation
    camera_lost = Signal(str)
    camera_ok = Signal()
    crashed = Signal(str)           # an unexpected exception in the pipeline (logged, session restarts)
    finished = Signal()

    def __init__(self, source_factory, pipeline_factory, fps: int = 25, reconnect_s: float = 2.0,
                 preview: bool = True, idle_fps: int | None = None):
        super().__init__()
        self._source_factory = source_factory
        self._pipeline_factory = pipeline_factory
        self._interval_ms = max(1, int(1000 / fps))
        # While only a face is looked for (attract screen), analyse fewer frames: low idle CPU.
        self._idle_every = max(1, round(fps / idle_fps)) if idle_fps else 1
        self._frame_no = 0
        self._reconnect_ms = int(reconnect_s * 1000)
        self._preview = preview
        self._needs: frozenset[Need] = frozenset({Need.FACE})
        self._lock = threading.Lock()
        self._source = None
        self._pipeline = None
        self._timer: QTimer | None = None
        self._camera_up = None

    # called from the GUI thread
    def set_needs(self, needs: frozenset[Need]) -> None:
        with self._lock:
            self._needs = frozenset(needs)

    @Slot()
    def start(self) -> None:
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._step)
        try:
            self._pipeline = self._pipeline_factory()
        except Exception as exc:
            log.exception("vision pipeline failed to start")
            self.crashed.emit(f"vision pipeline failed to start: {exc}")
            return
        self._open_source()

    def _open_source(self) -> None:
        try:
            self._source = self._source_factory()
        except SourceError as exc:
            self._source = None
            self._set_camera(False, str(exc))
            QTimer.singleShot(self._reconnect_ms, self, self._open_source)
            return
        self._set_camera(True)
        self._timer.start(self._interval_ms)

    def _set_camera(self, up: bool, reason: str = "") -> None:
        if up != self._camera_up:
            self._camera_up = up
            (self.camera_ok.emit() if up else self.camera_lost.emit(reason))

    @Slot()
    def _step(self) -> None:
        frame = self._source.read() if self._source else None
        if frame is None:
            # Unplugged, busy or the end of a file: close, show the camera screen, retry.
            self._timer.stop()
            if self._source:
                self._source.close()
            self._source = None
            self._set_camera(False, "no frame from the camera")
            QTimer.singleShot(self._reconnect_ms, self, self._open_source)
            return
        with self._lock:
            needs = self._needs
        self._frame_no += 1
        if needs <= {"face"} and self._frame_no % self._idle_every:
            return
        try:
            obs = self._pipeline.process(frame.image, needs)
        except Exception:
            log.error("vision pipeline error:\n%s", traceback.format_exc())
            self.crashed.emit("vision pipeline error")
            self._pipeline.reset()
            return
        if self._preview:
            self.frame.emit(to_qimage(frame.image))
        self.observed.emit(obs)

    @Slot()
    def reset_session(self) -> None:
        if self._pipeline:
            self._pipeline.reset()

    @Slot()
    def stop(self) -> None:
        if self._timer:
            self._timer.stop()
        if self._source:
            self._source.close()
            self._source = None
        if self._pipeline:
            self._pipeline.close()
            self._pipeline = None
        self.finished.emit()


class WorkerThread:
    """Owns the QThread and the worker; `shutdown()` stops the worker in its thread, then quit()+wait()."""

    def __init__(self, worker: CameraWorker):
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("camera")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.start)

    def start(self) -> None:
        self.thread.start()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        if not self.thread.isRunning():
            return True
        from PySide6.QtCore import QMetaObject, Qt
        QMetaObject.invokeMethod(self.worker, "stop", Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.quit()
        return self.thread.wait(timeout_ms)
