"""Exact and near-duplicate faces in fer2013_train.npz (numpy + OpenCV, ~1-2 min on one core).

FER2013 was scraped from the web: the same photo appears several times, re-encoded, re-cropped by a
few pixels, brightened, or mirrored. A validation face whose twin is in training measures memory,
not recognition, so duplicates are grouped and a group never straddles a split.

Two witnesses, each a pair test on the 48x48 images:
1. exact: identical pixels (blake2b hash).
2. near: Pearson correlation >= NEAR_CORRELATION between 16x16 area-downscaled copies (brightness
   and contrast do not matter, small shifts and re-encoding barely do), also against the mirrored
   copy. The threshold was set by looking at random pairs in bands (montage written by `--montage`):
   at 0.95 and above they are the same photo; 0.93-0.95 are mostly the same person in the same
   photo series (another frame, another crop), which also must not straddle a split; below 0.93
   different people in the same pose start to dominate. Grouping two different people costs
   nothing but a little randomness, so the lower, conservative 0.93 is used. (Union-find chains
   grow fast below it: the largest group is 68 images at 0.93, 202 at 0.92, 680 at 0.90.)
Pairs are joined into groups with union-find (a chain a~b~c is one group).

The held-out split (`heldout_split`): the shipped CNN was trained on split.py's "train" part, so
only split.py's val + test images are unseen by it. Of those, every image whose duplicate group
touches the CNN's training images is dropped; the rest is split by group, stratified by label,
50/50 into `head_train` (fits the fusion head, picks its thresholds by cross-validation) and
`validation` (every reported figure).

    python training/emotion/dedup.py ../shared/datasets [--montage artifacts/emotion/dup_pairs.png]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from split import load_fer, split_indices  # noqa: E402

NEAR_CORRELATION = 0.93
HELDOUT_SEED = 20261201
SMALL = 16
BLOCK = 2048


def exact_groups(images: np.ndarray) -> np.ndarray:
    seen: dict[bytes, int] = {}
    out = np.empty(len(images), np.int64)
    for i, img in enumerate(images):
        key = hashlib.blake2b(np.ascontiguousarray(img).tobytes(), digest_size=16).digest()
        out[i] = seen.setdefault(key, len(seen))
    return out


def small_vectors(images: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """Zero-mean, unit-norm 16x16 copies: their dot product is the Pearson correlation."""
    vecs = np.empty((len(images), SMALL * SMALL), np.float32)
    for i, img in enumerate(images):
        v = cv2.resize(img[:, ::-1] if mirrored else img, (SMALL, SMALL), interpolation=cv2.INTER_AREA)
        v = v.astype(np.float32).ravel()
        v -= v.mean()
        vecs[i] = v / max(float(np.linalg.norm(v)), 1e-6)
    return vecs


def near_pairs(images: np.ndarray, threshold: float = NEAR_CORRELATION) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) pairs with i < j whose small copies (or one mirrored) correlate >= threshold, and the value."""
    a, m = small_vectors(images), small_vectors(images, mirrored=True)
    pairs, values = [], []
    for s in range(0, len(a), BLOCK):
        block = a[s : s + BLOCK]
        sim = np.maximum(block @ a.T, block @ m.T)
        i, j = np.nonzero(sim >= threshold)
        i = i + s
        keep = i < j
        pairs.append(np.stack([i[keep], j[keep]], 1))
        values.append(sim[i[keep] - s, j[keep]])
    return np.concatenate(pairs), np.concatenate(values)


def union_find(n: int, pairs: np.ndarray) -> np.ndarray:
    parent = np.arange(n)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        ri, rj = root(int(i)), root(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([root(i) for i in range(n)])
    _, groups = np.unique(roots, return_inverse=True)
    return groups


def duplicate_groups(images: np.ndarray, threshold: float = NEAR_CORRELATION) -> tuple[np.ndarray, dict]:
    """Group id per image (exact or near duplicates share one) and counts for the model card."""
    exact = exact_groups(images)
    first_of: dict[int, int] = {}
    exact_pairs = []
    for i, g in enumerate(exact):
        if int(g) in first_of:
            exact_pairs.append((first_of[int(g)], i))
        else:
            first_of[int(g)] = i
    near, _ = near_pairs(images, threshold)
    all_pairs = np.concatenate([np.array(exact_pairs, np.int64).reshape(-1, 2), near])
    groups = union_find(len(images), all_pairs)
    n_exact_groups = int(exact.max()) + 1
    sizes = np.bincount(groups)
    stats = {
        "images": len(images),
        "exact_duplicate_images": int(len(images) - n_exact_groups),  # images beyond the first copy
        "near_pairs": len(near),
        "near_threshold": threshold,
        "groups": len(sizes),
        "images_in_groups_of_2_plus": int(sizes[sizes > 1].sum()),
        "duplicate_images_total": int(len(images) - len(sizes)),  # removable beyond one per group
        "largest_group": int(sizes.max()),
    }
    return groups, stats


def heldout_split(
    images: np.ndarray, labels: np.ndarray, groups: np.ndarray, seed: int = HELDOUT_SEED
) -> dict[str, np.ndarray]:
    """{"cnn_train", "dropped", "head_train", "validation"} index arrays (see the module doc)."""
    old = split_indices(images, labels)
    cnn_groups = np.zeros(int(groups.max()) + 1, bool)
    cnn_groups[groups[old["train"]]] = True
    heldout = np.sort(np.concatenate([old["val"], old["test"]]))
    leaked = cnn_groups[groups[heldout]]
    kept = heldout[~leaked]
    # one label per group (its first member), then a stratified 50/50 draw of whole groups
    kept_groups, first = np.unique(groups[kept], return_index=True)
    group_label = labels[kept][first]
    rng = np.random.default_rng(seed)
    to_validation = np.zeros(int(groups.max()) + 1, bool)
    for cls in np.unique(group_label):
        members = kept_groups[group_label == cls]
        members = members[rng.permutation(len(members))]
        to_validation[members[: len(members) // 2]] = True
    in_val = to_validation[groups[kept]]
    return {
        "cnn_train": old["train"],
        "dropped": heldout[leaked],
        "head_train": kept[~in_val],
        "validation": kept[in_val],
    }


def montage(images: np.ndarray, path: Path, rng: np.random.Generator) -> None:
    """Random pairs in correlation bands 0.90-0.93-0.95-0.97-1.0, one band per row block, to set the threshold."""
    pairs, vals = near_pairs(images, 0.90)
    bands = [(0.90, 0.93), (0.93, 0.95), (0.95, 0.97), (0.97, 1.01)]
    rows = []
    for lo, hi in bands:
        sel = np.flatnonzero((vals >= lo) & (vals < hi))
        pick = rng.choice(sel, min(8, len(sel)), replace=False) if len(sel) else []
        tiles = [np.hstack([images[pairs[k, 0]], images[pairs[k, 1]], np.full((48, 4), 255, np.uint8)]) for k in pick]
        tiles += [np.zeros((48, 100), np.uint8)] * (8 - len(tiles))
        row = np.hstack(tiles)
        label = np.full((14, row.shape[1]), 255, np.uint8)
        cv2.putText(
            label,
            f"correlation {lo:.2f}-{min(hi, 1.0):.2f} (n={len(sel)})",
            (2, 11),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35,
            0,
            1,
        )
        rows += [label, row]
    cv2.imwrite(str(path), cv2.resize(np.vstack(rows), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets")
    ap.add_argument("--montage", default="")
    ap.add_argument("--out", default="", help="write groups, counts and the held-out split (.npz)")
    args = ap.parse_args(argv)
    images, labels, _ = load_fer(args.datasets)
    if args.montage:
        montage(images, Path(args.montage), np.random.default_rng(0))
        print(f"wrote {args.montage}")
    groups, stats = duplicate_groups(images)
    parts = heldout_split(images, labels, groups)
    stats.update({f"n_{k}": len(v) for k, v in parts.items()})
    print(json.dumps(stats))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.out, groups=groups, stats=json.dumps(stats), **parts)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
