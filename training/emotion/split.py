"""Deterministic, stratified train / val / test split of fer2013_train.npz (numpy only).

FER2013 has no subject ids, but it does contain exact duplicate images (the same photo scraped
twice, sometimes with different labels). Duplicates are grouped by a hash of their pixels and a
whole group always lands in one split, so no image seen in training is "held out" later.

- val  (10 %): early stopping, temperature calibration, recall that the kiosk reads.
- test (10 %): touched only by evaluate.py for the report.

Run as a script to print the split sizes:  python training/emotion/split.py ../shared/datasets
Tests import this file by path (it needs nothing but numpy) to recompute the same split.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

SEED = 20261122
VAL_FRACTION = 0.10
TEST_FRACTION = 0.10
NPZ_NAME = "fer2013_train.npz"


def load_fer(datasets_dir: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    data = np.load(Path(datasets_dir) / NPZ_NAME)
    return data["images"], data["labels"].astype(np.int64), [str(c) for c in data["classes"]]


def _duplicate_groups(images: np.ndarray) -> np.ndarray:
    """Group id per image; identical pixel arrays share one id."""
    seen: dict[bytes, int] = {}
    groups = np.empty(len(images), dtype=np.int64)
    for i, img in enumerate(images):
        key = hashlib.blake2b(np.ascontiguousarray(img).tobytes(), digest_size=16).digest()
        groups[i] = seen.setdefault(key, len(seen))
    return groups


def split_indices(
    images: np.ndarray,
    labels: np.ndarray,
    seed: int = SEED,
    val_fraction: float = VAL_FRACTION,
    test_fraction: float = TEST_FRACTION,
) -> dict[str, np.ndarray]:
    """Return {"train", "val", "test"} index arrays, stratified by the label of each duplicate group."""
    groups = _duplicate_groups(images)
    n_groups = int(groups.max()) + 1
    # A group's label is that of its first member (label conflicts inside a group are rare).
    first = np.full(n_groups, -1, dtype=np.int64)
    for i in range(len(groups) - 1, -1, -1):
        first[groups[i]] = i
    group_label = labels[first]
    rng = np.random.default_rng(seed)
    assign = np.zeros(n_groups, dtype=np.int8)  # 0 train, 1 val, 2 test
    for cls in np.unique(group_label):
        members = np.flatnonzero(group_label == cls)
        members = members[rng.permutation(len(members))]
        n_val = int(round(len(members) * val_fraction))
        n_test = int(round(len(members) * test_fraction))
        assign[members[:n_val]] = 1
        assign[members[n_val : n_val + n_test]] = 2
    per_image = assign[groups]
    return {name: np.flatnonzero(per_image == k) for k, name in enumerate(("train", "val", "test"))}


def main(argv: list[str]) -> None:
    datasets = argv[1] if len(argv) > 1 else "../shared/datasets"
    images, labels, classes = load_fer(datasets)
    parts = split_indices(images, labels)
    n_dup = len(images) - (int(_duplicate_groups(images).max()) + 1)
    print(f"{len(images)} images, {n_dup} exact duplicates kept inside one split")
    for name, idx in parts.items():
        counts = np.bincount(labels[idx], minlength=len(classes))
        print(f"{name:5s} {len(idx):6d}  " + "  ".join(f"{c}={n}" for c, n in zip(classes, counts)))


if __name__ == "__main__":
    main(sys.argv)
