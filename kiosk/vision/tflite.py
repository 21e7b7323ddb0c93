"""One wrapper for every TFLite model the kiosk runs.

ai-edge-litert is preferred (about 15x faster for int8 than tflite-runtime 2.14 here);
tflite_runtime is kept as an import fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

RUNTIME: str | None
try:  # pragma: no cover - which branch runs depends on the installed wheels
    from ai_edge_litert.interpreter import Interpreter as _Interpreter

    RUNTIME = "ai-edge-litert"
except ImportError:  # pragma: no cover
    try:
        from tflite_runtime.interpreter import Interpreter as _Interpreter

        RUNTIME = "tflite-runtime"
    except ImportError:
        _Interpreter = None
        RUNTIME = None


class ModelError(RuntimeError):
    """A model file is missing, unreadable or has an unexpected signature."""


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0 and np.issubdtype(self.dtype, np.integer)


def _spec(detail: dict) -> TensorSpec:
    scale, zero = detail.get("quantization", (0.0, 0))
    return TensorSpec(tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"]), float(scale), int(zero))


class TFLiteModel:
    """Loads a .tflite file and runs it on float32 input, (de)quantising int8 tensors itself.

    >>> m = TFLiteModel("models/gesture_classifier.tflite")   # doctest: +SKIP
    >>> probs = m.predict(features[None, :])                    # doctest: +SKIP
    """

    def __init__(self, path: str | Path, num_threads: int = 1):
        self.path = Path(path)
        if _Interpreter is None:
            raise ModelError("no TFLite runtime installed: pip install ai-edge-litert")
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        try:
            self._interp = _Interpreter(model_path=str(self.path), num_threads=num_threads)
            self._interp.allocate_tensors()
        except Exception as exc:  # the runtime raises bare ValueError/RuntimeError
            raise ModelError(f"cannot load model {self.path}: {exc}") from exc
        self._in = self._interp.get_input_details()[0]
        self._outs = self._interp.get_output_details()
        self.input = _spec(self._in)
        self.outputs = [_spec(d) for d in self._outs]
        # Quantisation constants as full-shape arrays, made once: on the gesture MLP (invoke ~4 us)
        # numpy's per-call overhead is most of the time, and array-array ufuncs cost about half
        # of array-scalar ones here.
        self._in_shape = self.input.shape  # plain attributes: a few us per call on the gesture MLP
        self._in_index = self._in["index"]
        self._in_q = None
        if self.input.quantized:
            info = np.iinfo(self.input.dtype)
            full = lambda v: np.full(self._in_shape, v, dtype=np.float32)  # noqa: E731
            self._in_q = (full(self.input.scale), full(self.input.zero_point), full(info.min), full(info.max))
        self._out_q = []
        for d, o in zip(self._outs, self.outputs):
            q = (
                (np.full(o.shape, o.zero_point, np.float32), np.full(o.shape, o.scale, np.float32))
                if o.quantized
                else None
            )
            self._out_q.append((d["index"], q))

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Run one batch (shape must match the model's input) and return the first output as float32."""
        return self.predict_all(x)[0]

    def predict_all(self, x: np.ndarray) -> list[np.ndarray]:
        x = np.asarray(x, dtype=np.float32)
        if x.shape != self._in_shape:
            if x.size != int(np.prod(self._in_shape)):
                raise ModelError(f"{self.path.name}: input shape {x.shape}, model wants {self._in_shape}")
            x = x.reshape(self._in_shape)
        if self._in_q is not None:
            scale, zero, lo, hi = self._in_q
            q = np.divide(x, scale)  # round(x / scale + zero_point), clipped to the integer range
            np.add(q, zero, out=q)
            np.rint(q, out=q)
            np.maximum(q, lo, out=q)
            np.minimum(q, hi, out=q)
            x = q.astype(self.input.dtype)
        elif x.dtype != self.input.dtype:
            x = x.astype(self.input.dtype)
        self._interp.set_tensor(self._in_index, x)
        self._interp.invoke()
        results = []
        for index, dequant in self._out_q:
            y = self._interp.get_tensor(index).astype(np.float32)
            if dequant is not None:
                np.subtract(y, dequant[0], out=y)
                np.multiply(y, dequant[1], out=y)
            results.append(y)
        return results
