"""Validation splits. The datasets carry no subject ids, so:

- blocked folds: for every (source, class) the rows are cut, in file order, into K contiguous
  blocks; fold k validates on block k of every class. Rows are recorded in sessions (kinivi's are
  consecutive webcam frames), so a contiguous block keeps most of one recording out of training.
  `gap` rows either side of the block are also dropped from training (neighbouring frames).
  Rows from collect.py carry a subject id and are split by subject instead.
- cross-dataset: train on one dataset, validate on the other (different people, cameras and
  annotation pipelines): the closest thing to "unseen subjects" available here.
"""

from __future__ import annotations

import numpy as np


def blocked_folds(ds, k: int = 5, gap: int = 10):
    """Yields (train_idx, val_idx) for k folds."""
    n = len(ds)
    for fold in range(k):
        val = np.zeros(n, bool)
        drop = np.zeros(n, bool)
        for key in set(zip(ds.source, ds.y, strict=True)):
            idx = np.flatnonzero((ds.source == key[0]) & (ds.y == key[1]))
            if key[0] == "collected":
                continue
            order = ds.order[idx]
            m = len(idx)
            lo, hi = fold * m // k, (fold + 1) * m // k
            val[idx[(order >= lo) & (order < hi)]] = True
            drop[idx[((order >= lo - gap) & (order < lo)) | ((order >= hi) & (order < hi + gap))]] = True
        collected = ds.source == "collected"
        if collected.any():
            subjects = np.unique(ds.group[collected])
            held = set(subjects[fold::k])
            val |= collected & np.isin(ds.group, list(held))
        yield np.flatnonzero(~val & ~drop), np.flatnonzero(val)


def cross_dataset(ds, train_source: str, val_source: str):
    return np.flatnonzero(ds.source == train_source), np.flatnonzero(ds.source == val_source)
