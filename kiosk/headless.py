"""The session without a screen: `kiosk verify` and `kiosk bench` over a video or image folder.

Time comes from the frames (index / fps), not the wall clock, so a recording gives the same
verdict on a fast or a slow machine.
"""

from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path

from .pool import challenge_pool
from .session.catalogue import Challenge
from .session.challenges import ChallengeDrawer
from .session.clock import ManualClock
from .session.engine import EngineSettings, SessionEngine, State
from .session.events import ALL_NEEDS
from .vision.pipeline import VisionPipeline
from .vision.sources import SourceError, open_source


class ScriptedDrawer(ChallengeDrawer):
    """Draws challenges in a fixed order: for recordings made to a script."""

    def __init__(self, pool, order: list[str]):
        super().__init__(pool)
        by_id = {c.id: c for c in self.pool}
        missing = [cid for cid in order if cid not in by_id]
        if missing:
            raise ValueError(
                f"scripted challenges not available: {', '.join(missing)} (available: {', '.join(sorted(by_id))})"
            )
        self._order = [by_id[cid] for cid in order]
        self._i = 0

    def draw(self, excluded_kinds=(), previous=None) -> Challenge:
        challenge = self._order[self._i % len(self._order)]
        self._i += 1
        return challenge


def parse_script(spec: str) -> list[str]:
    """'head_pose:left,gesture:like' or a file with one challenge id per line (# comments)."""
    path = Path(spec)
    text = path.read_text() if path.is_file() else spec.replace(",", "\n")
    ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    ids = [i for i in ids if i]
    if not ids:
        raise ValueError(f"empty challenge script: {spec!r}")
    return ids


def run_verify(
    cfg,
    source: str,
    script: str | None = None,
    hold: int = 1,
    fps: int | None = None,
    pipeline: VisionPipeline | None = None,
    rng=None,
) -> dict:
    own_pipeline = pipeline is None
    pipeline = pipeline or VisionPipeline(cfg)
    src = open_source(source, cfg.camera.width, cfg.camera.height, fps or cfg.camera.fps, hold=hold)
    pool, notes = challenge_pool(cfg, pipeline)
    clock = ManualClock()
    engine = SessionEngine(EngineSettings.from_config(cfg), pool, clock, rng=rng)
    if script:
        engine.drawer = ScriptedDrawer(pool, parse_script(script))
    wall0 = time.perf_counter()
    frames = 0
    events: list[str] = []
    try:
        if cfg.liveness.real_frames and pipeline.liveness is None:
            return _verdict(
                "error",
                f"liveness model unavailable: {pipeline.models['liveness'].error}",
                engine,
                pipeline,
                notes,
                frames,
                wall0,
                source,
                events,
            )
        if not pool:
            return _verdict(
                "error", "no challenge can be drawn", engine, pipeline, notes, frames, wall0, source, events
            )
        events += [e.name for e in engine.start()]
        while engine.state not in (State.PASSED, State.DENIED):
            frame = src.read()
            if frame is None:
                break
            clock.set(frame.t)
            obs = pipeline.process(frame.image, engine.needs())
            frames += 1
            events += [e.name for e in engine.feed(obs)]
            if engine.state == State.IDLE:  # abandoned (face lost or cancelled)
                break
    finally:
        src.close()
        if own_pipeline:
            pipeline.close()
    record = engine.last_record or engine.record
    if engine.state == State.PASSED:
        verdict, reason = "pass", ""
    elif record is not None and record.result:
        verdict, reason = "fail", record.reason
    else:
        verdict, reason = "incomplete", "source ended before a verdict"
    return _verdict(verdict, reason, engine, pipeline, notes, frames, wall0, source, events)


def _verdict(verdict, reason, engine, pipeline, notes, frames, wall0, source, events) -> dict:
    record = engine.last_record or engine.record
    out = {
        "verdict": verdict,
        "reason": reason,
        "source": str(source),
        "frames": frames,
        "wall_s": round(time.perf_counter() - wall0, 3),
        "models": {
            n: {"available": s.available, "version": s.version, "error": s.error} for n, s in pipeline.models.items()
        },
        "left_out": notes,
        "events": events,
    }
    if record is not None:
        out["session"] = record.to_dict()
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_bench(cfg, source: str, frames: int = 200, hold: int = 1) -> dict:
    """Per-stage latency with every detector on, frames per second, and peak RSS.
    Raises SourceError (a RuntimeError) when the source cannot be opened or gives no frame."""
    if frames < 1:
        raise ValueError(f"--frames must be at least 1, not {frames}")
    src = open_source(source, cfg.camera.width, cfg.camera.height, cfg.camera.fps, hold=hold, loop=True)
    pipeline = VisionPipeline(cfg)
    needs = ALL_NEEDS
    totals = []
    try:
        for _ in range(frames):
            frame = src.read()
            if frame is None:
                break
            t0 = time.perf_counter()
            pipeline.process(frame.image, needs)
            totals.append((time.perf_counter() - t0) * 1000.0)
    finally:
        src.close()
        pipeline.close()
    if not totals:
        raise SourceError(f"no readable frame in {source}")
    stages = {
        name: {"median_ms": round(statistics.median(v), 3), "p95_ms": round(_pct(v, 0.95), 3), "n": len(v)}
        for name, v in pipeline.timings.items()
        if v
    }
    return {
        "source": str(source),
        "frames": len(totals),
        "stages": stages,
        "frame_median_ms": round(statistics.median(totals), 3) if totals else None,
        "frame_p95_ms": round(_pct(totals, 0.95), 3) if totals else None,
        "fps": round(1000.0 / statistics.mean(totals), 2) if totals else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "models": {n: s.available for n, s in pipeline.models.items()},
    }
