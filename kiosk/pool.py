"""The challenge pool of one kiosk: the site's chosen kinds, drawn through the catalogue's one rule
from the cards of the models that actually loaded. Used by `run`, `verify`, `self-test` and
`check-config`, so all four agree on what can be asked."""

from __future__ import annotations

from .config import Config
from .session.catalogue import Challenge, DrawSource, Kind, build_pool
from .vision.pipeline import VisionPipeline


def challenge_pool(cfg: Config, pipeline: VisionPipeline) -> tuple[list[Challenge], list[str]]:
    """(challenges that may be drawn, a note for each one left out and why)."""
    gesture, emotion = pipeline.models["gesture"], pipeline.models["emotion"]
    sources = {
        Kind.GESTURE: DrawSource(
            pipeline.gesture.card if pipeline.gesture else None, cfg.gesture.min_validated_recall, None, gesture.error
        ),
        Kind.EMOTION: DrawSource(
            pipeline.emotion.card if pipeline.emotion else None,
            cfg.emotion.min_validated_recall,
            cfg.emotion.allowed,
            emotion.error,
        ),
    }
    return build_pool(cfg.challenges.kinds, sources)
