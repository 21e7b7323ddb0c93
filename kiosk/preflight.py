"""What `check-config` and `run` both check once the config is valid: the models load and the
challenge pool is not empty. One function, so a config that `check-config` passes cannot put
`run` out of service for a reason it did not report, and the other way round."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Preflight:
    pool: list[Any]
    notes: list[str] = field(default_factory=list)        # challenges left out (logged by run)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (config key, reason): no session possible
    missing_models: list[tuple[str, str]] = field(default_factory=list)  # configured, not loadable

    def out_of_service(self) -> str:
        """The reason shown on the out-of-service screen ("" when sessions can run)."""
        return "; ".join(reason for _, reason in self.problems)


def build_pool(cfg: Any, pipeline: Any) -> tuple[list[Any], list[str]]:
    """The challenge pool from the config and the loaded models, with a note per challenge left out.

    The one place the pool is built for `check-config` and `run`: when the challenge catalogue
    moves into kiosk/session/catalogue.py, this calls its builder instead of the pipeline's.
    """
    return pipeline.challenge_pool()


def preflight(cfg: Any, pipeline: Any) -> Preflight:
    pool, notes = build_pool(cfg, pipeline)
    result = Preflight(list(pool), list(notes))
    needed = {"liveness": cfg.liveness.real_frames > 0, "gesture": "gesture" in cfg.challenges.kinds,
              "emotion": "emotion" in cfg.challenges.kinds}
    for name, status in pipeline.models.items():
        if needed.get(name) and not status.available:
            result.missing_models.append((f"{name}.model", f"cannot load {status.path}: {status.error}"))
    if not pipeline.models["liveness"].available:
        result.problems.append(("liveness.model", "liveness model missing"))
    if not pool:
        kinds = ", ".join(cfg.challenges.kinds)
        why = "; ".join(notes) or "no challenge of these kinds"
        result.problems.append(("challenges.kinds", f"no challenge can be drawn from [{kinds}]: {why}"))
    return result
