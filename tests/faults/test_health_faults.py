"""Health faults: an error storm takes the kiosk out of service and exits non-zero for systemd; a
stuck session engine or a wedged camera worker stops the watchdog; logs cannot flood.
Real Qt offscreen, the real pipeline and worker thread; fakes only at the edges."""

from __future__ import annotations

import logging
import signal
import threading
import time

import pytest
from fault_harness import (
    ListReporter,
    NotifySocket,
    face_folder,
    free_port,
    health_json,
    http_get,
    serve_with,
    session_cfg,
)

from kiosk import metrics
from kiosk.health import Health
from kiosk.session.engine import State
from kiosk.ui import strings as S
from kiosk.ui.controller import CaptionOnlySpeaker
from kiosk.vision.pipeline import VisionPipeline
from kiosk.watchdog import Watchdog


@pytest.fixture(scope="module")
def app():
    from kiosk.ui.app import qt_app

    return qt_app()


class FaultyPipeline(VisionPipeline):
    """The real pipeline with one detector fault: every frame raises the same exception."""

    def process(self, image, needs):
        raise ValueError("detector fault in frame")


class WedgedPipeline(VisionPipeline):
    """The real pipeline, wedged inside a detector until released (a hung native call)."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.wedged = threading.Event()
        self.release = threading.Event()

    def process(self, image, needs):
        if self.wedged.is_set():
            self.release.wait(timeout=60)
        return super().process(image, needs)


class BreakableClock:
    """A monotonic clock that can be made to fail: every engine call then raises (a stuck engine)."""

    def __init__(self):
        self.broken = False

    def now(self) -> float:
        if self.broken:
            raise RuntimeError("session engine fault")
        return time.monotonic()


def _build(cfg, source, pipeline, health, **kw):
    from kiosk.ui.app import build_kiosk

    kw.setdefault("reporter", ListReporter())
    return build_kiosk(cfg, source=str(source), pipeline=pipeline, speaker=CaptionOnlySpeaker(), health=health, **kw)


def test_error_storm_shows_out_of_service_reports_once_and_exits_non_zero(
    app, state_dir, tmp_path, photos, caplog, screenshot_dir
):
    from kiosk.ui.app import EXIT_ERROR_STORM, OUT_OF_SERVICE_WHAT

    cfg = session_cfg(state_dir, session={"face_lost_timeout_s": 60.0})
    health = Health(storm_count=20)
    reporter = ListReporter()
    kiosk = _build(cfg, face_folder(tmp_path, photos), FaultyPipeline(cfg), health, reporter=reporter)
    kiosk.window.resize(1280, 800)
    kiosk.window.show()
    notify = NotifySocket(tmp_path)
    storms_before = metrics.REGISTRY.get_sample_value("kiosk_error_storms_total") or 0.0
    seen = {}

    def step(quit):
        notify.drain()
        c = kiosk.controller
        if not seen.get("started") and c.engine.state in (State.IDLE, State.WELCOME):
            c.handle_command("start")  # attract -> welcome -> level 1: a session the storm cuts
            seen["started"] = c.engine.state == State.LIVENESS
        if c.model_problem == OUT_OF_SERVICE_WHAT and "shot" not in seen:
            seen["shot"] = kiosk.window.grab().save(str(screenshot_dir / "out_of_service.png"))
            seen["title"] = kiosk.window.message.title.text()
            seen["screen_is_message"] = kiosk.window.stack.currentWidget() is kiosk.window.message

    caplog.set_level(logging.WARNING)
    t0 = time.monotonic()
    code = serve_with(kiosk, step, timeout_s=60, watchdog=Watchdog(env=notify.env), grace_s=1.0, health_interval_ms=50)
    took = time.monotonic() - t0
    messages = [m for _, m in notify.drain()]
    notify.close()

    assert code == EXIT_ERROR_STORM, "an error storm ends the process non-zero so systemd restarts it"
    assert took < 30
    assert seen.get("shot") and seen.get("title") == S.MODEL_TITLE, "the out-of-service screen was shown"
    spoken = kiosk.controller.speaker.utterances
    assert any(u.startswith(S.MODEL_TITLE) and "staff have been notified" in u for u in spoken), spoken
    # Reported: one ERROR with the traceback for the repeating error, one CRITICAL for the storm.
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "vision pipeline" in tracebacks[0].getMessage()
    assert [r.levelname for r in caplog.records if "error storm" in r.getMessage()] == ["CRITICAL"]
    assert health.errors.total >= 20 and health.errors.storm.startswith("vision pipeline: ValueError")
    assert (metrics.REGISTRY.get_sample_value("kiosk_error_storms_total") or 0.0) == storms_before + 1
    # No verdict lost: the session the storm cut is reported as abandoned.
    assert [r.result for r in reporter.records] == ["abandoned"]
    assert reporter.records[0].reason in ("vision_error", "out_of_service")
    assert "READY=1" in messages and any(m.startswith("STATUS=out of service: vision pipeline") for m in messages)
    assert messages[-1] == "STOPPING=1"


def _watchdog_stops_when(kiosk, notify, port, break_it, unbreak_it, stale_part):
    """Serves until pings flow, breaks one part, and checks that the pings stop while /health
    says 503 naming that part; returns what was seen."""
    seen: dict = {"phase": "warmup"}

    def step(quit):
        notify.drain()  # each message is stamped when it is drained: drain often
        now = time.monotonic()
        if seen["phase"] == "warmup" and notify.pings() >= 3 and kiosk.health.healthy():
            seen["health_ok"] = health_json(port)
            break_it()
            seen.update(phase="broken", broken_at=now)
        elif seen["phase"] == "broken" and not kiosk.health.healthy():
            seen.update(phase="unhealthy", unhealthy_at=now, health_bad=health_json(port))
        elif seen["phase"] == "unhealthy" and now - seen["unhealthy_at"] > 1.5:
            # the watchdog interval (0.1 s) many times over: no ping may come
            seen["pings_while_unhealthy"] = notify.pings(since=seen["unhealthy_at"] + 0.3)
            unbreak_it()
            quit(0)

    code = serve_with(
        kiosk, step, timeout_s=60, watchdog=Watchdog(env=notify.env), metrics_port=port, health_interval_ms=50
    )
    assert code == 0, seen
    assert seen["health_ok"][0] == 200 and seen["health_ok"][1]["healthy"] is True
    assert seen["unhealthy_at"] - seen["broken_at"] < 5.0, "the stale part is noticed within its max age"
    assert seen["health_bad"][0] == 503 and seen["health_bad"][1]["stale"] == [stale_part]
    assert seen["pings_while_unhealthy"] == 0, "WATCHDOG=1 must not be sent while a part is stuck"
    return seen


def test_watchdog_not_fed_while_the_session_engine_is_stuck(app, state_dir, tmp_path, photos):
    cfg = session_cfg(state_dir)
    clock = BreakableClock()
    # A storm would end the process first; here only the watchdog is under test.
    health = Health(stale_after_s=1.0, storm_count=10**9)
    kiosk = _build(cfg, face_folder(tmp_path, photos), VisionPipeline(cfg), health, clock=clock)
    notify = NotifySocket(tmp_path)

    def unbreak():
        clock.broken = False

    try:
        _watchdog_stops_when(kiosk, notify, free_port(), lambda: setattr(clock, "broken", True), unbreak, "engine")
    finally:
        notify.close()
    assert health.errors.total > 0, "the engine's exceptions were reported, not lost"


def test_watchdog_not_fed_while_the_camera_worker_is_wedged(app, state_dir, tmp_path, photos):
    cfg = session_cfg(state_dir)
    pipeline = WedgedPipeline(cfg)
    health = Health(stale_after_s=1.0)
    kiosk = _build(cfg, face_folder(tmp_path, photos), pipeline, health)
    notify = NotifySocket(tmp_path)
    try:
        _watchdog_stops_when(kiosk, notify, free_port(), pipeline.wedged.set, pipeline.release.set, "frames")
    finally:
        pipeline.release.set()
        notify.close()


def test_a_blocked_gui_loop_stops_the_watchdog_and_metrics_say_unhealthy(app, state_dir, tmp_path, photos):
    """A slot that never returns (a deadlock in the GUI thread): no WATCHDOG=1 goes out, so
    systemd kills and restarts the kiosk. Until then /metrics said kiosk_healthy 1 while
    /health answered 503: the gauge was only written by the GUI loop that was stuck."""
    cfg = session_cfg(state_dir)
    health = Health(stale_after_s=1.0)
    kiosk = _build(cfg, face_folder(tmp_path, photos), VisionPipeline(cfg), health)
    notify = NotifySocket(tmp_path)
    port = free_port()
    seen: dict = {}

    def scrape_healthy() -> str:
        text = http_get(port, "/metrics")[1].decode()
        return next(line for line in text.splitlines() if line.startswith("kiosk_healthy "))

    def step(quit):
        notify.drain()
        if notify.pings() < 3 or not health.healthy():
            return
        seen["before"] = scrape_healthy()
        # The GUI thread is held here, as by a slot that blocks; the metrics server answers
        # from its own thread. Held until /health says unhealthy (or 10 s: the test fails).
        blocked_at = time.monotonic()
        deadline = blocked_at + 10.0
        while time.monotonic() < deadline and health_json(port)[0] != 503:
            threading.Event().wait(0.05)
        seen["health"] = health_json(port)
        seen["metrics"] = scrape_healthy()
        seen["pings_while_blocked"] = notify.pings(since=blocked_at + 0.01)
        quit(0)

    try:
        code = serve_with(
            kiosk, step, timeout_s=60, watchdog=Watchdog(env=notify.env), metrics_port=port, health_interval_ms=50
        )
    finally:
        notify.close()
    assert code == 0, seen
    assert seen["before"] == "kiosk_healthy 1.0"
    assert seen["health"][0] == 503 and "engine" in seen["health"][1]["stale"], "the engine ticks on the GUI loop"
    assert seen["pings_while_blocked"] == 0, "the pings ride the GUI loop: none while it is blocked"
    assert seen["metrics"] == "kiosk_healthy 0.0", "the scrape agrees with /health"


def test_metrics_and_health_over_http_on_loopback(app, state_dir, tmp_path, photos):
    cfg = session_cfg(state_dir)
    health = Health()
    reporter = ListReporter()
    kiosk = _build(cfg, face_folder(tmp_path, photos), VisionPipeline(cfg), health, reporter=reporter)
    port = free_port()
    got: dict = {}

    def step(quit):
        if reporter.records and "metrics" not in got:  # a whole session finished
            got["metrics"] = http_get(port, "/metrics")
            got["health"] = health_json(port)
            got["other"] = http_get(port, "/")
            quit(0)

    assert serve_with(kiosk, step, timeout_s=90, metrics_port=port) == 0, "a session should finish"
    code, body = got["metrics"]
    text = body.decode()
    assert code == 200
    outcome = reporter.records[0].result
    assert f'kiosk_sessions_total{{outcome="{outcome}"}}' in text
    for name in (
        "kiosk_frames_total",
        'kiosk_stage_seconds_bucket{le="0.05",stage="face_mesh"}',
        'kiosk_camera_state{kiosk_camera_state="ok"} 1.0',
        "kiosk_audio_up",
        "kiosk_error_storms_total",
        "kiosk_speech_fallbacks_total",
        "kiosk_healthy 1.0",
    ):
        assert name in text, name
    frames = metrics.REGISTRY.get_sample_value("kiosk_frames_total")
    assert frames and frames >= 15, "level 1 needed at least real_frames analysed frames"
    assert got["health"][0] == 200 and got["health"][1]["camera"] == "ok"
    assert got["other"][0] == 404
    # The pipeline's per-frame timings were moved into the histogram, not kept growing.
    assert sum(len(v) for v in kiosk.pipeline.timings.values()) == 0


def test_metrics_server_binds_loopback_only_and_a_busy_port_is_not_fatal():
    health = Health()
    server = metrics.serve(free_port(), health)
    assert server is not None
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert metrics.serve(server.port, health) is None, "a port in use is logged, the kiosk goes on"
    finally:
        server.stop()


def test_repeated_log_lines_collapse_and_qt_warning_floods_are_capped(app, capfd):
    from PySide6.QtCore import qWarning

    from kiosk.logging_setup import RepeatFilter, install_qt_message_handler

    rf = RepeatFilter(burst=5, window_s=3600.0, budget=100)
    handler = logging.StreamHandler()
    handler.addFilter(rf)
    # Own handlers on the two loggers, not the root: other tests may leave root handlers behind.
    loggers = [logging.getLogger("qt"), logging.getLogger("kiosk.x")]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
        lg.setLevel(logging.WARNING)
    try:
        install_qt_message_handler()
        for fd in range(3000):  # the runaway loop of the issue, with a changing socket number
            qWarning(f"QSocketNotifier: Invalid socket {30 + fd % 7} and type 'Read', disabling...")
        for i in range(300):
            logging.getLogger("kiosk.x").warning("distinct line %s", chr(65 + i % 26) * (i + 1))
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
            lg.propagate = True
            lg.setLevel(logging.NOTSET)
    err = capfd.readouterr().err
    assert err.count("Invalid socket") == 5, "a Qt warning loop is cut to the burst"
    assert len(err.splitlines()) <= 100, "the global budget caps distinct lines too"
    assert rf.suppressed >= 3000 - 5


def test_repeat_filter_says_how_many_were_dropped():
    from kiosk.logging_setup import RepeatFilter
    from kiosk.session.clock import ManualClock

    clock = ManualClock()
    rf = RepeatFilter(burst=2, window_s=10.0, clock=clock.now)

    def rec(msg):
        return logging.LogRecord("kiosk", logging.ERROR, __file__, 1, msg, None, None)

    kept = [r for r in (rec("camera 0 failed") for _ in range(50)) if rf.filter(r)]
    assert len(kept) == 2
    clock.advance(10.0)
    r = rec("camera 0 failed")
    assert rf.filter(r) and r.getMessage() == "[last message repeated 48 times] camera 0 failed"


@pytest.fixture
def root_logging():
    """configure_logging replaces the root logger's handlers: put the test run's back after."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield root
    for h in list(root.handlers):
        root.removeHandler(h)
        if h not in saved:
            h.close()
    for h in saved:
        root.addHandler(h)
    root.setLevel(level)


def test_a_log_file_that_cannot_be_opened_does_not_stop_the_kiosk(root_logging, tmp_path, capfd):
    """KIOSK_LOG_FILE in a folder that does not exist or may not be written (ProtectSystem=strict
    makes /var/log read-only for the service): every command died with a traceback before doing
    anything, and systemd restarted `run` into the same traceback every 3 s."""
    from kiosk.logging_setup import configure_logging

    path = tmp_path / "no-such-folder" / "kiosk.log"
    configure_logging("INFO", str(path))
    logging.getLogger("kiosk.x").warning("a session ended")
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert "KIOSK_LOG_FILE" in err and str(path) in err, "the operator is told which setting and why"
    assert "a session ended" in err, "the log still reaches stderr (the journal)"


def test_a_full_disk_under_the_log_file_is_said_once_not_as_a_traceback_per_line(root_logging, tmp_path, capfd):
    """The log file's disk filling up: logging printed a 12-line "--- Logging error ---"
    traceback to the journal for every line the kiosk logged, for as long as the disk stayed full."""
    import errno
    import logging.handlers

    from kiosk.logging_setup import RepeatFilter, configure_logging

    path = tmp_path / "kiosk.log"
    configure_logging("INFO", str(path), RepeatFilter(burst=100))  # all twenty lines of one kind pass
    (file_handler,) = [h for h in root_logging.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]

    class Disk:  # the file's stream, with the disk full while `full` is set
        def __init__(self, stream):
            self.stream, self.full = stream, True

        def write(self, text):
            if self.full:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.stream.write(text)

        def __getattr__(self, name):  # seek, tell, flush, close: the real file's
            return getattr(self.stream, name)

    disk = Disk(file_handler.stream)
    file_handler.stream = disk
    log = logging.getLogger("kiosk.x")
    for i in range(20):
        log.warning("session s%d ended", i)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    assert err.count(str(path)) == 1 and "No space left" in err, "said once, naming the file and why"
    assert "session s19 ended" in err, "the lines still reach stderr (the journal)"
    disk.full = False
    log.warning("session s20 ended")
    err = capfd.readouterr().err
    assert "session s20 ended" in path.read_text(), "the file is written again once there is space"
    assert str(path) in err and "20" in err, "the recovery is said, with how many lines the file misses"


def test_the_stuck_kiosk_of_the_field_report_is_out_of_service_or_restarts(tmp_path, photos):
    """The field case: challenges limited to gestures with the gesture model missing. Once level 1
    passed, every frame raised (1,307 tracebacks in 50 s) and WATCHDOG=1 was still sent. Now the
    kiosk either shows "out of service" from the start (said by /health and /metrics, no
    traceback) or, if it gets stuck anyway, goes out of service after an error storm and exits 70,
    sending no WATCHDOG=1 after that."""
    import subprocess
    import sys

    from conftest import kiosk_process_env

    faces = face_folder(tmp_path, photos)
    home = tmp_path / "home"
    home.mkdir()
    site = tmp_path / "site.toml"
    site.write_text(
        '[liveness]\nreal_frames = 15\n[challenges]\nkinds = ["gesture"]\n'
        f'[gesture]\nmodel = "{tmp_path}/missing/gesture.tflite"\n[session]\nauto_start_s = 0.5\n'
        f'[verdict]\nkey_path = "{tmp_path}/device.key"\n'
    )
    notify = NotifySocket(tmp_path)
    port = free_port()
    env = kiosk_process_env(home, KIOSK_LOG="INFO", **notify.env)
    seen: dict = {}
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk",
                "--config",
                str(site),
                "run",
                "--source",
                str(faces),
                "--metrics-port",
                str(port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        captured: dict = {}
        reader = threading.Thread(target=lambda: captured.update(err=proc.stderr.read()), daemon=True)
        reader.start()
        deadline = time.monotonic() + 180
        while proc.poll() is None and time.monotonic() < deadline:
            notify.drain()  # like systemd: read as they come (the socket queue is short)
            if "READY=1" in [m for _, m in notify.messages] and "health" not in seen:
                code, status = health_json(port)
                if status.get("out_of_service"):
                    seen["health"] = (code, status)
                    seen["metrics"] = http_get(port, "/metrics")[1].decode()
                    ready_at = next(t for t, m in notify.messages if m == "READY=1")
                    seen["pings"] = notify.pings(since=ready_at)
                    proc.send_signal(signal.SIGTERM)
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(timeout=10)
        messages = [m for _, m in notify.drain()]
    finally:
        notify.close()
    err = captured["err"]
    assert err.count("Traceback") <= 5, "each distinct error is logged once, repeats are counted"
    if "health" in seen:  # out of service from the start: healthy (a restart would not help), and said so
        assert proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err
        assert seen["health"][0] == 200 and "gesture" in seen["health"][1]["out_of_service"]
        assert "kiosk_out_of_service 1.0" in seen["metrics"]
        assert seen["pings"] > 0
    else:
        assert proc.returncode == 70, err[-3000:]
        out = next((i for i, m in enumerate(messages) if m.startswith("STATUS=out of service")), None)
        assert out is not None, messages
        assert "WATCHDOG=1" not in messages[out:], "no ping once out of service"
        assert "error storm" in err
