"""Keeps one id per *person* while they stay at the kiosk, so the session can tell when a face was
swapped for another (a photo slid in, a second person stepping in) and when it is the same person
whose box jumped or who was lost for a moment.

Box overlap alone cannot tell: the face mesh loses a face for a frame, a second face is briefly the
larger one, a quick move breaks the overlap. So each track also keeps a cheap identity signature,
the face's own proportions (`geometry_signature`), and a face that comes back after a jump or a gap
with the same proportions gets its old id back. Optionally (`other_person`), a face whose
proportions are far from the tracked one's gets a new id even while the boxes overlap.
Thresholds are measured on NUAA (training/liveness/study_identity.py, models/liveness.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

# Face-mesh points whose mutual distances describe the face's proportions and move little with
# expression: eye corners, brows, nose bridge / tip / base / wings, cheeks, ears, jaw, chin, forehead.
# Lips and eyelids are left out (smiles, speech and blinks move them). Of the sets compared on NUAA
# this one separated people best (training/liveness/study_runtime_signals.py).
SIGNATURE_POINTS = (
    33,
    133,
    362,
    263,
    70,
    300,
    168,
    6,
    1,
    2,
    98,
    327,
    234,
    454,
    172,
    397,
    152,
    10,
    109,
    338,
    4,
    5,
    195,
    197,
    129,
    358,
    50,
    280,
    127,
    356,
    162,
    389,
    136,
    365,
    148,
    377,
)
_PAIRS = np.array([(i, j) for i in range(len(SIGNATURE_POINTS)) for j in range(i + 1, len(SIGNATURE_POINTS))])


def geometry_signature(landmarks: np.ndarray) -> np.ndarray:
    """Distances between SIGNATURE_POINTS in 3D (MediaPipe's z is in x's scale), divided by their
    mean: independent of the face's size and position and, in 3D, much less of its pose."""
    p = np.asarray(landmarks, np.float64)[list(SIGNATURE_POINTS), :3]
    d = np.linalg.norm(p[_PAIRS[:, 0]] - p[_PAIRS[:, 1]], axis=1)
    return d / max(float(d.mean()), 1e-9)


def signature_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean relative difference of the proportions (0 = identical)."""
    return float(np.mean(np.abs(a - b)))


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _similar_size(a: tuple[int, int, int, int], b: tuple[int, int, int, int], ratio: float) -> bool:
    wa, wb = max(a[2], 1), max(b[2], 1)
    return max(wa, wb) / min(wa, wb) <= ratio


@dataclass
class _Track:
    id: int
    box: tuple[int, int, int, int]
    signature: np.ndarray | None
    last_seen: int  # frame counter
    frames: int = 1


class FaceTracker:
    """The same id while the face box overlaps the last one, or - given signatures - while the face
    that comes back has the same proportions; a new id for a different face.

    Without signatures (`update(box)`) it is a pure overlap tracker: a jump or a gap longer than
    `max_gap_frames` starts a new id.
    """

    def __init__(
        self,
        min_iou: float = 0.3,
        max_gap_frames: int = 5,
        same_person: float = 0.030,
        other_person: float | None = None,
        memory_frames: int = 100,
        smoothing: float = 0.1,
        max_size_ratio: float = 1.5,
    ):
        self.min_iou = min_iou
        self.max_gap_frames = max_gap_frames
        # Signature distance to a track's running mean: below `same_person` a face that jumped or came
        # back is re-identified (NUAA: 2 % of a person's own frames lie above 0.030, 64 % of other
        # people's below it). `other_person`: above it a face is someone else even where the boxes
        # overlap. Off by default: at 0.06 it caught 0.9 % of other people but split 0.14 % of a
        # person's own frames, i.e. about one genuine level-1 attempt in eight would lose its streak.
        self.same_person = same_person
        self.other_person = other_person
        self.memory_frames = memory_frames  # how long a lost person is remembered (4 s at 25 fps)
        self.max_size_ratio = max_size_ratio
        self.smoothing = smoothing
        self._ids = itertools.count(1)
        self._tracks: list[_Track] = []
        self._current: _Track | None = None
        self._frame = 0
        self._missing = 0

    def update(self, box: tuple[int, int, int, int] | None, signature: np.ndarray | None = None) -> int | None:
        self._frame += 1
        self._tracks = [t for t in self._tracks if self._frame - t.last_seen <= self.memory_frames]
        if box is None:
            self._missing += 1
            return None
        track = self._match(box, signature)
        if track is None:
            track = _Track(next(self._ids), box, None if signature is None else signature.copy(), self._frame)
            self._tracks.append(track)
        else:
            track.box, track.last_seen = box, self._frame
            track.frames += 1
            if signature is not None:
                # A running mean: one frame's landmark jitter does not move the person's signature.
                w = max(self.smoothing, 1.0 / track.frames)
                track.signature = (
                    signature.copy() if track.signature is None else (1 - w) * track.signature + w * signature
                )
        self._current = track
        self._missing = 0
        return track.id

    def _match(self, box, signature) -> _Track | None:
        cur = self._current
        overlap_ok = cur is not None and self._missing <= self.max_gap_frames and iou(box, cur.box) >= self.min_iou
        if signature is None:
            return cur if overlap_ok else None
        if (
            cur is not None
            and overlap_ok
            and (
                cur.signature is None
                or self.other_person is None
                or signature_distance(signature, cur.signature) <= self.other_person
            )
        ):
            return cur
        # A jump, a gap or a swap: the remembered person with the closest proportions, if close enough
        # and of a plausible size (a face does not grow or shrink by half within seconds; the
        # proportions alone confuse about a third of different people).
        known = [
            (signature_distance(signature, t.signature), t)
            for t in self._tracks
            if t.signature is not None and _similar_size(box, t.box, self.max_size_ratio)
        ]
        if known:
            dist, best = min(known, key=lambda x: x[0])
            if dist <= self.same_person:
                return best
        return None

    def reset(self) -> None:
        self._tracks = []
        self._current = None
        self._missing = 0
