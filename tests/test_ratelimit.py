"""Lockout after repeated failed sessions, driven by a fake clock."""

import pytest

from kiosk.ratelimit import RateLimiter


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def limiter(**kw):
    clock = FakeClock()
    return RateLimiter(clock=clock, **kw), clock


def fail(rl, clock, n, every_s=10.0):
    for _ in range(n):
        rl.record(False)
        clock.advance(every_s)


def test_fifth_failure_within_window_locks_for_lockout():
    rl, clock = limiter(max_failures=5, window_s=180, lockout_s=300)
    fail(rl, clock, 4)
    assert not rl.locked() and rl.remaining_lockout() == 0.0 and rl.failures_in_window() == 4
    rl.record(False)
    assert rl.locked() and rl.remaining_lockout() == pytest.approx(300)
    clock.advance(299.5)
    assert rl.locked() and rl.remaining_lockout() == pytest.approx(0.5)
    clock.advance(0.5)
    assert not rl.locked() and rl.remaining_lockout() == 0.0


def test_failures_spread_beyond_the_window_do_not_lock():
    rl, clock = limiter(max_failures=5, window_s=180, lockout_s=300)
    fail(rl, clock, 20, every_s=45.0)  # at most 4 in any 180 s
    assert not rl.locked()
    assert rl.failures_in_window() == 3  # failures 45, 90, 135 s ago; 180 s ago has left


def test_window_boundary_is_exclusive():
    rl, clock = limiter(max_failures=2, window_s=60, lockout_s=10)
    rl.record(False)
    clock.advance(60)  # the first failure has just left the window
    rl.record(False)
    assert not rl.locked()
    clock.advance(59.9)
    rl.record(False)
    assert rl.locked()


def test_a_pass_does_not_erase_failures():
    rl, clock = limiter(max_failures=3, window_s=180, lockout_s=60)
    fail(rl, clock, 2)
    rl.record(True)
    rl.record(False)
    assert rl.locked()


def test_sessions_during_lockout_do_not_extend_it_and_count_restarts_after():
    rl, clock = limiter(max_failures=2, window_s=100, lockout_s=50)
    fail(rl, clock, 2, every_s=0)
    assert rl.locked()
    clock.advance(40)
    rl.record(False)  # should not happen, but must not extend or re-arm
    assert rl.remaining_lockout() == pytest.approx(10)
    clock.advance(10)
    assert not rl.locked() and rl.failures_in_window() == 0
    rl.record(False)
    assert not rl.locked()
    rl.record(False)
    assert rl.locked()


def test_zero_lockout_never_locks_and_reset_unlocks():
    rl, clock = limiter(max_failures=1, window_s=10, lockout_s=0)
    fail(rl, clock, 5, every_s=0)
    assert not rl.locked()
    rl2, clock2 = limiter(max_failures=1, window_s=10, lockout_s=100)
    rl2.record(False)
    assert rl2.locked()
    rl2.reset()
    assert not rl2.locked() and rl2.failures_in_window() == 0


@pytest.mark.parametrize("kw", [dict(max_failures=0), dict(window_s=0), dict(lockout_s=-1)])
def test_bad_settings_are_refused(kw):
    with pytest.raises(ValueError):
        RateLimiter(**kw)


def test_default_clock_is_monotonic():
    import time

    assert RateLimiter()._clock is time.monotonic


# --------------------------------------------------------------------------- surviving a restart
def restarted(path, wall_t, **kw):
    """A new process: a fresh monotonic clock with another origin, the wall clock at wall_t."""
    clock, wall = FakeClock(5.0), FakeClock(wall_t)
    return RateLimiter(clock=clock, wall=wall, state_path=path, **kw), clock, wall


def four_failures_saved(tmp_path, wall_t):
    """The state file of a kiosk that saw four failures, 10 s apart, from wall time wall_t."""
    path = tmp_path / "lockout.json"
    clock, wall = FakeClock(), FakeClock(wall_t)
    rl = RateLimiter(max_failures=5, window_s=180, lockout_s=300, clock=clock, wall=wall, state_path=path)
    for _ in range(4):
        rl.record(False)
        clock.advance(10)
        wall.advance(10)
    return path


def test_a_lockout_survives_a_restart_and_still_ends_on_time(tmp_path):
    path = tmp_path / "state" / "lockout.json"
    clock, wall = FakeClock(), FakeClock(1_000_000.0)
    rl = RateLimiter(max_failures=3, window_s=180, lockout_s=300, clock=clock, wall=wall, state_path=path)
    for _ in range(3):
        rl.record(False)
    assert rl.locked() and path.is_file()
    assert path.stat().st_mode & 0o077 == 0, "private to the kiosk user"
    # power cut; the kiosk is back 100 s later
    rl2, clock2, _ = restarted(path, 1_000_100.0, max_failures=3, window_s=180, lockout_s=300)
    assert rl2.locked() and rl2.remaining_lockout() == pytest.approx(200)
    clock2.advance(200)
    assert not rl2.locked()


def test_failures_in_the_window_survive_a_restart(tmp_path):
    path = four_failures_saved(tmp_path, 2_000_000.0)
    rl2, _, _ = restarted(path, 2_000_050.0, max_failures=5, window_s=180, lockout_s=300)
    assert rl2.failures_in_window() == 4 and not rl2.locked()
    rl2.record(False)  # the 5th within 180 s, across the restart
    assert rl2.locked()


def test_failures_older_than_the_window_are_forgotten_across_a_restart(tmp_path):
    path = tmp_path / "lockout.json"
    clock, wall = FakeClock(), FakeClock(2_500_000.0)
    rl = RateLimiter(max_failures=5, window_s=180, lockout_s=300, clock=clock, wall=wall, state_path=path)
    rl.record(False)
    rl.record(False)
    assert restarted(path, 2_500_100.0, max_failures=5, window_s=180)[0].failures_in_window() == 2
    assert restarted(path, 2_500_181.0, max_failures=5, window_s=180)[0].failures_in_window() == 0


def test_a_clock_set_back_cannot_lengthen_a_reloaded_lockout(tmp_path):
    path = tmp_path / "lockout.json"
    clock, wall = FakeClock(), FakeClock(3_000_000.0)
    rl = RateLimiter(max_failures=1, window_s=60, lockout_s=300, clock=clock, wall=wall, state_path=path)
    rl.record(False)
    rl2, _, _ = restarted(path, 3_000_000.0 - 86_400, max_failures=1, window_s=60, lockout_s=300)
    assert rl2.remaining_lockout() == pytest.approx(300)
    rl3, _, _ = restarted(path, 3_000_000.0 + 301, max_failures=1, window_s=60, lockout_s=300)
    assert not rl3.locked()


def test_a_clock_set_back_across_a_restart_does_not_forget_the_failures(tmp_path):
    """A kiosk without a battery-backed clock boots with the time it last saved (fake-hwclock),
    minutes behind, until NTP answers: the saved failures then lay "in the future" and were
    dropped, so pulling the plug after four failures gave four more tries."""
    path = four_failures_saved(tmp_path, 3_000_000.0)
    saved = path.read_bytes()
    rl2, _, _ = restarted(path, 3_000_000.0 - 600, max_failures=5, window_s=180, lockout_s=300)
    assert rl2.failures_in_window() == 4
    rl2.record(False)
    assert rl2.locked()
    # Counted as of the restart at most: a clock set back does not stretch their window either.
    path.write_bytes(saved)
    rl3, clock3, _ = restarted(path, 3_000_000.0 - 600, max_failures=5, window_s=180, lockout_s=300)
    clock3.advance(180)
    assert rl3.failures_in_window() == 0


def test_reset_clears_the_saved_state(tmp_path):
    path = tmp_path / "lockout.json"
    rl = RateLimiter(max_failures=1, clock=FakeClock(), wall=FakeClock(4_000_000.0), state_path=path)
    rl.record(False)
    rl.reset()
    rl2, _, _ = restarted(path, 4_000_001.0, max_failures=1)
    assert not rl2.locked() and rl2.failures_in_window() == 0


@pytest.mark.parametrize("content", ["{not json", '{"locked_until": "soon"}', "[1, 2]", ""])
def test_an_unreadable_state_file_is_logged_and_ignored(tmp_path, caplog, content):
    path = tmp_path / "lockout.json"
    path.write_text(content)
    rl, _, _ = restarted(path, 5_000_000.0, max_failures=2)
    assert not rl.locked() and rl.failures_in_window() == 0
    assert "unreadable lockout state" in caplog.text
    rl.record(False)
    rl.record(False)
    assert rl.locked(), "still counts, and overwrites the bad file"
    rl2, _, _ = restarted(path, 5_000_001.0, max_failures=2)
    assert rl2.locked()


def test_an_unwritable_state_path_does_not_stop_the_kiosk(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rl = RateLimiter(max_failures=1, clock=FakeClock(), state_path=blocker / "sub" / "lockout.json")
    rl.record(False)
    assert rl.locked(), "the lockout works in memory"
    assert "cannot save the lockout state" in caplog.text


# ------------------------------------------------------------------ interrupted sessions


def test_a_session_cut_short_is_counted_once_at_the_next_start(tmp_path, caplog):
    path = tmp_path / "lockout.json"
    rl = RateLimiter(
        max_failures=2, window_s=180, lockout_s=300, clock=FakeClock(), wall=FakeClock(6_000_000.0), state_path=path
    )
    rl.begin("sess-cut")
    # the process dies here: nothing else is written
    rl2, _, _ = restarted(path, 6_000_010.0, max_failures=2, window_s=180, lockout_s=300)
    assert rl2.failures_in_window() == 1
    assert [i["session_id"] for i in rl2.interrupted] == ["sess-cut"]
    assert "sess-cut" in caplog.text and "abandoned" in caplog.text
    rl2.reported("sess-cut")  # its "fail" verdict is in the spool or with the host
    rl3, _, _ = restarted(path, 6_000_020.0, max_failures=2, window_s=180, lockout_s=300)
    assert rl3.failures_in_window() == 1 and rl3.interrupted == [], "counted once, not at every start"


def test_a_cut_session_stays_to_report_until_its_verdict_is_safe_and_counts_once(tmp_path):
    # The kiosk dies again (or cannot sign: no device key) before the verdict of a session cut
    # short reaches the spool: the next start reports it again, without counting it again.
    path = tmp_path / "lockout.json"
    rl = RateLimiter(max_failures=3, clock=FakeClock(), wall=FakeClock(6_500_000.0), state_path=path)
    rl.begin("sess-cut")
    rl2, _, _ = restarted(path, 6_500_010.0, max_failures=3)
    assert [i["session_id"] for i in rl2.interrupted] == ["sess-cut"]
    rl2.begin("sess-next")  # a new session starts before the first verdict is safe: both are kept
    rl3, _, _ = restarted(path, 6_500_020.0, max_failures=3)
    assert [i["session_id"] for i in rl3.interrupted] == ["sess-cut", "sess-next"]
    assert rl3.failures_in_window() == 2, "each cut session counted once"
    rl3.reported("sess-cut")
    rl4, _, _ = restarted(path, 6_500_030.0, max_failures=3)
    assert [i["session_id"] for i in rl4.interrupted] == ["sess-next"] and rl4.failures_in_window() == 2


def test_a_finished_session_clears_its_marker(tmp_path):
    path = tmp_path / "lockout.json"
    rl = RateLimiter(max_failures=2, clock=FakeClock(), wall=FakeClock(7_000_000.0), state_path=path)
    rl.begin("sess-ok")
    rl.record(True)
    rl2, _, _ = restarted(path, 7_000_001.0, max_failures=2)
    assert rl2.failures_in_window() == 0 and rl2.interrupted == []


def test_a_session_cut_while_locked_does_not_count_again_at_every_start(tmp_path):
    path = tmp_path / "lockout.json"
    rl = RateLimiter(max_failures=1, lockout_s=300, clock=FakeClock(), wall=FakeClock(8_000_000.0), state_path=path)
    rl.begin("a")
    rl2, _, _ = restarted(path, 8_000_001.0, max_failures=1, lockout_s=300)
    assert rl2.locked()
    rl2.begin("b")  # a session cannot start while locked, but a stale marker must not loop either
    rl3, _, _ = restarted(path, 8_000_002.0, max_failures=1, lockout_s=300)
    assert [i["session_id"] for i in rl3.interrupted] == ["a", "b"]
    for cut in rl3.interrupted:
        rl3.reported(cut["session_id"])
    rl4, _, _ = restarted(path, 8_000_003.0, max_failures=1, lockout_s=300)
    assert not rl4.interrupted


def test_the_state_file_never_follows_a_planted_symlink(tmp_path):
    path = tmp_path / "lockout.json"
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "lockout.json.tmp").symlink_to(victim)
    rl = RateLimiter(max_failures=1, clock=FakeClock(), wall=FakeClock(9_000_000.0), state_path=path)
    rl.record(False)
    assert victim.read_text() == "precious"
    assert path.is_file() and not path.is_symlink() and (path.stat().st_mode & 0o077) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lockout.json", "lockout.json.tmp", "victim"]


# ------------------------------------------------------------------ admin PIN


def test_pin_gate_locks_after_five_wrong_entries_for_five_minutes(caplog):
    from kiosk.ratelimit import PinGate

    clock = FakeClock()
    gate = PinGate("271828", clock=clock)
    for n in range(4):
        r = gate.check("000000")
        assert not r.accepted and r.tries_left == 4 - n and r.locked_s == 0
    r = gate.check("000001")
    assert not r.accepted and r.locked_s == 300
    assert not gate.check("271828").accepted, "the right PIN is refused while locked"
    clock.advance(299)
    assert gate.check("271828").locked_s == pytest.approx(1)
    clock.advance(1)
    assert gate.check("271828").accepted
    assert "271828" not in caplog.text and "000000" not in caplog.text, "the PIN is never logged"
    assert caplog.text.count("wrong admin PIN") == 5 and "locked for 300 s" in caplog.text


def test_pin_gate_compares_in_constant_time(monkeypatch):
    import hmac

    from kiosk import ratelimit

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(ratelimit.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    gate = ratelimit.PinGate("123456", clock=FakeClock())
    assert gate.check("123456").accepted and not gate.check("12345").accepted
    assert len(calls) == 2


def test_a_disabled_pin_gate_accepts_nothing():
    from kiosk.ratelimit import PinGate

    gate = PinGate("", clock=FakeClock())
    assert not gate.enabled and not gate.check("").accepted and not gate.check("123456").accepted
