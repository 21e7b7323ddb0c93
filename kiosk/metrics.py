"""What operators of many kiosks plug into their monitoring: Prometheus metrics on
http://127.0.0.1:PORT/metrics and a health check on /health (200 healthy, 503 not), loopback only.

The metric objects live here, at module level, so any part can count without plumbing:
    from kiosk import metrics
    metrics.speech_fallbacks.labels(engine="azure", reason="timeout").inc()
They are registered in REGISTRY (not prometheus_client's global one): the process exposes only
the kiosk's own figures, and tests read them with REGISTRY.get_sample_value(...).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    from .health import Health

log = logging.getLogger(__name__)

# The port is `metrics.port` (0 turns the server off). Bound to 127.0.0.1 only: a fleet scrapes
# it through its own agent on the kiosk, never over the network.
HOST = "127.0.0.1"

REGISTRY = CollectorRegistry(auto_describe=True)

sessions = Counter(
    "kiosk_sessions", "Sessions finished, by outcome (passed, denied, abandoned)", ["outcome"], registry=REGISTRY
)
frames = Counter(
    "kiosk_frames", "Camera frames analysed by the vision pipeline (rate() = frames per second)", registry=REGISTRY
)
frames_read = Counter(
    "kiosk_frames_read", "Camera frames read, analysed or not (idle screens skip some)", registry=REGISTRY
)
observations_dropped = Counter(
    "kiosk_observations_dropped",
    "Analysed frames the session engine never judged: the GUI thread was behind (stalled) and newer ones took their place",
    registry=REGISTRY,
)
stage_seconds = Histogram(
    "kiosk_stage_seconds",
    "Vision pipeline stage latency",
    ["stage"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0),
)
camera_state = Enum(
    "kiosk_camera_state",
    "Camera: ok, lost (unplugged, no frames), frozen (identical frames)",
    states=["starting", "ok", "lost", "frozen"],
    registry=REGISTRY,
)
camera_losses = Counter("kiosk_camera_losses", "Times the camera was lost or froze", ["reason"], registry=REGISTRY)
audio_up = Gauge("kiosk_audio_up", "1 while an audio output is available for spoken prompts", registry=REGISTRY)
# For the speech layer to count: a prompt or command that fell back from one engine to the next,
# and a failure of an engine (synthesis, recognition or playback).
speech_fallbacks = Counter(
    "kiosk_speech_fallbacks", "Speech requests served by a fallback engine", ["engine", "reason"], registry=REGISTRY
)
speech_errors = Counter("kiosk_speech_errors", "Speech engine failures", ["engine", "kind"], registry=REGISTRY)
# For the verdict reporter: what became of each signed record at its delivery, and how many wait
# for the host (spooled or, with the disk full, in memory): an operator alerts on these.
verdicts = Counter(
    "kiosk_verdicts",
    "Verdict records at delivery: delivered, not_delivered (waiting, or set aside as refused), unsigned",
    ["result"],
    registry=REGISTRY,
)
verdicts_waiting = Gauge("kiosk_verdicts_waiting", "Verdict records waiting for the host", registry=REGISTRY)
errors = Counter("kiosk_errors", "Unexpected exceptions, by where they were caught", ["where"], registry=REGISTRY)
error_storms = Counter(
    "kiosk_error_storms",
    "Error storms (the same exception repeating): each one ends the process for a restart",
    registry=REGISTRY,
)
log_suppressed = Counter("kiosk_log_lines_suppressed", "Log lines dropped by the repeat filter", registry=REGISTRY)
out_of_service = Gauge(
    "kiosk_out_of_service",
    "1 while the kiosk shows its out-of-service screen (model or config problem, error storm)",
    registry=REGISTRY,
)
healthy = Gauge(
    "kiosk_healthy", "1 while the watchdog is fed (frames and the session engine are moving)", registry=REGISTRY
)

camera_state.state("starting")


def observe_timings(timings: dict[str, list[float]]) -> None:
    """Moves the pipeline's per-stage latencies (milliseconds) into the histogram and empties the
    lists: they would otherwise grow with every frame for as long as the kiosk runs."""
    for stage, values in timings.items():
        if values:
            h = stage_seconds.labels(stage=stage)
            for ms in values:
                h.observe(ms / 1000.0)
            values.clear()


def render() -> bytes:
    return generate_latest(REGISTRY)


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            if self.server.health is not None:
                # Judged now, as /health is: the GUI loop that also sets it may be the part that
                # is stuck, and would leave the last "1" standing until systemd kills the process.
                healthy.set(1 if self.server.health.healthy() else 0)
            self._send(200, render(), CONTENT_TYPE_LATEST)
        elif path == "/health":
            status: dict[str, Any] = self.server.health.status() if self.server.health else {"healthy": True}
            body = json.dumps(status).encode()
            self._send(200 if status["healthy"] else 503, body, "application/json")
        else:
            self._send(404, b"not found: try /metrics or /health\n", "text/plain")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # scrapes every few seconds: not worth a log line
        pass


class MetricsServer(ThreadingHTTPServer):
    """/metrics and /health on 127.0.0.1 in a daemon thread. `port=0` picks a free port (tests)."""

    daemon_threads = True

    def __init__(self, port: int, health: Health | None = None, host: str = HOST):
        super().__init__((host, port), _Handler)
        self.health = health
        self._thread = threading.Thread(target=self.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


def serve(port: int, health: Health | None = None) -> MetricsServer | None:
    """Starts the server unless port is 0; a port in use is logged, never fatal (the kiosk serves
    people first)."""
    if not port:
        return None
    try:
        return MetricsServer(port, health).start()
    except OSError as exc:
        log.warning("metrics server not started on %s:%d: %s", HOST, port, exc)
        return None
