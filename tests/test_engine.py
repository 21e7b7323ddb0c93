"""The session engine: pure Python, driven by a manual clock and hand-made observations."""

import collections
import dataclasses
import random

import pytest

from kiosk.session.catalogue import HEAD_POSE_CHALLENGES, Challenge
from kiosk.session.challenges import ChallengeDrawer
from kiosk.session.clock import ManualClock
from kiosk.session.engine import EngineSettings, SessionEngine, State
from kiosk.session.observation import NO_FACE, CaptureProblem, Observation

DT = 0.04  # 25 fps
GESTURE = Challenge("gesture", "like", "👍", "Thumbs up", "Thumbs up.")
EMOTION = Challenge("emotion", "happy", "😄", "Happy", "Smile.")
POOL = list(HEAD_POSE_CHALLENGES) + [GESTURE, EMOTION]


def face(**kw) -> Observation:
    base = dict(face=True, faces=1, track_id=1, live=True, head_pose=(0.0, 0.0, 0.0))
    base.update(kw)
    return Observation(**base)


def meeting(c: Challenge, **kw) -> Observation:
    """An observation that fulfils challenge c."""
    if c.kind == "head_pose":
        pose = {"left": (30, 0, 0), "right": (-30, 0, 0), "up": (0, 25, 0), "down": (0, -25, 0)}[c.target]
        return face(**{"head_pose": pose, **kw})
    if c.kind == "gesture":
        return face(gesture=c.target, **kw)
    return face(emotion=c.target, emotion_margin=0.5, **kw)


class FakeLimiter:
    def __init__(self):
        self.results = []
        self.begun = []
        self.lock = False

    def begin(self, session_id):
        self.begun.append(session_id)

    def record(self, passed):
        self.results.append(passed)

    def locked(self):
        return self.lock

    def remaining_lockout(self):
        return 120.0 if self.lock else 0.0


def make(pool=POOL, seed=1, **settings):
    clock = ManualClock()
    # No pause between challenges, and no onset to see first (the onset rule has its own tests).
    s = EngineSettings.defaults(**{"gap_s": (0.0, 0.0), "onset_frames": 0, **settings})
    eng = SessionEngine(s, pool, clock, rng=random.Random(seed), limiter=FakeLimiter())
    return eng, clock


def feed(eng, clock, obs, n=1):
    events = []
    for _ in range(n):
        clock.advance(DT)
        events += eng.feed(obs)
    return events


def names(events):
    return [e.name for e in events]


def to_challenges(eng, clock):
    eng.start()
    feed(eng, clock, face(), eng.settings.real_frames)
    assert eng.state == State.CHALLENGE
    return eng


# ------------------------------------------------------------------ idle / welcome
def test_idle_to_welcome_when_a_face_appears_and_back_when_it_leaves():
    eng, clock = make(auto_start_s=0, welcome_timeout_s=5)
    assert eng.state == State.IDLE and eng.needs() == {"face"}
    feed(eng, clock, NO_FACE, 10)
    assert eng.state == State.IDLE
    feed(eng, clock, face())
    assert eng.state == State.WELCOME
    feed(eng, clock, NO_FACE, int(5 / DT) + 2)
    assert eng.state == State.IDLE


def test_welcome_auto_starts_after_the_face_is_held():
    eng, clock = make(auto_start_s=2.0)
    feed(eng, clock, face(), int(2.0 / DT) - 2)
    assert eng.state == State.WELCOME
    feed(eng, clock, face(), 3)
    assert eng.state == State.LIVENESS


def test_start_command_from_idle_goes_straight_to_liveness():
    eng, clock = make()
    assert names(eng.start()) == ["state"]
    assert eng.state == State.LIVENESS
    assert eng.needs() == {"face", "liveness", "head_pose"}
    assert eng.start() == []  # ignored mid-session


def test_cancel_in_welcome_returns_to_idle():
    eng, clock = make(auto_start_s=0)
    feed(eng, clock, face())
    eng.cancel()
    assert eng.state == State.IDLE


# ------------------------------------------------------------------------ level 1
def test_liveness_passes_after_exactly_n_consecutive_real_frames():
    eng, clock = make(real_frames=100)
    eng.start()
    feed(eng, clock, face(), 99)
    assert eng.state == State.LIVENESS and eng.view().streak == 99
    feed(eng, clock, face())
    assert eng.state == State.CHALLENGE
    assert eng.record.levels_passed == 1


def test_a_spoof_frame_resets_the_real_streak():
    eng, clock = make(real_frames=100)
    eng.start()
    feed(eng, clock, face(), 99)
    feed(eng, clock, face(live=False))
    feed(eng, clock, face(), 99)
    assert eng.state == State.LIVENESS


def test_m_consecutive_spoof_frames_deny():
    eng, clock = make(spoof_frames=25)
    eng.start()
    feed(eng, clock, face(live=False), 24)
    assert eng.state == State.LIVENESS
    ev = feed(eng, clock, face(live=False))
    assert eng.state == State.DENIED and "denied" in names(ev)
    assert eng.last_record.reason == "spoof"
    assert eng.limiter.results == [False]


def test_interleaved_spoof_frames_never_reach_m():
    eng, clock = make(spoof_frames=25, real_frames=1000, liveness_timeout_s=1000)
    eng.start()
    for _ in range(40):
        feed(eng, clock, face(live=False), 24)
        feed(eng, clock, face())
    assert eng.state == State.LIVENESS


def test_another_person_resets_the_liveness_streak():
    eng, clock = make(real_frames=100)
    eng.start()
    feed(eng, clock, face(), 90)
    feed(eng, clock, face(track_id=2))  # another face took the place of the first
    assert eng.view().streak == 1
    feed(eng, clock, face(track_id=2), 98)
    assert eng.state == State.LIVENESS
    feed(eng, clock, face(track_id=2))
    assert eng.state == State.CHALLENGE


def test_brief_face_loss_and_a_passing_second_face_keep_the_live_streak():
    eng, clock = make(real_frames=100)
    eng.start()
    feed(eng, clock, face(), 60)
    feed(eng, clock, NO_FACE, 3)
    feed(eng, clock, face(faces=2), 2)
    assert eng.view().streak == 60
    feed(eng, clock, face(), 40)
    assert eng.state == State.CHALLENGE


def test_spoof_evidence_survives_face_loss_a_second_face_and_frames_too_poor_to_judge():
    from kiosk.session.observation import CaptureProblem

    eng, clock = make(spoof_frames=25)
    eng.start()
    feed(eng, clock, face(live=False), 10)
    feed(eng, clock, NO_FACE, 2)
    feed(eng, clock, face(live=False), 5)
    feed(eng, clock, face(live=True, faces=2), 2)  # someone walks past: the frame says nothing
    feed(eng, clock, face(live=True, capture=CaptureProblem.BACKLIT), 5)
    feed(eng, clock, face(live=False), 9)
    assert eng.state == State.LIVENESS
    feed(eng, clock, face(live=False))
    assert eng.state == State.DENIED and eng.last_record.reason == "spoof"


def test_another_face_resets_the_live_run_but_keeps_the_spoof_run():
    eng, clock = make(spoof_frames=25, real_frames=100)
    eng.start()
    for _ in range(3):  # a photo with a second face the tracker keeps switching to
        feed(eng, clock, face(live=False, track_id=1), 5)
        feed(eng, clock, face(live=False, track_id=4), 3)
    assert eng.state == State.LIVENESS
    feed(eng, clock, face(live=False, track_id=1))
    assert eng.state == State.DENIED and eng.last_record.reason == "spoof"


def test_a_live_person_after_spoof_frames_of_another_face_is_not_denied():
    eng, clock = make(spoof_frames=25, real_frames=10)
    eng.start()
    feed(eng, clock, face(live=False, track_id=1), 24)
    feed(eng, clock, face(track_id=2), 10)  # their first live frame ends the spoof run
    assert eng.state == State.CHALLENGE


def test_frames_with_a_capture_problem_count_neither_way():
    from kiosk.session.observation import CaptureProblem

    eng, clock = make(real_frames=10, spoof_frames=5, liveness_timeout_s=100)
    eng.start()
    for problem in CaptureProblem:
        feed(eng, clock, face(live=False, capture=problem), 20)
    assert eng.state == State.LIVENESS and eng.view().streak == 0
    feed(eng, clock, face(), 10)
    assert eng.state == State.CHALLENGE


def test_still_frames_never_pass_level_1():
    eng, clock = make(real_frames=10, liveness_timeout_s=3.0)
    eng.start()
    feed(eng, clock, face(still=True), 10)
    assert eng.state == State.LIVENESS and eng.view().streak == 0
    feed(eng, clock, face(), 9)
    feed(eng, clock, face(still=True))  # the run of live frames starts again
    feed(eng, clock, face(), 9)
    assert eng.state == State.LIVENESS
    feed(eng, clock, face(still=True), int(3.0 / DT))
    assert eng.state == State.DENIED and eng.last_record.reason == "liveness_timeout"


def test_two_faces_in_view_do_not_count():
    eng, clock = make(real_frames=10)
    eng.start()
    feed(eng, clock, face(faces=2), 50)
    assert eng.state == State.LIVENESS and eng.view().streak == 0


def test_liveness_times_out_to_denied():
    eng, clock = make(liveness_timeout_s=3.0)
    eng.start()
    feed(eng, clock, face(live=None), int(3.0 / DT) + 1)
    assert eng.state == State.DENIED and eng.last_record.reason == "liveness_timeout"


def test_a_level_1_timeout_on_mostly_poor_frames_says_so():
    """A person the camera could not see well (too dark, backlit, too far) is told that, not
    sent away as failed; it still counts as a failure for the lockout."""
    eng, clock = make(liveness_timeout_s=3.0)
    eng.start()
    feed(eng, clock, face(live=True), 20)
    feed(eng, clock, face(live=True, capture=CaptureProblem.BACKLIT), int(3.0 / DT))
    assert eng.state == State.DENIED and eng.last_record.reason == "poor_capture"
    assert eng.limiter.results == [False]

    eng, clock = make(liveness_timeout_s=3.0, real_frames=1000)
    eng.start()
    feed(eng, clock, face(live=True, capture=CaptureProblem.DARK), 20)
    feed(eng, clock, face(live=True), int(3.0 / DT))
    assert eng.state == State.DENIED and eng.last_record.reason == "liveness_timeout"


def test_require_blink_holds_level_1_until_a_blink():
    eng, clock = make(real_frames=10, require_blink=True)
    eng.start()
    feed(eng, clock, face(), 30)
    assert eng.state == State.LIVENESS
    feed(eng, clock, face(blink=True))
    assert eng.state == State.CHALLENGE


def test_in_level_1_a_face_that_looks_flat_is_left_to_the_model():
    """A small or dark real face barely turning can read as flat: in level 1 only the model's
    live / spoof frames decide (a flat print is denied as spoof)."""
    eng, clock = make(real_frames=30)
    eng.start()
    feed(eng, clock, face(shape=False), 30)
    assert eng.state == State.CHALLENGE
    eng, clock = make(real_frames=30, spoof_frames=10)
    eng.start()
    feed(eng, clock, face(live=False, shape=False), 10)
    assert eng.state == State.DENIED and eng.last_record.reason == "spoof"


def test_the_flat_cue_in_a_head_pose_challenge_can_be_switched_off():
    eng, clock = make(pool=list(HEAD_POSE_CHALLENGES), real_frames=5, deny_on_flat=False)
    eng.start()
    feed(eng, clock, face(), 5)
    feed(eng, clock, meeting(eng.view().challenge, shape=False))
    assert eng.state == State.CHALLENGE


def test_require_3d_holds_level_1_until_depth_was_seen():
    eng, clock = make(real_frames=10, require_3d=True)
    eng.start()
    feed(eng, clock, face(), 30)
    assert eng.state == State.LIVENESS
    feed(eng, clock, face(shape=True))
    assert eng.state == State.CHALLENGE


def test_a_tilted_picture_meeting_a_head_pose_challenge_is_denied():
    eng, clock = make(pool=list(HEAD_POSE_CHALLENGES), real_frames=5)
    eng.start()
    feed(eng, clock, face(), 5)
    assert eng.state == State.CHALLENGE
    feed(eng, clock, meeting(eng.view().challenge, shape=False))
    assert eng.state == State.DENIED and eng.last_record.reason == "flat"


def test_face_lost_for_too_long_abandons_the_session():
    eng, clock = make(face_lost_timeout_s=2.0)
    eng.start()
    feed(eng, clock, face(), 10)
    ev = feed(eng, clock, NO_FACE, int(2.0 / DT) + 2)
    assert "abandoned" in names(ev) and eng.state == State.IDLE
    assert eng.last_record.result == "abandoned" and eng.last_record.reason == "face_lost"


def test_tick_alone_fires_timeouts_when_frames_stop():
    eng, clock = make(face_lost_timeout_s=2.0)
    eng.start()
    clock.advance(2.5)
    assert "abandoned" in names(eng.tick())


# ------------------------------------------------------------------------ level 2
def test_seven_challenges_of_25_frames_pass_the_session():
    eng, clock = make()
    to_challenges(eng, clock)
    seen = []
    for i in range(7):
        v = eng.view()
        assert v.index == i + 1 and v.total == 7
        c = v.challenge
        seen.append(c.id)
        feed(eng, clock, meeting(c), 24)
        assert eng.view().streak == 24 and eng.view().detected
        feed(eng, clock, meeting(c))
    assert eng.state == State.PASSED
    rec = eng.last_record
    assert rec.result == "passed" and rec.levels_passed == 2
    assert [c.id for c in rec.challenges] == seen and all(c.passed for c in rec.challenges)
    assert all(a != b for a, b in zip(seen, seen[1:])), "the same challenge twice in a row"
    assert eng.limiter.results == [True]


def pass_every_challenge(eng, clock):
    for _ in range(7):
        feed(eng, clock, meeting(eng.view().challenge), eng.settings.frames_to_pass)
    assert eng.state == State.PASSED


def test_a_verified_person_who_lingers_is_not_checked_again_until_they_have_left():
    eng, clock = make(auto_start_s=1.0, result_display_s=2.0)
    to_challenges(eng, clock)
    pass_every_challenge(eng, clock)
    feed(eng, clock, face(), int(2.0 / DT) + 2)
    assert eng.state == State.IDLE
    feed(eng, clock, face(), int(60 / DT))
    assert eng.state == State.IDLE, "a second, unasked-for session for the person still reading their verdict"
    assert eng.limiter.results == [True]
    feed(eng, clock, NO_FACE)
    feed(eng, clock, face())
    assert eng.state == State.WELCOME, "whoever steps in after they left is welcomed"


def test_a_verified_person_who_lingers_can_still_start_again_by_choice():
    eng, clock = make(result_display_s=2.0)
    to_challenges(eng, clock)
    pass_every_challenge(eng, clock)
    feed(eng, clock, face(), int(2.0 / DT) + 2)
    assert eng.state == State.IDLE
    eng.welcome()  # Start pressed on the attract screen
    assert eng.state == State.WELCOME


def test_after_a_denial_the_person_still_in_view_is_welcomed_to_try_again():
    eng, clock = make(result_display_s=2.0, attempts=1, time_limit_s=1.0)
    to_challenges(eng, clock)
    feed(eng, clock, face(), int(1.5 / DT))
    assert eng.state == State.DENIED
    feed(eng, clock, face(), int(2.0 / DT) + 2)
    assert eng.state == State.WELCOME


def test_needs_follow_the_challenge_kind():
    eng, clock = make(pool=[GESTURE, EMOTION], seed=3)
    to_challenges(eng, clock)
    expected = {"gesture": {"face", "hands"}, "emotion": {"face", "emotion"}}
    for _ in range(4):
        c = eng.view().challenge
        assert eng.needs() == expected[c.kind]
        feed(eng, clock, meeting(c), 25)


def test_a_broken_streak_starts_again():
    eng, clock = make()
    to_challenges(eng, clock)
    c = eng.view().challenge
    feed(eng, clock, meeting(c), 20)
    feed(eng, clock, face(head_pose=(0, 0, 0), gesture="none", emotion="neutral"))
    assert eng.view().streak == 0
    feed(eng, clock, meeting(c), 24)
    assert eng.view().index == 1
    feed(eng, clock, meeting(c))
    assert eng.view().index == 2


def test_timeout_uses_an_attempt_and_draws_a_new_challenge():
    eng, clock = make(time_limit_s=10.0, attempts=3)
    to_challenges(eng, clock)
    first = eng.view().challenge
    ev = feed(eng, clock, face(head_pose=(0, 0, 0)), int(10.0 / DT) + 1)
    assert "challenge_failed" in names(ev)
    v = eng.view()
    assert v.attempts_left == 2 and v.index == 1 and v.challenge != first


def test_three_failed_attempts_deny():
    eng, clock = make(time_limit_s=5.0, attempts=3)
    to_challenges(eng, clock)
    c = eng.view().challenge
    feed(eng, clock, meeting(c), 25)  # one passed
    for _ in range(3):
        feed(eng, clock, face(head_pose=(0, 0, 0), gesture="none"), int(5.0 / DT) + 1)
    assert eng.state == State.DENIED
    assert eng.last_record.reason == "attempts_exhausted"
    assert [c.passed for c in eng.last_record.challenges] == [True, False, False, False]


def test_more_time_extends_the_deadline_up_to_the_limit():
    eng, clock = make(time_limit_s=10.0, max_extensions=2)
    to_challenges(eng, clock)
    feed(eng, clock, face(), int(8.0 / DT))
    assert names(eng.more_time()) == ["extended"]
    assert eng.view().time_left == pytest.approx(12.0, abs=0.1)
    assert names(eng.more_time()) == ["extended"]
    assert eng.more_time() == []  # no third extension
    feed(eng, clock, face(), int(21.0 / DT))
    assert eng.view().attempts_left == 3, "still within the extended time"
    feed(eng, clock, face(), int(2.0 / DT))
    assert eng.view().attempts_left == 2
    assert eng.last_record is None or eng.record.challenges[0].extensions == 2


def test_gap_between_challenges_is_random_and_frames_in_it_do_not_count():
    eng, clock = make(gap_s=(0.5, 1.5))
    to_challenges(eng, clock)
    gaps = []
    for _ in range(6):
        c = eng.view().challenge
        feed(eng, clock, meeting(c), 25)
        v = eng.view()
        assert v.in_gap and v.time_left is None
        t0 = clock.now()
        while eng.view().in_gap:
            feed(eng, clock, meeting(eng.view().challenge))
        gaps.append(clock.now() - t0)
        assert eng.view().streak <= 1
    assert all(0.4 <= g <= 1.6 for g in gaps)
    assert len({round(g, 2) for g in gaps}) > 1


# ------------------------------------------------------------------ onset after the prompt
def not_meeting(c: Challenge) -> Observation:
    """The person is seen, doing something other than what c asks (head frontal, no gesture, neutral)."""
    return face(head_pose=(0.0, 0.0, 0.0), gesture="none", emotion="neutral", emotion_margin=0.5)


def test_a_still_showing_the_asked_state_from_the_prompt_on_never_passes():
    """A smiling photo (or a held gesture replayed from a clip) shows the asked state before the
    prompt appeared: with no onset seen, none of its frames count and the challenge times out."""
    eng, clock = make(onset_frames=3, time_limit_s=5.0)
    to_challenges(eng, clock)
    c = eng.view().challenge
    ev = feed(eng, clock, meeting(c), int(5.0 / DT) + 1)
    assert "challenge_passed" not in names(ev) and "detected" not in names(ev)
    assert "challenge_failed" in names(ev)
    assert eng.record.challenges[0].matched_frames == 0


def test_the_asked_state_counts_once_it_started_after_the_prompt():
    eng, clock = make(onset_frames=3)
    to_challenges(eng, clock)
    c = eng.view().challenge
    feed(eng, clock, not_meeting(c), 2)
    feed(eng, clock, meeting(c), 30)
    assert eng.view().index == 1 and eng.record.challenges[0].matched_frames == 0, "2 frames are no onset"
    feed(eng, clock, not_meeting(c), 3)
    ev = feed(eng, clock, meeting(c), 25)
    assert names(ev).count("challenge_passed") == 1


def test_the_onset_may_be_seen_during_the_pause_before_the_challenge():
    """The prompt shows during the pause: a person who starts moving then is not turned away."""
    eng, clock = make(onset_frames=3, gap_s=(1.0, 1.0))
    to_challenges(eng, clock)
    first = eng.view().challenge
    feed(eng, clock, not_meeting(first), 3)
    feed(eng, clock, meeting(first), 25)
    assert eng.view().in_gap
    c = eng.view().challenge
    feed(eng, clock, not_meeting(c), 5)
    while eng.view().in_gap:
        feed(eng, clock, meeting(c))
    ev = feed(eng, clock, meeting(c), 25)
    assert "challenge_passed" in names(ev)


def test_frames_with_another_face_in_view_show_no_onset():
    """With a second face in view the pipeline classifies nothing, so such frames are no evidence
    that the asked state was absent: a clip that shows two faces and then one face already showing
    the asked state cannot pass."""
    eng, clock = make(onset_frames=3, time_limit_s=5.0)
    to_challenges(eng, clock)
    c = eng.view().challenge
    feed(eng, clock, dataclasses.replace(not_meeting(c), faces=2), 10)
    ev = feed(eng, clock, meeting(c), int(5.0 / DT))
    assert "challenge_passed" not in names(ev) and eng.record.challenges[0].matched_frames == 0


def test_still_frames_neither_hold_nor_break_a_challenge():
    """Frames with no sensor noise or micro-motion are no evidence of a live person: a frozen
    feed cannot hold a challenge, and a duplicated frame does not throw away a real hold."""
    eng, clock = make(onset_frames=3, time_limit_s=5.0)
    to_challenges(eng, clock)
    c = eng.view().challenge
    feed(eng, clock, not_meeting(c), 3)
    feed(eng, clock, meeting(c), 20)
    ev = feed(eng, clock, meeting(c, still=True), 40)
    assert "challenge_passed" not in names(ev) and eng.view().streak == 20
    ev = feed(eng, clock, meeting(c), 5)
    assert "challenge_passed" in names(ev)


def test_a_pause_restarts_the_hold_and_the_live_run_but_keeps_the_spoof_run():
    """Frames under help or a question are not judged, so what the camera saw then is unknown: a
    hold (or level 1's run of live frames) made of pieces on either side of a pause is no hold. The
    countdown waited, so starting the hold again costs no time; spoof evidence stays."""
    eng, clock = make(onset_frames=3)
    to_challenges(eng, clock)
    c = eng.view().challenge
    feed(eng, clock, not_meeting(c), 3)
    feed(eng, clock, meeting(c), 20)
    eng.pause()
    feed(eng, clock, not_meeting(c), 100)  # under the help screen, the asked state was dropped
    eng.resume()
    ev = feed(eng, clock, meeting(c), 5)
    assert "challenge_passed" not in names(ev) and eng.view().streak == 5
    ev = feed(eng, clock, meeting(c), 20)
    assert "challenge_passed" in names(ev)

    eng, clock = make(real_frames=100, spoof_frames=25)
    eng.start()
    feed(eng, clock, face(), 90)
    eng.pause()
    eng.resume()
    feed(eng, clock, face(), 10)
    assert eng.state == State.LIVENESS and eng.view().streak == 10
    feed(eng, clock, face(live=False), 24)
    eng.pause()
    eng.resume()
    feed(eng, clock, face(live=False))
    assert eng.state == State.DENIED and eng.last_record.reason == "spoof"


def test_another_face_after_level_1_sends_back_to_level_1():
    eng, clock = make()
    to_challenges(eng, clock)
    ev = feed(eng, clock, face(track_id=7))
    assert "track_changed" in names(ev) and eng.state == State.LIVENESS


def test_failed_challenges_survive_a_return_to_level_1():
    """A new face sends the session back to level 1, but its failed challenges stay: a swap of
    faces (a second clip, a hand over the lens and another face) must not buy fresh tries."""
    eng, clock = make(time_limit_s=2.0, attempts=3)
    to_challenges(eng, clock)
    idle = face(head_pose=(0, 0, 0), gesture="none", emotion="neutral")
    feed(eng, clock, idle, 2 * (int(2.0 / DT) + 1))  # two challenges time out
    assert eng.view().attempts_left == 1
    feed(eng, clock, face(track_id=2))  # another face: back to level 1
    assert eng.state == State.LIVENESS
    feed(eng, clock, face(track_id=2), eng.settings.real_frames)
    assert eng.state == State.CHALLENGE and eng.view().attempts_left == 1
    feed(eng, clock, dataclasses.replace(idle, track_id=2), int(2.0 / DT) + 1)
    assert eng.state == State.DENIED and eng.last_record.reason == "attempts_exhausted"


def test_head_pose_is_judged_against_the_persons_neutral_pose():
    eng, clock = make(pool=list(HEAD_POSE_CHALLENGES))
    eng.start()
    feed(eng, clock, face(head_pose=(0.0, -14.0, 0.0)), 100)  # camera above the screen
    assert eng.baseline == (0.0, -14.0)
    while eng.view().challenge.target != "down":
        c = eng.view().challenge
        assert not eng.settings.judge.matches(c, face(head_pose=(0.0, -14.0, 0.0)), eng.baseline)
        feed(
            eng,
            clock,
            meeting(c, head_pose={"left": (30, -14, 0), "right": (-30, -14, 0), "up": (0, 10, 0)}[c.target]),
            25,
        )
        while eng.view().in_gap:
            clock.advance(DT)
    c = eng.view().challenge
    feed(eng, clock, face(head_pose=(0.0, -20.0, 0.0)), 25)
    assert eng.view().challenge is c and eng.view().streak == 0, "-6 deg from neutral is not 'down'"
    feed(eng, clock, face(head_pose=(0.0, -32.0, 0.0)), 25)
    assert eng.view().challenge is not c or eng.state == State.PASSED


def test_results_return_to_idle_after_display_time():
    eng, clock = make(spoof_frames=2, result_display_s=3.0)
    eng.start()
    feed(eng, clock, face(live=False), 2)
    assert eng.state == State.DENIED
    feed(eng, clock, NO_FACE, int(3.0 / DT) + 1)
    assert eng.state == State.IDLE and eng.record is None


def test_view_never_exposes_a_score():
    from kiosk.session.engine import SessionView

    assert not any("score" in f for f in SessionView.__dataclass_fields__)


# ------------------------------------------------------------------ rate limiting
def test_locked_limiter_refuses_to_start_and_shows_locked():
    eng, clock = make()
    eng.limiter.lock = True
    eng.start()
    assert eng.state == State.LOCKED
    eng.limiter.lock = False
    eng.tick()
    assert eng.state == State.IDLE


# --------------------------------------------------------------- accessibility
def test_profile_no_hands_removes_gestures_but_keeps_the_count():
    eng, clock = make(seed=5)
    eng.start()
    eng.set_profile("no_hands")
    feed(eng, clock, face(), 100)
    kinds = []
    for _ in range(7):
        c = eng.view().challenge
        kinds.append(c.kind)
        feed(eng, clock, meeting(c), 25)
    assert eng.state == State.PASSED and "gesture" not in kinds
    assert len(eng.last_record.challenges) == 7


def test_profile_that_leaves_nothing_is_refused():
    eng, clock = make(pool=[GESTURE])
    with pytest.raises(ValueError):
        eng.set_profile("no_hands")
    assert "no_hands" not in eng.available_profiles()


# --------------------------------------------------------------------- the draw
def test_draw_spread_is_roughly_uniform_over_kinds_and_targets():
    pool = POOL + [
        Challenge("gesture", "fist", "✊", "Fist", "Fist."),
        Challenge("emotion", "surprise", "😮", "Surprise", "Open your mouth."),
    ]
    drawer = ChallengeDrawer(pool)  # SystemRandom: the real cryptographic RNG
    n = 6000
    counts = collections.Counter()
    prev = None
    for _ in range(n):
        prev = drawer.draw(previous=prev)
        counts[prev.kind] += 1
    for kind in ("head_pose", "gesture", "emotion"):
        assert abs(counts[kind] / n - 1 / 3) < 0.03, counts
    heads = collections.Counter(drawer.draw(excluded_kinds={"gesture", "emotion"}).target for _ in range(4000))
    for target in ("left", "right", "up", "down"):
        assert abs(heads[target] / 4000 - 0.25) < 0.03, heads


def test_default_rng_is_cryptographic():
    import secrets

    eng = SessionEngine(EngineSettings.defaults(), POOL, ManualClock())
    assert isinstance(eng.rng, secrets.SystemRandom)


def test_judge_thresholds():
    j = EngineSettings.defaults().judge
    left = HEAD_POSE_CHALLENGES[0]
    assert j.matches(left, face(head_pose=(25, 0, 0)))
    assert not j.matches(left, face(head_pose=(15, 0, 0)))
    assert not j.matches(left, face(head_pose=(25, 40, 0))), "looking up while turning"
    assert not j.matches(EMOTION, face(emotion="happy", emotion_margin=0.05)), "needs a margin"
    assert not j.matches(left, Observation(face=False, head_pose=(30, 0, 0)))


def test_an_asked_gesture_turned_away_for_a_reason_the_person_can_fix_is_a_hint():
    """The hand shows the asked gesture but with its palm turned from the camera or the fingers
    not up: the view says so (the controller tells the person); any other refusal, another
    gesture's, or another kind of challenge says nothing. The frame still does not count."""
    open_hand = Challenge("gesture", "hi_five", "✋", "Open hand", "Open hand.")
    eng, clock = make(pool=[open_hand])
    to_challenges(eng, clock)
    feed(eng, clock, face(gesture="none", gesture_rejected=("hi_five", "palm turned")), 3)
    v = eng.view()
    assert v.gesture_hint == "palm turned" and v.streak == 0 and not v.detected
    feed(eng, clock, face(gesture="none", gesture_rejected=("hi_five", "not upright")))
    assert eng.view().gesture_hint == "not upright"
    for rejected in (("hi_five", "confidence"), ("hi_five", "fingers"), ("one", "palm turned"), None):
        feed(eng, clock, face(gesture="none", gesture_rejected=rejected))
        assert eng.view().gesture_hint is None, rejected
    feed(eng, clock, meeting(open_hand))
    assert eng.view().gesture_hint is None and eng.view().detected

    head = HEAD_POSE_CHALLENGES[0]
    eng, clock = make(pool=[head])
    to_challenges(eng, clock)
    feed(eng, clock, face(gesture="none", gesture_rejected=("hi_five", "palm turned")))
    assert eng.view().gesture_hint is None
