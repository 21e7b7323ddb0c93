"""Frame sources: a camera by index, a video file, or a folder of images.

Each yields BGR frames with a timestamp in seconds; `read()` returns None when no frame came
(camera unplugged or busy, or the end of a file), and the caller decides whether to retry.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..config import source_is_path

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class SourceError(RuntimeError):
    """The source cannot be opened (no camera, unreadable file, empty folder)."""


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8
    t: float  # seconds: wall clock for cameras, frame index / fps for files
    index: int


def fit_within(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """The image scaled down, aspect kept, to fit in width x height; a smaller one is returned as is.
    Every detector's cost grows with the pixels it is given, so no frame may be larger than the
    camera mode the kiosk is configured (and benchmarked) for."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


# Camera indexes whose last open failed. OpenCV prints its own warning for every failed open, and
# the camera worker retries every camera.reconnect_s: a camera unplugged over a weekend would fill
# the journal with ~85,000 identical lines a day. The first failure keeps OpenCV's words (they say
# why); the kiosk logs the loss itself, once; retries of the same index are opened quietly.
_failed_before: set[int] = set()


class CameraSource:
    live = True

    def __init__(self, index: int = 0, width: int = 640, height: int = 480, fps: int = 25):
        self.index, self.width, self.height, self.fps = index, width, height, fps
        self._cap: cv2.VideoCapture | None = None
        self._n = 0
        self._oversize_logged = False

    def open(self) -> None:
        quiet = self.index in _failed_before
        previous = cv2.setLogLevel(0) if quiet else None  # 0: OpenCV's LOG_LEVEL_SILENT
        try:
            cap = cv2.VideoCapture(self.index)
        finally:
            if previous is not None:
                cv2.setLogLevel(previous)
        if not cap.isOpened():
            cap.release()
            _failed_before.add(self.index)
            raise SourceError(f"camera {self.index} is not available")
        _failed_before.discard(self.index)
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
        self._cap = cap

    def read(self) -> Frame | None:
        if self._cap is None:
            return None
        ok, img = self._cap.read()
        if not ok or img is None:
            return None
        h, w = img.shape[:2]
        if w > self.width or h > self.height:
            # Many USB cameras ignore a mode they do not offer and send their largest one: scaled
            # here, or every frame would cost several times what the kiosk was measured at.
            if not self._oversize_logged:
                log.warning(
                    "camera %d sends %dx%d, not %dx%d: frames are scaled down",
                    self.index,
                    w,
                    h,
                    self.width,
                    self.height,
                )
                self._oversize_logged = True
            img = fit_within(img, self.width, self.height)
        self._n += 1
        return Frame(img, time.monotonic(), self._n - 1)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource:
    live = False

    def __init__(
        self, path: str | Path, fps: float | None = None, loop: bool = False, max_size: tuple[int, int] | None = None
    ):
        self.path = Path(path)
        self.loop = loop
        self._fps = fps
        self.max_size = max_size  # (width, height): larger frames are scaled to fit, like a camera's
        self._cap: cv2.VideoCapture | None = None
        self._n = 0

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceError(f"video file not found: {self.path}")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise SourceError(f"cannot read video: {self.path}")
        self._cap = cap
        self.fps = self._fps or cap.get(cv2.CAP_PROP_FPS) or 25.0

    def read(self) -> Frame | None:
        if self._cap is None:
            return None
        ok, img = self._cap.read()
        if not ok and self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, img = self._cap.read()
        if not ok:
            return None
        if self.max_size is not None:
            img = fit_within(img, *self.max_size)
        self._n += 1
        return Frame(img, (self._n - 1) / self.fps, self._n - 1)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageFolderSource:
    """Images in name order, each repeated `hold` times (a still held in front of the camera).

    An image that cannot be decoded is skipped and reported once (logged, kept in `unreadable`);
    when no image of the folder can be read, `read()` returns None like a camera that gives no frame.
    """

    live = False

    def __init__(
        self,
        path: str | Path,
        fps: float = 25.0,
        hold: int = 1,
        loop: bool = False,
        max_size: tuple[int, int] | None = None,
    ):
        self.path = Path(path)
        self.fps, self.hold, self.loop = fps, max(1, hold), loop
        self.max_size = max_size  # (width, height): larger images are scaled to fit, like a camera's
        self._files: list[Path] = []
        self._n = 0
        self._cached: tuple[int, np.ndarray] | None = None
        self.unreadable: set[Path] = set()

    def open(self) -> None:
        if not self.path.is_dir():
            raise SourceError(f"image folder not found: {self.path}")
        self._files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError(f"no images in {self.path}")

    def __len__(self) -> int:
        return len(self._files) * self.hold

    def read(self) -> Frame | None:
        # At most one pass over the folder looking for a readable image.
        for _ in range(len(self._files) + 1):
            i = self._n // self.hold
            if i >= len(self._files):
                if not self.loop:
                    return None
                i %= len(self._files)
            if self._cached is None or self._cached[0] != i:
                img = self._imread(self._files[i])
                if img is None:
                    self._n = (self._n // self.hold + 1) * self.hold  # on to the next image
                    continue
                self._cached = (i, img)
            self._n += 1
            return Frame(self._cached[1], (self._n - 1) / self.fps, self._n - 1)
        return None

    def _imread(self, path: Path) -> np.ndarray | None:
        if path in self.unreadable:
            return None
        try:
            img = cv2.imread(str(path))
        except cv2.error:
            img = None
        if img is None:
            self.unreadable.add(path)
            log.warning("skipping unreadable image %s", path)
        elif self.max_size is not None:
            img = fit_within(img, *self.max_size)
        return img

    def close(self) -> None:
        self._cached = None


class FrozenFeedDetector:
    """A live camera whose frames stay byte-identical for `after_s` seconds is frozen (a wedged
    driver or capture card repeating its last buffer): real sensors always add noise. Only the
    camera-problem side: the vision stages judge stillness per frame on their own."""

    def __init__(self, after_s: float, clock=time.monotonic):
        self.after_s = after_s
        self._clock = clock
        self._digest: int | None = None
        self._since = 0.0
        # This frame differs from the one before it. The first frame after a reset has nothing
        # to differ from: one picture alone cannot tell a live camera from a wedged one.
        self.changed = False

    def update(self, image: np.ndarray) -> bool:
        """True once the same bytes have been seen for `after_s` seconds."""
        digest = zlib.crc32(np.ascontiguousarray(image).data)
        now = self._clock()
        self.changed = self._digest is not None and digest != self._digest
        if digest != self._digest:
            self._digest, self._since = digest, now
            return False
        return now - self._since >= self.after_s

    def reset(self) -> None:
        self._digest = None
        self.changed = False


def missing_source(spec: str) -> str | None:
    """Why a configured source can never deliver a frame, or None. A camera index, a device node
    or a stream URL may come and go while the kiosk runs (the camera screen and the reconnect loop
    are for that); a video file or image folder that is not there is a mistake in the config."""
    if not source_is_path(spec) or spec.startswith("/dev/"):
        return None
    if not Path(spec).exists():
        return f"no camera index, file or folder {spec!r}: the kiosk would show the camera screen for good"
    return None


def open_source(spec: str, width: int = 640, height: int = 480, fps: int = 25, hold: int = 1, loop: bool = False):
    """A camera index ("0"), a video file, or an image folder. Every kind delivers frames no larger
    than width x height, so a recording or a photo is processed as the kiosk's camera would give it."""
    src: CameraSource | ImageFolderSource | VideoFileSource
    if spec.isdigit():
        src = CameraSource(int(spec), width, height, fps)
    elif Path(spec).is_dir():
        src = ImageFolderSource(spec, fps=fps, hold=hold, loop=loop, max_size=(width, height))
    else:
        src = VideoFileSource(spec, loop=loop, max_size=(width, height))
    src.open()
    return src
