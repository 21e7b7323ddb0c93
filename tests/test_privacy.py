"""Privacy guards: image payloads never reach a log, image files are found wherever they hide."""
import io
import logging
import struct

import numpy as np
import pytest

from kiosk.privacy import ImagePayloadFilter, find_image_files, image_magic, install_log_filter


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(frame)s"))
    logger = logging.getLogger("kiosk.test_privacy")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    yield logger, handler, stream
    logger.removeHandler(handler)


def test_arrays_and_image_bytes_are_redacted(captured):
    logger, handler, stream = captured
    filt = ImagePayloadFilter()
    handler.addFilter(filt)
    frame = np.full((48, 64, 3), 77, np.uint8)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
    logger.info("frame %s", frame, extra={"frame": "-"})
    logger.info("png %r", png, extra={"frame": "-"})
    logger.info("big %s", b"\x01" * 5000, extra={"frame": "-"})
    logger.info("uri %s", "data:image/png;base64,iVBORw0KGgo=", extra={"frame": "-"})
    logger.info("crops %s", [frame[:8, :8]], extra={"frame": "-"})
    logger.info("extra", extra={"frame": frame})
    logger.info(frame, extra={"frame": "-"})
    logger.info("dict %(img)s", {"img": frame}, extra={"frame": "-"})
    out = stream.getvalue()
    assert filt.redacted == 8
    assert "77" not in out and "iVBOR" not in out and "\\x89PNG" not in out and "\\x01" not in out
    assert out.count("<redacted") == 8
    assert "shape=(48, 64, 3)" in out


def test_ordinary_records_pass_untouched(captured):
    logger, handler, stream = captured
    filt = ImagePayloadFilter()
    handler.addFilter(filt)
    logger.info("session %s passed %d levels, token %r", "s-1", 2, b"abc", extra={"frame": 12})
    assert stream.getvalue().strip() == "session s-1 passed 2 levels, token b'abc' 12"
    assert filt.redacted == 0


def test_reject_mode_drops_the_record(captured):
    logger, handler, stream = captured
    handler.addFilter(ImagePayloadFilter("reject"))
    logger.info("frame %s", np.zeros((2, 2)), extra={"frame": "-"})
    logger.info("kept", extra={"frame": "-"})
    assert stream.getvalue().strip() == "kept -"


def test_install_covers_records_from_child_loggers():
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        filt = install_log_filter()
        assert install_log_filter() is filt and handler.filters == [filt]  # not added twice
        logging.getLogger("kiosk.somewhere.deep").info("face %s", np.ones((3, 3), np.float32))
        assert "<redacted array shape=(3, 3)>" in stream.getvalue()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _bmp(width=2, height=2) -> bytes:
    row = (width * 3 + 3) // 4 * 4
    size = 54 + row * height
    return (b"BM" + struct.pack("<IHHI", size, 0, 0, 54)
            + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, row * height, 0, 0, 0, 0)
            + b"\x00" * row * height)


def test_find_image_files_by_extension_and_by_magic(tmp_path):
    cv2 = pytest.importorskip("cv2")
    img = np.zeros((8, 8, 3), np.uint8)
    (tmp_path / "a" / "b").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "a" / "shot.png"), img)
    cv2.imwrite(str(tmp_path / "a" / "b" / "face.JPG"), img)
    np.save(tmp_path / "dump.npy", img)
    hidden = {
        "disguised_png.log": (tmp_path / "a" / "shot.png").read_bytes(),
        "disguised_jpg.tmp": (tmp_path / "a" / "b" / "face.JPG").read_bytes(),
        "frame.bin": (tmp_path / "dump.npy").read_bytes(),
        "x.dat": _bmp(),
        "y": b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8,
        "z.cache": b"P6\n8 8\n255\n" + b"\x00" * 192,
    }
    for name, data in hidden.items():
        (tmp_path / "a" / "b" / name).write_bytes(data)
    innocent = {
        "notes.txt": b"BMW is a car; P6 plan\n",
        "b.txt": b"BM" + b"\x00" * 60,  # BMP-like start, wrong size field
        "verdicts.jsonl": b'{"verdict":"pass"}\n',
        "empty": b"",
    }
    for name, data in innocent.items():
        (tmp_path / name).write_bytes(data)
    found = {p.name for p in find_image_files(tmp_path)}
    assert found == {"shot.png", "face.JPG", "dump.npy", *hidden}


def test_image_magic_names_formats():
    assert image_magic(b"\x89PNG\r\n\x1a\n") == "png"
    assert image_magic(b"\xff\xd8\xff\xe0") == "jpeg"
    assert image_magic(b"\x93NUMPY\x01\x00") == "npy"
    assert image_magic(_bmp()[:16], len(_bmp())) == "bmp"
    assert image_magic(b"hello world") is None
