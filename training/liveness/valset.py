"""The subject-disjoint validation set, built the same way for every model that is evaluated.

Kinds: "real" (val subjects' live frames as recorded), "real_hard" (the same frames through capture
augmentation: blur, bright light, under-exposure, colour cast, noise, JPEG), "print" (val subjects'
NUAA photo attacks), "screen" (synthetic replays of the val subjects' live frames, fixed seed, same
generator as training) and "screen_fine" (the generator with a finer, fainter pixel grid than any
training sample: a modern high-density panel - a partly out-of-distribution screen attack).
Each row keeps its NUAA session id and frame number so sessions can be replayed in order.
"""

from __future__ import annotations

import zlib

import augment
import data
import numpy as np

VAL_SEED = 12345


def recording_id(index, i) -> str:
    """One NUAA recording = subject + class + session (session ids repeat across subjects)."""
    return f"{index['subject'][i]}_{index['session'][i]}"


def build(frames, index, scale: float, size: int = 80, adjust=None):
    val = data.split_mask(index)
    rng = np.random.default_rng(VAL_SEED)
    rows = np.where(val)[0]
    real_rows = rows[index["label"][rows] == 1]
    print_rows = rows[index["label"][rows] == 0]
    out = {}

    def crops(imgs, boxes):
        return data.make_crops(imgs, {"bbox": boxes}, scale, size, adjust=adjust)

    out["real"] = (crops([frames[i] for i in real_rows], index["bbox"][real_rows]), real_rows)
    out["print"] = (crops([frames[i] for i in print_rows], index["bbox"][print_rows]), print_rows)
    # one capture condition (light, blur, colour, noise) per recorded session, as in a real visit
    hard = []
    for i in real_rows:
        seed = VAL_SEED + zlib.crc32(recording_id(index, i).encode())
        hard.append(augment.capture(frames[i], np.random.default_rng(seed), strength=2.0))
    out["real_hard"] = (crops(hard, index["bbox"][real_rows]), real_rows)
    # one display setting per recorded session: a replay attack keeps its screen for the whole attempt
    rec = np.array([recording_id(index, i) for i in real_rows])
    screen_rows = np.concatenate([real_rows[rec == s] for s in np.unique(rec)])
    for kind, fine in (("screen", False), ("screen_fine", True)):
        imgs, boxes = [], []
        for sess in np.unique(rec):
            seed = int(rng.integers(1 << 31))
            bg = frames[int(rng.choice(rows))]
            for i in real_rows[rec == sess]:
                r = np.random.default_rng(seed)  # same screen, glare and placement for every frame
                img, box = augment.screen_replay(frames[i], index["bbox"][i], r, background=bg, fine=fine)
                imgs.append(img)
                boxes.append(box)
        out[kind] = (data.make_crops(imgs, {"bbox": np.array(boxes)}, scale, size, adjust=adjust), screen_rows)
    return out
