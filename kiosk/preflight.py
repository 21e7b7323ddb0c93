"""What `check-config` and `run` both check once the config is valid: the models load and the
challenge pool is not empty. One function, so a config that `check-config` passes cannot put
`run` out of service for a reason it did not report, and the other way round."""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import Config
from .pool import challenge_pool
from .session.catalogue import Challenge
from .vision.pipeline import VisionPipeline


@dataclass
class Preflight:
    pool: list[Challenge]
    notes: list[str] = field(default_factory=list)  # challenges left out (logged by run)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (config key, reason): no session possible
    missing_models: list[tuple[str, str]] = field(default_factory=list)  # configured, not loadable

    def out_of_service(self) -> str:
        """The reason shown on the out-of-service screen ("" when sessions can run)."""
        return "; ".join(reason for _, reason in self.problems)


def preflight(cfg: Config, pipeline: VisionPipeline) -> Preflight:
    pool, notes = challenge_pool(cfg, pipeline)
    result = Preflight(list(pool), list(notes))
    needed = {
        "liveness": cfg.liveness.real_frames > 0,
        "gesture": "gesture" in cfg.challenges.kinds,
        "emotion": "emotion" in cfg.challenges.kinds,
    }
    for name, status in pipeline.models.items():
        if needed.get(name) and not status.available:
            result.missing_models.append((f"{name}.model", f"cannot load {status.path}: {status.error}"))
    if not pipeline.models["liveness"].available:
        result.problems.append(("liveness.model", "liveness model missing"))
    if not pool:
        kinds = ", ".join(cfg.challenges.kinds)  # the notes say why; check-config prints them
        result.problems.append(("challenges.kinds", f"no challenge can be drawn ({kinds})"))
    return result
