"""Camera worker (Qt for Python worker-object pattern): lives in its own QThread, reads frames,
runs the vision pipeline for the detectors the session needs, and emits results.

The GUI thread owns the session engine; it tells the worker what to run through `set_needs`.

Faults: a source that raises, gives no frame, or (a live camera) repeats byte-identical frames
is a lost camera: closed, shown as such, reopened every `reconnect_s`, and the camera is only
"ok" again once a frame arrives (a live camera: once its picture moves between two frames). A pipeline error is reported to kiosk.health (logged once,
counted; the same error repeating is an error storm there). Progress beats the "frames" heartbeat.

Results reach the GUI thread through a `Handover`, not through a queued signal each: a GUI thread
that stalls (a slow slot, a long layout) while the worker goes on is handed the newest results
once it runs again, and the results waiting for it meanwhile take constant memory.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, SignalInstance, Slot
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


# How many observations wait for the GUI thread at most: a quarter second of frames. A GUI thread
# that is only briefly late (a screen change, a busy moment on a loaded machine) loses none, so
# the session engine counts every frame as before; one stalled longer judges these newest ones,
# at most a quarter second old, instead of a burst of frames seconds old.
HELD_OBSERVATIONS_S = 0.25


class Handover(QObject):
    """Hands values from the worker's thread to the thread this object lives in (the GUI thread)
    and emits `delivered` there with each, in order. At most `size` values wait: a
    newer one pushes out the oldest (`on_drop` is called), and only one delivery event is in Qt's
    queue at a time. A queued signal per value kept every one, with its preview image, for as
    long as the GUI thread stalled (about 12 MB a second at 25 fps), and delivered them all at
    once when it ran again."""

    delivered = Signal(object)
    _wake = Signal()

    def __init__(self, size: int, on_drop: Callable[[], None] | None = None):
        super().__init__()
        self._waiting: deque[Any] = deque(maxlen=size)
        self._lock = threading.Lock()  # put() runs in the worker's thread, _deliver() in this one
        self._wake_queued = False
        self._on_drop = on_drop
        self._wake.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def put(self, value: Any) -> None:
        """Called from the worker's thread."""
        with self._lock:
            full = len(self._waiting) == self._waiting.maxlen
            self._waiting.append(value)
            wake = not self._wake_queued
            self._wake_queued = True
        if full and self._on_drop is not None:
            self._on_drop()
        if wake:
            self._wake.emit()

    @Slot()
    def _deliver(self) -> None:
        # All that waits, in the one event: results then keep their place among the worker's
        # other signals (a lost camera comes after the frames before it). What the worker puts
        # meanwhile queues the next event, so a slow receiver cannot hold the GUI thread here.
        with self._lock:
            values = list(self._waiting)
            self._waiting.clear()
            self._wake_queued = False
        for value in values:
            self.delivered.emit(value)


class CameraWorker(QObject):
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
        # Made here, in the thread that makes the worker (the GUI thread), and given no parent:
        # they stay in that thread when the worker moves to its own, and deliver there.
        self._observations = Handover(
            max(2, round(fps * HELD_OBSERVATIONS_S)), on_drop=metrics.observations_dropped.inc
        )
        self._previews = Handover(1)  # only the newest picture is worth painting
        self.observed: SignalInstance = self._observations.delivered  # Observation, in the GUI thread
        self.frame: SignalInstance = self._previews.delivered  # mirrored preview QImage, in the GUI thread

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
            self._previews.put(to_qimage(frame.image))
        self._observations.put(obs)

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
