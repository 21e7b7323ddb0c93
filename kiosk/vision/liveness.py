"""Level-1 passive liveness: a MiniFASNet-style real/spoof model on one face crop per frame.

The model (models/liveness.tflite) is MiniFASNetV2 (minivision, Apache-2.0) ported to Keras and
fine-tuned; see models/liveness.md. models/liveness.json says how it was trained to see a face:

- crop: the original's rule - a box `crop_scale` times the *face-detector* box around its centre,
  the scale reduced so the box fits in the frame, the box shifted back inside, then resized to
  input size without keeping the aspect ratio. Most of the context (hair, shoulders, a photo's or a
  screen's edge) is what the model judges, so the crop geometry matters as much as the weights.
- MediaPipe's Face.bbox is the landmarks' bounding box, which is not a detector box: measured on the
  NUAA frames against MediaPipe's own face detector, it is ~4 % narrower, ~10 % taller and its centre
  ~7 % of its height higher. `detector_box_from_mesh` applies that correction (values from the json,
  "bbox_adjust") before the crop, so run time matches training.
- pixels: BGR, 0..255 floats, not divided by 255 (the original's ToTensor was patched to skip /255).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from kiosk.vision.tflite import ModelError, TFLiteModel

DEFAULT_BBOX_ADJUST = {"width": 1.04, "height": 0.91, "shift_y": 0.066}


def detector_box_from_mesh(bbox, adjust: dict | None = None) -> tuple[float, float, float, float]:
    """Turn a face-mesh landmark box (x, y, w, h) into a face-detector-like box (see module doc)."""
    a = DEFAULT_BBOX_ADJUST if adjust is None else adjust
    x, y, w, h = (float(v) for v in bbox)
    cx, cy = x + w / 2.0, y + h / 2.0 + a["shift_y"] * h
    nw, nh = w * a["width"], h * a["height"]
    return cx - nw / 2.0, cy - nh / 2.0, nw, nh


def crop_box(image_size: tuple[int, int], bbox, scale: float) -> tuple[int, int, int, int]:
    """The (x0, y0, x1, y1) pixel box the model sees: `scale` x bbox about its centre, kept inside the image.

    As in the original: the scale is lowered until the box fits in the frame, then the box is shifted,
    not cut, so a close face gets a smaller context margin instead of black borders.
    """
    src_w, src_h = image_size
    x, y, w, h = (float(v) for v in bbox)
    w, h = max(w, 1.0), max(h, 1.0)
    scale = min((src_h - 1) / h, (src_w - 1) / w, float(scale))
    new_w, new_h = w * scale, h * scale
    cx, cy = x + w / 2.0, y + h / 2.0
    x0, y0, x1, y1 = cx - new_w / 2, cy - new_h / 2, cx + new_w / 2, cy + new_h / 2
    if x0 < 0:
        x1, x0 = x1 - x0, 0.0
    if y0 < 0:
        y1, y0 = y1 - y0, 0.0
    if x1 > src_w:
        x0, x1 = x0 - (x1 - src_w), float(src_w)
    if y1 > src_h:
        y0, y1 = y0 - (y1 - src_h), float(src_h)
    return int(x0), int(y0), int(x1), int(y1)


def crop_for_model(frame_bgr: np.ndarray, bbox, scale: float, size: int | tuple[int, int]) -> np.ndarray:
    """Crop `scale` x bbox (x, y, w, h) around the face and resize to size (int or (w, h)); uint8 BGR."""
    h, w = frame_bgr.shape[:2]
    x0, y0, x1, y1 = crop_box((w, h), bbox, scale)
    patch = frame_bgr[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    out_w, out_h = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    return cv2.resize(patch, (out_w, out_h), interpolation=cv2.INTER_LINEAR)


class LivenessModel:
    """Per-frame probability that the face in front of the camera is live (not a photo or a screen)."""

    def __init__(
        self,
        model_path: str | Path = "models/liveness.tflite",
        meta_path: str | Path | None = None,
        num_threads: int = 1,
    ):
        self.model_path = Path(model_path)
        self.meta_path = Path(meta_path) if meta_path else self.model_path.with_suffix(".json")
        if not self.meta_path.is_file():
            raise ModelError(f"liveness metadata not found: {self.meta_path}")
        self.meta = json.loads(self.meta_path.read_text())
        self._model = TFLiteModel(self.model_path, num_threads=num_threads)
        inp = self.meta["input"]
        self.threshold = float(self.meta["threshold"])
        self.crop_scale = float(inp["crop_scale"])
        self.size = (int(inp["width"]), int(inp["height"]))
        self.bgr = inp.get("color_order", "BGR").upper() == "BGR"
        self.value_scale = float(inp.get("value_scale", 1.0))  # pixel * value_scale
        self.bbox_adjust = inp.get("bbox_adjust", DEFAULT_BBOX_ADJUST)
        if self._model.input.shape[1:3] != (self.size[1], self.size[0]):
            raise ModelError(f"{self.model_path.name}: input {self._model.input.shape} does not match the json")

    def crop(self, frame_bgr: np.ndarray, face) -> np.ndarray:
        box = detector_box_from_mesh(face.bbox, self.bbox_adjust)
        return crop_for_model(frame_bgr, box, self.crop_scale, self.size)

    def score_crop(self, crop_bgr: np.ndarray) -> float:
        x = crop_bgr if self.bgr else crop_bgr[:, :, ::-1]
        x = x.astype(np.float32)[None] * self.value_scale
        return float(np.clip(self._model.predict(x).reshape(-1)[0], 0.0, 1.0))

    def score(self, frame_bgr: np.ndarray, face) -> float:
        """Probability (0..1) that `face` (a kiosk.vision.face.Face) in this frame is live."""
        return self.score_crop(self.crop(frame_bgr, face))

    def is_real(self, score: float) -> bool:
        return score >= self.threshold

    @property
    def size_bytes(self) -> int:
        return self._model.size_bytes
