import cv2
import numpy as np
import pytest

from kiosk.vision.sources import ImageFolderSource, SourceError, VideoFileSource, open_source
from kiosk.vision.tracking import FaceTracker, iou


def _write_images(folder, n=3):
    folder.mkdir(exist_ok=True)
    for i in range(n):
        img = np.full((48, 64, 3), i * 40, np.uint8)
        cv2.imwrite(str(folder / f"{i:02d}.png"), img)


def test_image_folder_in_order_with_hold_and_timestamps(tmp_path):
    _write_images(tmp_path / "imgs")
    src = open_source(str(tmp_path / "imgs"), fps=10, hold=2)
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    assert len(frames) == 6
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 0, 40, 40, 80, 80]
    assert [f.t for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_image_folder_loops_when_asked(tmp_path):
    _write_images(tmp_path / "imgs", 2)
    src = ImageFolderSource(tmp_path / "imgs", loop=True)
    src.open()
    assert [int(src.read().image[0, 0, 0]) for _ in range(5)] == [0, 40, 0, 40, 0]


def test_video_file_round_trip(tmp_path):
    path = tmp_path / "clip.avi"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (64, 48))
    for i in range(10):
        out.write(np.full((48, 64, 3), i * 20, np.uint8))
    out.release()
    src = VideoFileSource(path)
    src.open()
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    assert len(frames) == 10 and frames[-1].t == pytest.approx(9 / 20)


@pytest.mark.parametrize("spec", ["/nonexistent/clip.mp4", "99"])
def test_missing_sources_raise_a_clear_error(spec, tmp_path):
    with pytest.raises(SourceError):
        open_source(spec)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="no images"):
        open_source(str(tmp_path))


def test_tracker_keeps_id_while_overlapping_and_changes_on_jump_or_gap():
    t = FaceTracker(min_iou=0.3, max_gap_frames=2)
    a = t.update((100, 100, 80, 80))
    assert t.update((105, 102, 80, 80)) == a
    b = t.update((400, 100, 80, 80))  # jumped across the image
    assert b != a
    for _ in range(3):
        t.update(None)
    assert t.update((400, 100, 80, 80)) != b  # gone too long: a new track
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
