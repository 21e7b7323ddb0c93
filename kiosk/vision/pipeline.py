"""Runs, for each frame, only the detectors the session state needs, and turns what they see
into an `Observation`. Missing models are reported, never faked: their challenges are left out."""
from __future__ import annotations

import importlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import cv2
import numpy as np

from ..session.challenges import HEAD_POSE_CHALLENGES, Challenge
from ..session.observation import Observation
from .capture_quality import CaptureQuality
from .face import FaceMeshDetector
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


class VisionPipeline:
    def __init__(self, cfg, static_image_mode: bool = False):
        self.cfg = cfg
        self.static = static_image_mode
        self.face_mesh = FaceMeshDetector(max_faces=2, static_image_mode=static_image_mode)
        self.head_pose = HeadPoseEstimator(cfg.camera.hfov_deg)
        self.tracker = FaceTracker()
        self.capture_quality = CaptureQuality()
        self.stillness = StillnessDetector()
        self._hands = None
        self.liveness, s1 = _load("liveness", "kiosk.vision.liveness", "LivenessModel", cfg.path(cfg.liveness.model))
        self.gesture, s2 = _load("gesture", "kiosk.vision.gestures", "GestureClassifier",
                                 cfg.path(cfg.gesture.model), min_confidence=cfg.gesture.min_confidence)
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

    def _smoothed(self, score: float) -> float:
        # An EMA over frames: a few odd frames (glare, motion blur) must not break the run of
        # consecutive live frames; a spoof scores low on most frames, so it is still denied.
        w = self.cfg.liveness.score_ema
        self._live_ema = score if self._live_ema is None else w * score + (1.0 - w) * self._live_ema
        return self._live_ema

    @property
    def hands(self):
        # Created on first use: the hand model only loads when a gesture challenge needs it.
        if self._hands is None:
            from .hands import HandDetector
            self._hands = HandDetector(max_hands=1, static_image_mode=self.static)
        return self._hands

    # ------------------------------------------------------------------ draw
    def challenge_pool(self) -> tuple[list[Challenge], list[str]]:
        """Challenges whose detector is loaded and validated; plus a note for each one left out."""
        cfg = self.cfg
        pool: list[Challenge] = []
        notes: list[str] = []
        kinds = cfg.challenges.kinds
        if "head_pose" in kinds:
            pool += HEAD_POSE_CHALLENGES
        if "gesture" in kinds:
            if self.gesture is None:
                notes.append(f"gesture challenges left out: {self.models['gesture'].error}")
            else:
                from .gestures import GESTURE_INFO
                for label in self.gesture.labels:
                    if label == "none" or label not in GESTURE_INFO:
                        continue
                    ok, why = self._validated(self.gesture, label, cfg.gesture.min_validated_recall)
                    if not ok:
                        notes.append(f"gesture {label} left out: {why}")
                        continue
                    icon, text = GESTURE_INFO[label][:2]
                    instruction = GESTURE_INFO[label][2] if len(GESTURE_INFO[label]) > 2 else f"{text} and hold it."
                    pool.append(Challenge("gesture", label, icon, text, instruction))
        if "emotion" in kinds:
            if self.emotion is None:
                notes.append(f"emotion challenges left out: {self.models['emotion'].error}")
            else:
                from .emotion import EMOTION_INFO
                for label in cfg.emotion.allowed:
                    if label not in self.emotion.labels or label not in EMOTION_INFO:
                        notes.append(f"emotion {label} left out: not a label of the model")
                        continue
                    ok, why = self._validated(self.emotion, label, cfg.emotion.min_validated_recall)
                    if not ok:
                        notes.append(f"emotion {label} left out: {why}")
                        continue
                    icon, name, instruction = EMOTION_INFO[label][:3]
                    pool.append(Challenge("emotion", label, icon, name, instruction))
        return pool, notes

    @staticmethod
    def _validated(model, label: str, floor: float) -> tuple[bool, str]:
        recall = (getattr(model, "validated_recall", None) or {}).get(label)
        if recall is None:
            return False, "no validated recall in its model card"
        if recall < floor:
            return False, f"validated recall {recall:.2f} below {floor:.2f}"
        synthetic = set((getattr(model, "meta", None) or {}).get("synthetic_only", []))
        if label in synthetic:
            return False, "validated on synthetic data only"
        return True, ""

    # --------------------------------------------------------------- process
    def _timed(self, stage: str, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        self.timings[stage].append((time.perf_counter() - t0) * 1000.0)
        return out

    def process(self, image: np.ndarray, needs: frozenset[str]) -> Observation:
        if not needs:
            return Observation()
        faces = self._timed("face_mesh", self.face_mesh.detect, image)
        if not faces:
            self.tracker.update(None)
            return Observation()
        face = faces[0]
        # The id follows the person, not the box: a jump or a lost frame of the same face keeps it.
        track = self.tracker.update(face.bbox, geometry_signature(face.landmarks))
        obs: dict = dict(face=True, faces=len(faces), track_id=track)
        # A new face, or level 1 starting again: the cues start again from this frame.
        starting = "liveness" in needs and not self._needed_liveness
        if track != self._cue_track or starting:
            self._reset_cues()
            self._cue_track = track
        self._needed_liveness = "liveness" in needs
        if "head_pose" in needs or "liveness" in needs:
            obs["head_pose"] = self._timed("head_pose", self.head_pose.estimate, face)
            # Only while the head is meant to move or be still, not while it makes a face
            # (expressions move the mouth corners the parallax fit treats as rigid).
            obs["shape"] = self._timed("parallax", self.parallax.update, face)
        if "liveness" in needs:
            gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            capture = self._timed("capture_quality", self.capture_quality.assess, gray, face)
            obs["still"] = self._timed("still", self.stillness.update, gray, face.bbox)
            obs["capture"] = capture
            if self.liveness is not None:
                raw = self._timed("liveness", self.liveness.score, image, face)
                # A frame too poor to judge neither moves the smoothed score nor counts (engine).
                score = raw if capture is not None else self._smoothed(raw)
                obs.update(live=bool(self.liveness.is_real(score)), live_score=float(score))
            obs["blink"] = bool(self.blinks.update(face))
        if "hands" in needs and self.gesture is not None:
            hands = self._timed("hands", self.hands.detect, image)
            if hands:
                result = self._timed("gesture", self.gesture.classify, hands[0])
                obs["gesture"] = result.label
            else:
                obs["gesture"] = None
        if "emotion" in needs and self.emotion is not None:
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
        if self.face_mesh is not None:
            self.face_mesh.close()
            self.face_mesh = None
        if self._hands is not None:
            self._hands.close()
            self._hands = None
