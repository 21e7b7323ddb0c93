"""Camera faults: lost mid-session, unreadable frames, a frozen feed, and `kiosk bench` on bad
sources. Real Qt offscreen, the real pipeline and worker thread; frame sources stand in for the
camera."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
from fault_harness import ListReporter, NotifySocket, face_folder, serve_with, session_cfg
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QImage

from kiosk.health import Health
from kiosk.session.engine import State
from kiosk.ui import strings as S
from kiosk.ui.controller import CaptionOnlySpeaker
from kiosk.vision.pipeline import VisionPipeline
from kiosk.vision.sources import Frame, ImageFolderSource, SourceError, open_source
from kiosk.watchdog import Watchdog

from conftest import ROOT, wait_until


@pytest.fixture(scope="module")
def app():
    from kiosk.ui.app import qt_app

    return qt_app()


class PluggableCamera:
    """A camera on a cable: frames from a folder while plugged; unplugged, reads give nothing
    and opening fails, as with a USB camera pulled out."""

    def __init__(self, folder):
        self.folder = folder
        self.plugged = True
        self.opens = 0

    def open(self):
        self.opens += 1
        if not self.plugged:
            raise SourceError("camera 0 is not available")
        src = open_source(str(self.folder), fps=25, loop=True)
        camera = self

        class Plugged:
            live = False

            def read(self):
                return src.read() if camera.plugged else None

            def close(self):
                src.close()

        return Plugged()


def _kiosk(cfg, source_factory, health, reporter):
    from kiosk.ui.app import build_kiosk

    return build_kiosk(
        cfg,
        pipeline=VisionPipeline(cfg),
        speaker=CaptionOnlySpeaker(),
        health=health,
        reporter=reporter,
        source_factory=source_factory,
    )


def test_camera_lost_mid_session_abandons_reports_and_reconnects(app, state_dir, tmp_path, photos):
    cfg = session_cfg(state_dir, liveness={"real_frames": 10_000, "timeout_s": 600.0})  # stay in level 1
    camera = PluggableCamera(face_folder(tmp_path, photos))
    health = Health()
    reporter = ListReporter()
    kiosk = _kiosk(cfg, camera.open, health, reporter)
    notify = NotifySocket(tmp_path)
    seen: dict = {}

    def step(quit):
        c, w = kiosk.controller, kiosk.window
        if "unplugged_at" not in seen and c.engine.state == State.LIVENESS:
            camera.plugged = False  # pulled out in the middle of level 1
            seen["unplugged_at"] = time.monotonic()
            seen["opens"] = camera.opens
        elif "unplugged_at" in seen and "lost" not in seen and reporter.records:
            seen["lost"] = (w.stack.currentWidget() is w.message, w.message.title.text())
        elif "lost" in seen and "replugged_at" not in seen and camera.opens >= seen["opens"] + 3:
            seen["pings_while_lost"] = notify.pings(since=seen["unplugged_at"] + 0.5)
            seen["health_while_lost"] = health.status()
            camera.plugged = True
            seen["replugged_at"] = time.monotonic()
        elif "replugged_at" in seen and not c.camera_problem and w.stack.currentWidget() is not w.message:
            seen["back"] = True
            quit(0)

    try:
        code = serve_with(kiosk, step, timeout_s=90, watchdog=Watchdog(env=notify.env), health_interval_ms=50)
    finally:
        notify.close()
    assert code == 0, seen
    # No verdict lost: the cut session is reported as abandoned because of the camera.
    assert [(r.result, r.reason) for r in reporter.records][:1] == [("abandoned", "camera_lost")]
    assert seen["lost"] == (True, S.CAMERA_TITLE), "the camera screen is shown"
    assert any(S.CAMERA_TITLE in u for u in kiosk.controller.speaker.utterances)
    # Reconnects every camera.reconnect_s (0.3 s): three more opens took about a second.
    assert seen["back"]
    # A lost camera is a kiosk doing its job: the watchdog is still fed (the worker retries).
    assert seen["pings_while_lost"] > 0 and seen["health_while_lost"]["healthy"]
    assert seen["health_while_lost"]["camera"] == "lost"
    assert health.errors.total == 0, "a lost camera is not an error storm"


def _corrupt(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)


def test_unreadable_image_is_skipped_and_reported_once(tmp_path, caplog):
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "00.png"), np.full((48, 64, 3), 40, np.uint8))
    _corrupt(folder / "01.png")
    cv2.imwrite(str(folder / "02.png"), np.full((48, 64, 3), 80, np.uint8))
    src = ImageFolderSource(folder, loop=True)
    src.open()
    with caplog.at_level(logging.WARNING):
        values = [int(src.read().image[0, 0, 0]) for _ in range(60)]
    assert set(values) == {40, 80}
    warnings = [r for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(warnings) == 1 and "01.png" in warnings[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


def test_a_folder_of_only_unreadable_images_is_a_lost_camera_not_a_traceback_flood(app, state_dir, tmp_path, caplog):
    from kiosk.ui.worker import CameraWorker, WorkerThread

    cfg = session_cfg(state_dir)
    folder = tmp_path / "bad"
    folder.mkdir()
    _corrupt(folder / "only.png")
    health = Health()
    worker = CameraWorker(
        lambda: open_source(str(folder), loop=True), lambda: VisionPipeline(cfg), fps=25, reconnect_s=0.3, health=health
    )
    events = []
    worker.camera_lost.connect(lambda r: events.append(("lost", r)))
    worker.camera_ok.connect(lambda: events.append(("ok", "")))
    thread = WorkerThread(worker)
    caplog.set_level(logging.WARNING)

    def opened() -> int:  # one warning per source opened
        return sum("unreadable" in r.getMessage() for r in caplog.records)

    t0 = time.monotonic()
    thread.start()
    try:
        assert wait_until(lambda: events == [("lost", "no frame from the camera")])
        # Let it retry a few times (0.3 s apart): still lost, never "ok", no traceback.
        assert wait_until(lambda: opened() >= 3)
    finally:
        assert thread.shutdown()
    elapsed = time.monotonic() - t0
    assert events == [("lost", "no frame from the camera")], "camera lost once, not flapping"
    assert not any(r.exc_info for r in caplog.records), "no traceback"
    # One warning per reconnect attempt at most, not 20 a second.
    assert opened() <= elapsed / 0.3 + 2
    assert health.errors.total == 0 and health.camera == "lost"


class FrozenCamera:
    """A live camera whose driver wedged: the same buffer again and again, until it is reopened."""

    live = True

    def __init__(self, frozen: bool):
        self.frozen = frozen
        self.image = np.full((120, 160, 3), 90, np.uint8)
        self.n = 0
        self.rng = np.random.default_rng(0)

    def read(self):
        self.n += 1
        img = self.image if self.frozen else self.image + self.rng.integers(0, 3, self.image.shape, np.uint8)
        return Frame(img, time.monotonic(), self.n)

    def close(self):
        pass


def test_a_frozen_live_feed_is_a_camera_problem_and_is_reopened(app, state_dir):
    from kiosk.ui.worker import CameraWorker, WorkerThread

    cfg = session_cfg(state_dir)
    opened = []

    def factory():
        cam = FrozenCamera(frozen=len(opened) == 0)  # the first stream freezes; the reopened one is fine
        opened.append(cam)
        return cam

    health = Health()
    worker = CameraWorker(
        factory, lambda: VisionPipeline(cfg), fps=25, reconnect_s=0.2, health=health, frozen_after_s=0.5
    )
    events = []
    worker.camera_lost.connect(lambda r: events.append(("lost", r)))
    worker.camera_ok.connect(lambda: events.append(("ok", "")))
    thread = WorkerThread(worker)
    thread.start()
    try:
        assert wait_until(lambda: len(events) >= 3)
    finally:
        assert thread.shutdown()
    assert events[0] == ("ok", "")
    assert events[1][0] == "lost" and events[1][1].startswith("frozen feed: identical frames")
    assert events[2] == ("ok", ""), "reopened, the camera is back"
    assert len(opened) >= 2


def test_a_camera_still_frozen_after_a_reopen_stays_a_camera_problem(app, state_dir):
    """A wedged driver that survives the reopen repeats the buffer it froze on. Taking its first
    frame for a camera back made the kiosk flap: the attract screen over the frozen picture (its
    frames analysed, a face in it welcomed) for frozen_after_s, then the camera screen for
    reconnect_s, again and again; kiosk_camera_state went back to "ok" every cycle and each
    cycle counted one more loss. It stays "frozen", counted once, until the picture moves."""
    from kiosk import metrics
    from kiosk.ui.worker import CameraWorker, WorkerThread

    cfg = session_cfg(state_dir)
    driver = {"wedged": True}
    opened: list[FrozenCamera] = []

    class WedgedDriverCamera(FrozenCamera):
        @property  # the driver's state, not the stream's: every reopen gets the same buffer
        def frozen(self):
            return driver["wedged"]

        @frozen.setter
        def frozen(self, _value):
            pass

    def factory():
        cam = WedgedDriverCamera(frozen=True)
        opened.append(cam)
        return cam

    def losses() -> float:
        return metrics.REGISTRY.get_sample_value("kiosk_camera_losses_total", {"reason": "frozen"}) or 0.0

    before = losses()
    health = Health()
    worker = CameraWorker(
        factory, lambda: VisionPipeline(cfg), fps=25, reconnect_s=0.1, health=health, frozen_after_s=0.3
    )
    # In the order the controller sees them: slots of an object in the GUI thread. A bare lambda
    # runs in the worker's thread at once, ahead of observations still on their way.
    gui = CameraEventsInGuiThread()
    events = gui.events
    worker.camera_lost.connect(gui.on_camera_lost)
    worker.camera_ok.connect(gui.on_camera_ok)
    worker.observed.connect(gui.on_observation)
    thread = WorkerThread(worker)
    thread.start()
    try:
        assert wait_until(lambda: len(opened) >= 4), "reopened again and again while frozen"
        frozen_state = (
            health.camera,
            metrics.REGISTRY.get_sample_value("kiosk_camera_state", {"kiosk_camera_state": "frozen"}),
        )
        while_frozen = list(events)
        driver["wedged"] = False  # the driver recovers: sensor noise again
        assert wait_until(lambda: events[-1:] == ["observed"] and "ok" in events[len(while_frozen) :])
    finally:
        assert thread.shutdown()
    lost_at = while_frozen.index("lost")
    assert while_frozen[:1] == ["ok"] and while_frozen[lost_at:] == ["lost"], while_frozen
    assert frozen_state == ("frozen", 1.0), "still frozen for /health and /metrics"
    assert losses() == before + 1, "one frozen camera is one loss, not one per reopen"
    assert health.camera == "ok"


def test_a_still_recording_is_not_a_frozen_camera(app, state_dir, tmp_path):
    """Files and folders repeat frames by design (a photo held up): only live cameras are checked."""
    from kiosk.ui.worker import CameraWorker, WorkerThread

    cfg = session_cfg(state_dir)
    folder = tmp_path / "still"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((120, 160, 3), 90, np.uint8))
    worker = CameraWorker(
        lambda: open_source(str(folder), loop=True),
        lambda: VisionPipeline(cfg),
        fps=50,
        reconnect_s=0.2,
        frozen_after_s=0.2,
    )
    events, got = [], []
    worker.camera_lost.connect(lambda r: events.append(("lost", r)))
    worker.observed.connect(got.append)
    thread = WorkerThread(worker)
    thread.start()
    try:
        assert wait_until(lambda: len(got) >= 20)  # 20 analysed frames at 50 fps: far past 0.2 s
    finally:
        assert thread.shutdown()
    assert events == []


class CountingPipeline:
    """A fast stand-in for the pipeline: its observation is the number of the frame analysed.
    With `hold_after`, it stops inside the next frame until released (the worker then sends
    nothing more), so what waits for the GUI thread can be counted."""

    timings = None

    def __init__(self, hold_after: int | None = None):
        self.analysed = 0
        self.hold_after = hold_after
        self.holding = threading.Event()
        self.release = threading.Event()

    def process(self, image, needs):
        if self.hold_after is not None and self.analysed >= self.hold_after:
            self.holding.set()
            self.release.wait(timeout=30)
        self.analysed += 1
        return self.analysed

    def reset(self):
        pass

    def close(self):
        pass


class NumberedCamera:
    """A recording (not live): frame n is a plain grey picture of value n % 256."""

    live = False

    def __init__(self):
        self.n = 0

    def read(self):
        self.n += 1
        return Frame(np.full((48, 64, 3), self.n % 256, np.uint8), time.monotonic(), self.n)

    def close(self):
        pass


class CameraEventsInGuiThread(QObject):
    """The worker's camera signals and observations, received as the controller receives them."""

    def __init__(self):
        super().__init__()
        self.events: list[str] = []

    @Slot(str)
    def on_camera_lost(self, _reason: str) -> None:
        self.events.append("lost")

    @Slot()
    def on_camera_ok(self) -> None:
        self.events.append("ok")

    @Slot(object)
    def on_observation(self, _obs) -> None:
        self.events.append("observed")


class GuiSide(QObject):
    """Slots in the GUI thread, as the controller's and the preview's are."""

    def __init__(self):
        super().__init__()
        self.observations: list = []
        self.previews: list = []

    @Slot(object)
    def on_observation(self, obs) -> None:
        self.observations.append(obs)

    @Slot(QImage)
    def show_frame(self, image) -> None:
        self.previews.append(image)


def test_a_stalled_gui_thread_is_handed_the_newest_frames_not_a_backlog(app):
    """The GUI thread stalled (a slow slot, a long layout; the watchdog kills only after
    WatchdogSec) while the worker went on: each analysed frame waited in Qt's event queue with
    its preview image (the kiosk grew by about 12 MB a second), and once the GUI thread ran
    again the session engine judged a burst of frames seconds old as if they were now. What the
    GUI thread has not taken yet is now replaced by newer results: it is handed the newest
    preview and the last quarter second of observations, and a GUI thread that keeps up loses none."""
    from PySide6.QtCore import QCoreApplication

    from kiosk import metrics
    from kiosk.session.events import Need
    from kiosk.ui.worker import CameraWorker, WorkerThread

    fps, stall_frames = 25, 50
    pipeline = CountingPipeline()
    worker = CameraWorker(NumberedCamera, lambda: pipeline, fps=fps, reconnect_s=0.2, health=Health())
    worker.set_needs(frozenset({Need.FACE, Need.HEAD_POSE}))  # a session: every frame analysed
    gui = GuiSide()  # like the controller and the preview: a receiver in the GUI thread
    got, previews = gui.observations, gui.previews
    worker.observed.connect(gui.on_observation)
    worker.frame.connect(gui.show_frame)
    thread = WorkerThread(worker)
    dropped_before = metrics.REGISTRY.get_sample_value("kiosk_observations_dropped_total") or 0.0
    thread.start()
    try:
        assert wait_until(lambda: len(got) >= 10)
        assert got == list(range(1, len(got) + 1)), "a GUI thread that keeps up is handed every frame"
        # The GUI thread stalls: nothing lets Qt deliver while the worker analyses 50 more
        # frames (two seconds), then stops inside the next one.
        delivered, shown = len(got), len(previews)
        pipeline.hold_after = pipeline.analysed + stall_frames
        deadline = time.monotonic() + 30
        while not pipeline.holding.is_set() and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        assert pipeline.holding.is_set(), "the worker went on while the GUI thread stalled"
        assert len(got) == delivered, "nothing was delivered during the stall"
        newest = pipeline.analysed
        for _ in range(20):  # the GUI thread catches up with everything waiting for it
            QCoreApplication.processEvents()
        burst, shown_after = got[delivered:], previews[shown:]
        dropped = (metrics.REGISTRY.get_sample_value("kiosk_observations_dropped_total") or 0.0) - dropped_before
        pipeline.release.set()
        # Running freely again, a GUI thread that keeps up is handed every frame again.
        assert wait_until(lambda: len(got) >= delivered + len(burst) + 10)
        resumed = got[delivered + len(burst) :]
    finally:
        pipeline.release.set()
        assert thread.shutdown()
    assert newest - delivered >= stall_frames
    assert 1 <= len(burst) <= fps // 4 + 1, f"{len(burst)} observations judged at once after the stall"
    assert burst == list(range(newest - len(burst) + 1, newest + 1)), "the newest, in order"
    assert dropped == newest - delivered - len(burst), "the frames never judged are counted for the operator"
    assert len(shown_after) == 1, f"{len(shown_after)} previews painted at once after the stall"
    assert shown_after[0].pixelColor(0, 0).red() == newest % 256, "the newest preview"
    assert resumed == list(range(newest + 1, newest + 1 + len(resumed)))


def _bench(*args):
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("make", ["missing", "not_a_video", "unreadable_folder"])
def test_bench_on_a_bad_source_is_a_clear_error_not_a_traceback(tmp_path, make):
    if make == "missing":
        source, expect = tmp_path / "nope.mp4", "video file not found"
    elif make == "not_a_video":
        source, expect = tmp_path / "clip.mp4", "cannot read video"
        source.write_bytes(b"this is not a video")
    else:
        source, expect = tmp_path / "bad", "no readable frame"
        source.mkdir()
        _corrupt(source / "x.png")
    r = _bench("--source", str(source), "--frames", "3")
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("kiosk: bench: ") and expect in r.stderr
