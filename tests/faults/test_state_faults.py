"""The lockout state file under faults: corrupt, the wrong kind of file, a full disk, a planted
symlink. The kiosk keeps serving (sessions start and are counted in memory) and says why."""

import random
import subprocess

import pytest

from kiosk.ratelimit import RateLimiter
from kiosk.session.catalogue import HEAD_POSE_CHALLENGES
from kiosk.session.clock import ManualClock
from kiosk.session.engine import EngineSettings, SessionEngine, State
from kiosk.session.observation import Observation


def engine_on(limiter):
    clock = ManualClock()
    return SessionEngine(
        EngineSettings.defaults(), HEAD_POSE_CHALLENGES, clock, rng=random.Random(0), limiter=limiter
    ), clock


def deny_one(eng, clock):
    eng.start()
    for _ in range(30):
        clock.advance(0.04)
        eng.feed(Observation(face=True, faces=1, track_id=1, live=False))
    assert eng.state == State.DENIED


CORRUPT = [
    b"\x00\xff" * 100,
    b'{"failures": [1, "x"]}',
    b'{"in_progress": 7}',
    b"[]",
    b'{"locked_until": 1e999}',
    b'{"version": 1, "failures": [], "in_progress": {"session_id": 3}}',
]


@pytest.mark.parametrize("content", CORRUPT)
def test_a_corrupt_state_file_is_logged_and_the_kiosk_keeps_serving(tmp_path, caplog, content):
    path = tmp_path / "lockout.json"
    path.write_bytes(content)
    rl = RateLimiter(max_failures=2, state_path=path)
    eng, clock = engine_on(rl)
    deny_one(eng, clock)
    counted = rl.failures_in_window() + 2 * rl.locked()
    assert counted >= 1
    reloaded = RateLimiter(max_failures=2, state_path=path)
    assert reloaded.failures_in_window() + 2 * reloaded.locked() == counted, "written afresh, readable again"


def test_a_directory_at_the_state_path_does_not_stop_sessions(tmp_path, caplog):
    path = tmp_path / "lockout.json"
    path.mkdir()
    rl = RateLimiter(max_failures=1, state_path=path)
    eng, clock = engine_on(rl)
    deny_one(eng, clock)
    assert rl.locked(), "the lockout holds in memory"
    assert "cannot save the lockout state" in caplog.text


@pytest.fixture()
def tiny_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_for_the_state_keeps_the_old_file_and_the_lockout_in_memory(tiny_disk, caplog):
    import os

    path = tiny_disk / "lockout.json"
    rl = RateLimiter(max_failures=3, state_path=path)
    rl.record(False)
    saved = path.read_bytes()
    fd = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 1024)
    except OSError:
        pass
    finally:
        os.close(fd)
    rl.record(False)
    rl.record(False)
    assert rl.locked()
    assert "cannot save the lockout state" in caplog.text
    assert path.read_bytes() == saved, "the old state is intact, never half written"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler", "lockout.json"], "no temp file left"
    (tiny_disk / "filler").unlink()
    rl.begin("next")  # the next write goes through
    assert RateLimiter(max_failures=3, state_path=path).locked()
