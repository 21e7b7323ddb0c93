"""Runs, for each frame, only the detectors the session state needs, and turns what they see
into an `Observation`. Missing models are reported, never faked (`models` says which loaded)."""

from __future__ import annotations

import importlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import cv2
import numpy as np

from ..session.events import Need
from ..session.observation import Observation
from .capture_quality import CaptureQuality
from .face import Face, FaceLandmarkerDetector, FaceMeshDetector
from .head_pose import HeadPoseEstimator
from .still import StillnessDetector
from .tracking import FaceTracker, geometry_signature

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelStatus:
    name: str
    path: str
    available: bool
    error: str = ""
    version: str = ""


def _load(name: str, module: str, cls: str, path, **kwargs):
    """Load one model wrapper; return (instance or None, status)."""
    try:
        mod = importlib.import_module(module)
        obj = getattr(mod, cls)(str(path), **kwargs)
    except Exception as exc:  # ModelError, ImportError, a corrupt file: all reported the same way
        log.warning("model %s unavailable: %s", name, exc)
        return None, ModelStatus(name, str(path), False, str(exc))
    meta = getattr(obj, "meta", None) or {}
    return obj, ModelStatus(name, str(path), True, "", str(meta.get("version", "")))


def people_in_front(faces: list[Face], bystander_share: float) -> list[Face]:
    """The faces (largest first) of the people in front of the kiosk: a face smaller than
    `bystander_share` of the largest one's box area is someone further back, e.g. at a desk behind
    the person, who should neither stop the person from being judged nor be judged."""
    if len(faces) < 2 or bystander_share <= 0:
        return faces
    largest = faces[0].bbox[2] * faces[0].bbox[3]
    return [f for f in faces if f.bbox[2] * f.bbox[3] >= bystander_share * largest]


class VisionPipeline:
    def __init__(self, cfg, static_image_mode: bool = False):
        self.cfg = cfg
        self.static = static_image_mode
        self.face_mesh = FaceMeshDetector(max_faces=2, static_image_mode=static_image_mode)
        self._closed = False
        self.head_pose = HeadPoseEstimator(cfg.camera.hfov_deg)
        self.tracker = FaceTracker()
        self.capture_quality = CaptureQuality()
        self.stillness = StillnessDetector(cfg.liveness.still_noise_floor, cfg.liveness.still_window_frames)
        self._hands = None
        self._landmarker: FaceLandmarkerDetector | None = None
        self._landmarker_error = ""
        self.liveness, s1 = _load("liveness", "kiosk.vision.liveness", "LivenessModel", cfg.path(cfg.liveness.model))
        self.gesture, s2 = _load(
            "gesture",
            "kiosk.vision.gestures",
            "GestureClassifier",
            cfg.path(cfg.gesture.model),
            min_confidence=cfg.gesture.min_confidence,
        )
        self.emotion, s3 = _load("emotion", "kiosk.vision.emotion", "EmotionClassifier", cfg.path(cfg.emotion.model))
        self.models = {s.name: s for s in (s1, s2, s3)}
        self._cue_track: int | None = None
        self._reset_cues()
        self.timings: dict[str, list[float]] = defaultdict(list)

    def _reset_cues(self) -> None:
        """Blinks, 3D parallax and the smoothed liveness score belong to one face in one session."""
        from .active_cues import BlinkDetector, ParallaxCue

        self.blinks = BlinkDetector()
        self.parallax = ParallaxCue()
        self._live_ema: float | None = None
        self._needed_liveness = False

    def _smoothed(self, score: float, threshold: float) -> float:
        # An EMA over frames: a few odd frames (glare, motion blur) must not break the run of
        # consecutive live frames; a spoof scores low on most frames, so it is still denied.
        # A new face starts from no evidence (the threshold), not from its first frame's score:
        # one high first frame of a print would otherwise hold the average above the threshold
        # for ~7 frames (measured on a validation print), from the threshold for ~3.
        w = self.cfg.liveness.score_ema
        last = threshold if self._live_ema is None else self._live_ema
        self._live_ema = w * score + (1.0 - w) * last
        return self._live_ema

    @property
    def hands(self):
        # Created on first use: the hand model only loads when a gesture challenge needs it.
        if self._hands is None:
            from .hands import HandDetector

            self._hands = HandDetector(max_hands=1, static_image_mode=self.static)
            log.info("hand model loaded on first use")
        return self._hands

    def _face_model(self, needs: frozenset[Need]) -> FaceMeshDetector | FaceLandmarkerDetector:
        """One face model per frame. The Face Landmarker (same 478 landmarks, plus the blendshapes the
        emotion head reads) measured ~1.9x the legacy mesh's time per frame on this project's CPU
        (benchmarks/bench_face_models.py), so it runs only on frames that classify an emotion, in
        place of the mesh; every other frame keeps the cheaper mesh."""
        if Need.EMOTION not in needs or self.emotion is None or self._landmarker_error:
            return self.face_mesh
        if self._landmarker is None:
            try:
                self._landmarker = FaceLandmarkerDetector(max_faces=2, static_image_mode=self.static)
                log.info("face-landmarker model loaded on first use")
            except Exception as exc:  # missing or corrupt .task file: emotion falls back on the CNN path
                self._landmarker_error = str(exc)
                log.warning("face landmarker unavailable, emotion uses the CNN only: %s", exc)
                return self.face_mesh
        return self._landmarker

    # --------------------------------------------------------------- process
    def _timed(self, stage: str, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        self.timings[stage].append((time.perf_counter() - t0) * 1000.0)
        return out

    def process(self, image: np.ndarray, needs: frozenset[Need]) -> Observation:
        if not needs:
            return Observation()
        faces: list[Face] = self._timed("face_mesh", self._face_model(needs).detect, image)
        faces = people_in_front(faces, self.cfg.session.bystander_face_share)
        if not faces:
            self.tracker.update(None)
            return Observation()
        face = faces[0]
        # The id follows the person, not the box: a jump or a lost frame of the same face keeps it.
        track = self.tracker.update(face.bbox, geometry_signature(face.landmarks))
        obs: dict = dict(face=True, faces=len(faces), track_id=track)
        # With another face in view the engine judges nothing (no live frame, no hold, no onset),
        # so the classifiers, a third of a frame's time with every detector on, are not run: they
        # would only cost the frame time. The cheap cues still run: they follow one face over time.
        judged = len(faces) == 1
        # A new face, or level 1 starting again: the cues start again from this frame.
        starting = Need.LIVENESS in needs and not self._needed_liveness
        if track != self._cue_track or starting:
            self._reset_cues()
            self._cue_track = track
        self._needed_liveness = Need.LIVENESS in needs
        if Need.HEAD_POSE in needs or Need.LIVENESS in needs:
            obs["head_pose"] = self._timed("head_pose", self.head_pose.estimate, face)
            # Only while the head is meant to move or be still, not while it makes a face
            # (expressions move the mouth corners the parallax fit treats as rigid).
            obs["shape"] = self._timed("parallax", self.parallax.update, face)
        # Frozen or injected feed: judged on every frame with a face while the person is being
        # checked (level 1 and the challenges), not while the kiosk only waits for a face.
        checking = bool(needs - {Need.FACE})
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if checking else None
        if gray is not None:
            obs["still"] = self._timed("still", self.stillness.update, gray, face.bbox)
        if Need.LIVENESS in needs and gray is not None:
            capture = self._timed("capture_quality", self.capture_quality.assess, gray, face)
            obs["capture"] = capture
            if self.liveness is not None and judged:
                raw = self._timed("liveness", self.liveness.score, image, face)
                # A frame too poor to judge neither moves the smoothed score nor counts (engine).
                score = raw if capture is not None else self._smoothed(raw, self.liveness.threshold)
                obs.update(live=bool(self.liveness.is_real(score)), live_score=float(score))
            obs["blink"] = bool(self.blinks.update(face))
        if Need.HANDS in needs and self.gesture is not None and judged:
            hands = self._timed("hands", self.hands.detect, image)
            if hands:
                result = self._timed("gesture", self.gesture.classify, hands[0])
                obs["gesture"] = result.label
                if result.rejected:
                    obs["gesture_rejected"] = (result.top_label, result.rejected)
            else:
                obs["gesture"] = None
        if Need.EMOTION in needs and self.emotion is not None and judged:
            result = self._timed("emotion", self.emotion.classify, image, face)
            obs.update(emotion=result.label, emotion_margin=float(result.margin))
        return Observation(**obs)

    def reset(self) -> None:
        """Between sessions: forget the face track, the active cues and the smoothed score."""
        self.tracker.reset()
        self.stillness.reset()
        self._cue_track = None
        self._reset_cues()

    def close(self) -> None:
        """Idempotent: the camera worker closes the pipeline it was given when it stops."""
        if not self._closed:
            self._closed = True
            self.face_mesh.close()
        if self._hands is not None:
            self._hands.close()
            self._hands = None
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None
