"""Vision code: frame sources, detectors and models. Knows nothing of Qt."""
