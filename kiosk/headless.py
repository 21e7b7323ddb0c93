"""The session without a screen: `kiosk verify` and `kiosk bench` over a video or image folder.

Time comes from the frames (index / fps), not the wall clock, so a recording gives the same
verdict on a fast or a slow machine. Sources scale frames larger than the configured camera mode to
fit it, as a camera gives them: a recording is judged as the kiosk would see it.
"""

from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path
from typing import Any

from .pool import challenge_pool
from .session.catalogue import Challenge, Kind
from .session.challenges import ChallengeDrawer
from .session.clock import ManualClock
from .session.engine import EngineSettings, SessionEngine, State, needs_for
from .session.events import ALL_NEEDS, Need
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
    if frames == 0:  # e.g. a folder whose every image fails to decode: say so, not "incomplete"
        unreadable = sorted(p.name for p in getattr(src, "unreadable", ()))
        detail = f" ({len(unreadable)} unreadable: {', '.join(unreadable[:5])})" if unreadable else ""
        raise SourceError(f"no readable frame in {source}{detail}")
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


# What a session asks of the pipeline, state by state (the engine's own table), and every detector
# at once, which no state asks for: the upper bound.
BENCH_STATES: dict[str, frozenset[Need]] = {
    "idle": needs_for(State.IDLE),
    "liveness": needs_for(State.LIVENESS),
    "challenge_head_pose": needs_for(State.CHALLENGE, Kind.HEAD_POSE),
    "challenge_gesture": needs_for(State.CHALLENGE, Kind.GESTURE),
    "challenge_emotion": needs_for(State.CHALLENGE, Kind.EMOTION),
    "every_detector": ALL_NEEDS,
}


def _latency(values: list[float]) -> dict:
    return {"median_ms": round(statistics.median(values), 3), "p95_ms": round(_pct(values, 0.95), 3), "n": len(values)}


def run_bench(cfg, source: str, frames: int = 200, hold: int = 1) -> dict:
    """Per-state and per-stage latency, frames per second and peak RSS.

    Frames come scaled to fit the configured camera mode (`camera.width` x `camera.height`), as
    every source delivers them: a 1358 x 958 photo would otherwise cost several times what any
    kiosk frame does. Each state runs the same frames through one pipeline, reset between states;
    its first frame, which loads the models that state uses first (the hand model, the Face
    Landmarker), is reported apart as `first_frame_ms`. `ratio_to_idle` compares each state's p95
    with the idle state's (the face model alone) measured in the same run, which is what to compare
    across machines. `by_faces` splits each state's frames by the faces in view (0, 1, 2), each with
    its own ratio to idle's frames of the same count: a session judges only frames with one face.
    The top-level figures are those of `every_detector`.
    Raises SourceError (a RuntimeError) when the source cannot be opened or gives no frame."""
    if frames < 1:
        raise ValueError(f"--frames must be at least 1, not {frames}")
    width, height = cfg.camera.width, cfg.camera.height
    pipeline = VisionPipeline(cfg)
    states: dict[str, dict] = {}
    sizes: set[tuple[int, int]] = set()
    try:
        for name, needs in BENCH_STATES.items():
            src = open_source(source, width, height, cfg.camera.fps, hold=hold, loop=True)
            pipeline.reset()  # timings are cleared after the state's first frame
            totals: list[float] = []
            by_faces: dict[int, list[float]] = {}
            first_ms = None
            try:
                for _ in range(frames + 1):
                    frame = src.read()
                    if frame is None:
                        break
                    sizes.add((frame.image.shape[1], frame.image.shape[0]))
                    t0 = time.perf_counter()
                    seen = pipeline.process(frame.image, needs)
                    elapsed = (time.perf_counter() - t0) * 1000.0
                    if first_ms is None:
                        first_ms = elapsed
                        pipeline.timings.clear()
                    else:
                        totals.append(elapsed)
                        by_faces.setdefault(seen.faces, []).append(elapsed)
            finally:
                src.close()
            if first_ms is None:
                raise SourceError(f"no readable frame in {source}")
            entry: dict[str, Any] = {"needs": sorted(n.value for n in needs), "first_frame_ms": round(first_ms, 3)}
            if totals:
                entry.update(_latency(totals))
                entry["stages"] = {stage: _latency(v) for stage, v in pipeline.timings.items() if v}
                # Split by faces in view: a session judges only frames with one face, and a folder of
                # sample photos can hold more two-face frames than a kiosk camera sees.
                entry["by_faces"] = {str(k): _latency(v) for k, v in sorted(by_faces.items())}
                entry["fps"] = round(1000.0 / statistics.mean(totals), 2)
            states[name] = entry
    finally:
        pipeline.close()
    idle = states["idle"]
    for entry in states.values():
        if idle.get("p95_ms") and "p95_ms" in entry:
            entry["ratio_to_idle"] = round(entry["p95_ms"] / idle["p95_ms"], 2)
        for faces, split in entry.get("by_faces", {}).items():
            idle_split = idle.get("by_faces", {}).get(faces)
            if idle_split and idle_split["p95_ms"]:
                split["ratio_to_idle"] = round(split["p95_ms"] / idle_split["p95_ms"], 2)
    every = states["every_detector"]
    return {
        "source": str(source),
        "frame_sizes": sorted(f"{w}x{h}" for w, h in sizes),
        "frames": every.get("n", 0),
        "states": states,
        "stages": every.get("stages", {}),
        "frame_median_ms": every.get("median_ms"),
        "frame_p95_ms": every.get("p95_ms"),
        "fps": every.get("fps"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "models": {n: s.available for n, s in pipeline.models.items()},
    }
