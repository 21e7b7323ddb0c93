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
