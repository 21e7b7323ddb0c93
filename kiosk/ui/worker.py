"""Camera worker (Qt for Python worker-object pattern): lives in its own QThread, reads frames,
runs the vision pipeline for the detectors the session needs, and emits results.

The GUI thread owns the session engine; it tells the worker what to run through `set_needs`.

Faults: a source that raises, gives no frame, or (a live camera) repeats byte-identical frames
is a lost camera: closed, shown as such, reopened every `reconnect_s`, and the camera is only
"ok" again once a frame arrives (a live camera: once its picture moves between two frames). A pipeline error is reported to kiosk.health (logged once,
counted; the same error repeating is an error storm there). Progress beats the "frames" heartbeat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from .. import metrics
from ..config import shipped_defaults
from ..health import Health
from ..session.events import Need
from ..vision.sources import FrozenFeedDetector, SourceError

log = logging.getLogger(__name__)


def to_qimage(frame_bgr: np.ndarray, mirror: bool = True) -> QImage:
    """A mirrored RGB copy for display; the original frame never leaves the worker."""
    rgb = cv2.cvtColor(cv2.flip(frame_bgr, 1) if mirror else frame_bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class CameraWorker(QObject):
    frame = Signal(QImage)  # mirrored preview
    observed = Signal(object)  # kiosk.session.observation.Observation
    camera_lost = Signal(str)
    camera_ok = Signal()
    crashed = Signal(str)  # an unexpected exception in the pipeline (reported, session restarts)
    finished = Signal()

    def __init__(
        self,
        source_factory: Callable[[], Any],
        pipeline_factory: Callable[[], Any],
        fps: int = 25,
        reconnect_s: float = 2.0,
        preview: bool = True,
        idle_fps: int | None = None,
        health: Health | None = None,
        frozen_after_s: float | None = None,
    ):
        """frozen_after_s: a live camera repeating the very same bytes this long is frozen
        (camera.frozen_after_s; None: the shipped default)."""
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
        self._source: Any = None
        self._pipeline: Any = None
        self._timer: QTimer | None = None
        self._camera_up: bool | None = None
        self.health = health or Health()
        if frozen_after_s is None:
            frozen_after_s = shipped_defaults().camera.frozen_after_s
        self._frozen = FrozenFeedDetector(frozen_after_s)
        self._stopped = False
        self._reset_pending = False

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
            self.health.report_error("vision pipeline start", exc)
            self.crashed.emit(f"vision pipeline failed to start: {exc}")
            return
        self._open_source()

    def _open_source(self) -> None:
        if self._stopped:  # a reconnect timer that fired after stop()
            return
        self.health.beat("frames")  # a reconnect attempt is the worker doing its job
        try:
            self._source = self._source_factory()
        except SourceError as exc:
            self._source = None
            self._lose_camera(str(exc))
            return
        except Exception as exc:  # a driver error is a camera problem, not a reason to stop retrying
            self._source = None
            self._lose_camera(f"camera error: {type(exc).__name__}: {exc}")
            return
        # "ok" only once a frame arrives: a source that opens but gives nothing stays "lost".
        self._frozen.reset()
        assert self._timer is not None
        self._timer.start(self._interval_ms)

    def _lose_camera(self, reason: str, state: str = "lost") -> None:
        """Close the source, show the camera screen (once), and try again after reconnect_s."""
        if self._timer is not None:
            self._timer.stop()
        if self._source is not None:
            try:
                self._source.close()
            except Exception as exc:
                log.warning("closing the camera failed: %s", exc)
            self._source = None
        if self._camera_up is not False:
            self._camera_up = False  # the controller logs it
            metrics.camera_losses.labels(reason=state).inc()
            self.health.set_camera(state, reason)
            self.camera_lost.emit(reason)
        QTimer.singleShot(self._reconnect_ms, self, self._open_source)

    def _camera_is_up(self) -> None:
        if self._camera_up is not True:
            self._camera_up = True
            self.health.set_camera("ok")
            self.camera_ok.emit()

    @Slot()
    def _step(self) -> None:
        try:
            frame = self._source.read() if self._source else None
        except Exception as exc:  # e.g. a driver error: the same as no frame
            self._lose_camera(f"camera error: {type(exc).__name__}: {exc}")
            return
        if frame is None:
            # Unplugged, busy, the end of a file or nothing readable: close, show the camera screen, retry.
            self._lose_camera("no frame from the camera")
            return
        if getattr(self._source, "live", False):
            if self._frozen.update(frame.image):
                self._lose_camera(f"frozen feed: identical frames for {self._frozen.after_s:.0f} s", "frozen")
                return
            if self._camera_up is False and not self._frozen.changed:
                # A live camera is back only once its picture moves: a wedged driver can survive
                # the reopen and repeat the buffer it froze on. Its frames are not analysed (a
                # face in a frozen picture is nobody there); the worker still beats, it retries.
                self.health.beat("frames")
                return
        self._camera_is_up()
        metrics.frames_read.inc()
        with self._lock:
            needs = self._needs
            reset, self._reset_pending = self._reset_pending, False
        if reset:
            self._reset_pipeline()
        self._frame_no += 1
        if needs <= {"face"} and self._frame_no % self._idle_every:
            self.health.beat("frames")
            return
        try:
            obs = self._pipeline.process(frame.image, needs)
        except Exception as exc:
            self.health.report_error("vision pipeline", exc)
            self.crashed.emit("vision pipeline error")
            self._reset_pipeline()
            return
        finally:
            timings = getattr(self._pipeline, "timings", None)
            if timings:
                metrics.observe_timings(timings)
        metrics.frames.inc()
        self.health.beat("frames")
        if self._preview:
            self.frame.emit(to_qimage(frame.image))
        self.observed.emit(obs)

    def _reset_pipeline(self) -> None:
        try:
            self._pipeline.reset()
        except Exception as exc:
            self.health.report_error("vision pipeline reset", exc)

    # called from the GUI thread: the pipeline is only touched in this worker's thread
    def reset_session(self) -> None:
        with self._lock:
            self._reset_pending = True

    @Slot()
    def stop(self) -> None:
        self._stopped = True
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
