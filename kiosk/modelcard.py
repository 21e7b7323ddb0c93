"""What a shipped model's card (the JSON beside the .tflite) says it was validated to do.

Every model wrapper exposes one `ModelCard`; the challenge catalogue decides from it, with one rule,
which classes may be drawn. The JSON files were written by different training scripts over time,
so reading them is done once, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REAL = "real"
SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    labels: tuple[str, ...]
    # label -> recall measured on held-out data at the runtime's operating point
    validated_recall: Mapping[str, float] = field(default_factory=dict)
    # label -> "real" (measured on real recordings) or "synthetic" (generated data only)
    validated_on: Mapping[str, str] = field(default_factory=dict)
    # labels that mean "nothing asked for" (a hand but no gesture); never drawn
    reject_labels: frozenset[str] = frozenset()

    @classmethod
    def from_meta(
        cls,
        meta: Mapping[str, Any],
        validated_recall: Mapping[str, float] | None = None,
        reject_labels: frozenset[str] = frozenset(),
    ) -> ModelCard:
        """`validated_recall` overrides the JSON's own figures (e.g. recall at another threshold)."""
        labels = tuple(str(label) for label in meta.get("labels", ()))
        recall = {
            str(k): float(v)
            for k, v in (meta.get("validated_recall", {}) if validated_recall is None else validated_recall).items()
        }
        on = meta.get("validated_on", {})
        # A string describes one real held-out set for every class (the emotion card); a mapping
        # says per class whether real data existed (the gesture card).
        validated_on = (
            {label: REAL for label in recall} if isinstance(on, str) else {str(k): str(v) for k, v in on.items()}
        )
        for label in meta.get("synthetic_only", ()):
            validated_on[str(label)] = SYNTHETIC
        return cls(
            str(meta.get("name", "")),
            str(meta.get("version", "")),
            labels,
            recall,
            validated_on,
            frozenset(reject_labels),
        )
