"""Privacy guards: no image leaves memory by accident.

The kiosk never writes frames or face crops; these are defences in depth and test helpers:
- `ImagePayloadFilter`, a logging filter that redacts (or drops) log records carrying image
  data: arrays (numpy, anything with shape and dtype), Qt/PIL images, large or image-signed
  bytes, and base64 data URIs. `install_log_filter()` puts it on every root handler, where it
  also sees records propagated from child loggers.
- `find_image_files(root)`, which finds image/array files by extension or magic bytes, so a
  test can assert that a whole session left none behind.
- `forbid_core_dumps()`: a crash leaves no copy of the process's memory (camera frames, voice
  buffers) on disk.
"""

from __future__ import annotations

import ctypes
import logging
import os
import resource
from pathlib import Path
from typing import Any

IMAGE_EXTENSIONS = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".bmp",
        ".dib",
        ".webp",
        ".gif",
        ".tif",
        ".tiff",
        ".ppm",
        ".pgm",
        ".pbm",
        ".pnm",
        ".pfm",
        ".exr",
        ".hdr",
        ".npy",
        ".npz",
        ".raw",
        ".yuv",
    }
)
MAX_BYTES_IN_LOG = 256  # longer binary payloads are not something a log line needs

_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"\x93NUMPY",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",  # TIFF
)
# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def image_magic(head: bytes, size: int | None = None) -> str | None:
    """The image/array format whose signature starts head, or None."""
    for magic in _MAGIC:
        if head.startswith(magic):
            return {b"\x89P": "png", b"\xff\xd8": "jpeg", b"\x93N": "npy", b"GI": "gif", b"II": "tiff", b"MM": "tiff"}[
                magic[:2]
            ]
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if len(head) >= 3 and head[:1] == b"P" and head[1:2] in b"1234567" and head[2:3] in b" \t\r\n":
        return "pnm"
    # BMP: "BM" is common in text, so also require the header's file size to match.
    if len(head) >= 6 and head[:2] == b"BM":
        declared = int.from_bytes(head[2:6], "little")
        if size is None or declared == size:
            return "bmp"
    return None


def _image_like(value: Any) -> str | None:
    """A short description if value looks like image data, else None."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # numpy, cv2 UMat wrappers, tensors
        return f"<redacted array shape={tuple(getattr(value, 'shape', ()))}>"
    type_name = type(value).__name__
    if type_name in ("QImage", "QPixmap", "QVideoFrame") or (
        type(value).__module__.startswith("PIL.") and hasattr(value, "size")
    ):
        return f"<redacted {type_name}>"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value[:16])
        if len(value) > MAX_BYTES_IN_LOG or image_magic(data):
            return f"<redacted {len(value)} bytes>"
    if isinstance(value, str) and "data:image/" in value:
        return "<redacted data URI>"
    if isinstance(value, (list, tuple)) and any(_image_like(v) for v in value[:64]):
        return f"<redacted {type_name} holding image data>"
    return None


class ImagePayloadFilter(logging.Filter):
    """Redacts image payloads from log records, or drops such records (mode="reject")."""

    def __init__(self, mode: str = "redact"):
        super().__init__()
        if mode not in ("redact", "reject"):
            raise ValueError(f"mode must be 'redact' or 'reject', got {mode!r}")
        self.mode = mode
        self.redacted = 0  # records touched, for tests and diagnostics

    def filter(self, record: logging.LogRecord) -> bool:
        found = False
        msg_desc = _image_like(record.msg)
        if msg_desc:
            found = True
            record.msg = msg_desc
        if isinstance(record.args, dict):
            clean_map = {k: _image_like(v) or v for k, v in record.args.items()}
            found |= any(clean_map[k] is not record.args[k] for k in clean_map)
            record.args = clean_map
        elif isinstance(record.args, tuple):
            clean_args = tuple(_image_like(a) or a for a in record.args)
            found |= any(c is not a for c, a in zip(clean_args, record.args))
            record.args = clean_args
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS:
                desc = _image_like(value)
                if desc:
                    found = True
                    setattr(record, name, desc)
        if found:
            self.redacted += 1
            return self.mode == "redact"
        return True


def install_log_filter(mode: str = "redact") -> ImagePayloadFilter:
    """Put an ImagePayloadFilter on every handler of the root logger (call after logging setup).

    Idempotent: a filter already installed is reused, so handlers never get two.
    """
    handlers = logging.getLogger().handlers
    existing = [f for h in handlers for f in h.filters if isinstance(f, ImagePayloadFilter)]
    filt = existing[0] if existing else ImagePayloadFilter(mode)
    for handler in handlers:
        if not any(isinstance(f, ImagePayloadFilter) for f in handler.filters):
            handler.addFilter(filt)
    return filt


def find_image_files(root: str | os.PathLike) -> list[Path]:
    """Every file under root that is an image or array dump, by extension or by magic bytes."""
    found = []
    for folder, _dirs, files in os.walk(os.fspath(root), followlinks=False):
        for name in files:
            path = Path(folder, name)
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                found.append(path)
                continue
            try:
                if path.is_symlink() or not path.is_file():
                    continue
                with open(path, "rb") as fh:
                    head = fh.read(16)
                if image_magic(head, path.stat().st_size):
                    found.append(path)
            except OSError:
                continue
    return sorted(found)


PR_SET_DUMPABLE = 4  # <linux/prctl.h>


def forbid_core_dumps() -> bool:
    """No core dump of this process, ever: a crash in native code (MediaPipe, OpenCV, Qt) would
    write the whole memory, camera frames included, to disk. systemd gives services an unlimited
    core size, and the kernel writes `core` into the working directory (/var/lib/kiosk) or hands it
    to systemd-coredump or apport, which keep it. A core size of 0 stops file dumps and the
    handlers that honour it; "not dumpable" stops the kernel from dumping at all. True if both
    took effect.

    Only the soft limit is lowered: the hard one stays, so this process's children (a verdict
    hook program) keep their own choice. Not dumpable is not inherited across exec either: it
    guards the memory that holds frames, this process's."""
    ok = True
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    except (OSError, ValueError):
        ok = False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        ok = libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 and ok
    except (OSError, AttributeError):  # not Linux
        ok = False
    return ok
