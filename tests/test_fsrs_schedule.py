"""FSRS at day granularity: the package's own dates for the same answers, plus properties."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import fsrs
import pytest
from hypothesis import given, settings, strategies as st

from studycli import fsrs_schedule as fs
from studycli.fsrs_schedule import NEW, FsrsState, replay, retrievability, review

DAY = date(2026, 1, 1)

grades = st.integers(0, 5)
answers = st.lists(st.tuples(st.integers(0, 120), grades), min_size=1, max_size=15)   # (days after due, grade)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


def reference(answers, retention=0.9):
    """The package driven directly: one review at noon UTC on each day, no steps, no fuzz."""
    scheduler = fsrs.Scheduler(desired_retention=retention, learning_steps=(), relearning_steps=(),
                               enable_fuzzing=False)
    rating = {0: fsrs.Rating.Again, 1: fsrs.Rating.Again, 2: fsrs.Rating.Again,
              3: fsrs.Rating.Hard, 4: fsrs.Rating.Good, 5: fsrs.Rating.Easy}
    card, day, out = fsrs.Card(card_id=1, due=noon(DAY)), DAY, []
    for late, grade in answers:
        day = card.due.date() + timedelta(days=late) if out else day
        card, _ = scheduler.review_card(card, rating[grade], review_datetime=noon(day))
        out.append((day, card.due.date(), card.stability, card.difficulty))
    return out


def ours(answers, retention=0.9):
    state, day, out = NEW, DAY, []
    for late, grade in answers:
        day = state.due + timedelta(days=late) if out else day
        state = review(state, grade, day, retention)
        out.append((day, state.due, state.stability, state.difficulty))
    return out


def test_golden_first_answers():
    # At 90% retention the interval is the stability rounded: FSRS-6's initial stabilities are
    # 0.212 (Again), 1.2931 (Hard), 2.3065 (Good), 8.2956 (Easy) days.
    assert [(review(NEW, q, DAY).due - DAY).days for q in (1, 3, 4, 5)] == [1, 1, 2, 8]
    assert review(NEW, 4, DAY).stability == pytest.approx(2.3065)


@given(answers, st.sampled_from([0.7, 0.8, 0.9, 0.95, 0.99]))
@settings(max_examples=150, deadline=None)
def test_due_dates_equal_the_packages_own(answers, retention):
    assert ours(answers, retention) == reference(answers, retention)


def test_a_hand_written_sequence_equals_the_package():
    answers = [(0, 4), (0, 4), (3, 3), (0, 1), (0, 5), (10, 4)]
    assert ours(answers) == reference(answers)
    # By hand from FSRS-6's formulas: Good first gives S = 2.3065 and D = w4 - e^(2 w5) + 1 = 2.1181;
    # two days later R = (1 + 0.9819 * 2 / 2.3065)^-0.1542 = 0.9095, and Good gives
    # S' = S (1 + e^w8 (11 - D) S^-w9 (e^(w10 (1 - R)) - 1)) = 10.964, so 11 days.
    first, second = ours(answers)[:2]
    assert first[1] == DAY + timedelta(days=2)
    assert second[2] == pytest.approx(10.9643, abs=1e-4) and second[1] == DAY + timedelta(days=2 + 11)


def test_grade_mapping():
    state = review(NEW, 4, DAY)
    later = state.due
    fails = {review(state, q, later) for q in (0, 1, 2)}
    assert len(fails) == 1                                   # 0-2 are all Again
    hard, good, easy = (review(state, q, later) for q in (3, 4, 5))
    assert next(iter(fails)).stability < hard.stability < good.stability < easy.stability
    assert next(iter(fails)).lapses == 1 and good.lapses == 0 and review(NEW, 0, DAY).lapses == 0


@pytest.mark.parametrize("bad", [-1, 6, 2.5, "3", None, True])
def test_quality_outside_0_to_5_is_rejected(bad):
    with pytest.raises(ValueError, match="0 to 5"):
        review(NEW, bad, DAY)


@pytest.mark.parametrize("bad", [0, 1, 1.2, -0.5])
def test_desired_retention_outside_0_to_1_is_rejected(bad):
    with pytest.raises(ValueError, match="retention"):
        review(NEW, 4, DAY, desired_retention=bad)


@given(answers, st.integers(-3, 400))
@settings(max_examples=150, deadline=None)
def test_properties(answers, gap):
    state, day = NEW, DAY
    for n, (late, grade) in enumerate(answers, 1):
        day = state.due + timedelta(days=late) if state.due else day
        after = review(state, grade, day)
        assert after.due > day and after.last_review == day
        assert after.stability > 0 and 1 <= after.difficulty <= 10
        assert after.reps == n and after.lapses == state.lapses + (grade < 3 and state.stability is not None)
        assert after == review(state, grade, day)            # pure: the same answer, the same state
        state = after
    later = state.last_review + timedelta(days=max(gap, 0))
    assert 0 < retrievability(state, later) <= 1


@given(answers)
@settings(max_examples=100, deadline=None)
def test_replay_equals_sequential_review(answers):
    state, day, log = NEW, DAY, []
    for late, grade in answers:
        day = state.due + timedelta(days=late) if state.due else day
        state = review(state, grade, day, 0.85)
        log.append((day, grade))
    assert replay(log, 0.85) == state
    assert replay(list(reversed(log)), 0.85) == state      # oldest first whatever order it comes in
    assert replay([]) == NEW


def test_retrievability_is_the_packages():
    scheduler = fs.scheduler_for(0.9)
    state = review(review(NEW, 4, DAY), 4, DAY + timedelta(days=2))
    card = fs.to_card(state, DAY)
    for days in (0, 1, 5, 30, 365):
        day = state.last_review + timedelta(days=days)
        assert retrievability(state, day) == pytest.approx(scheduler.get_card_retrievability(card, noon(day)))
    assert retrievability(state, state.last_review) == 1.0
    assert fs.forgetting_curve(state.stability, state.stability) == pytest.approx(0.9)
    assert retrievability(NEW, DAY) == 0.0


@given(answers, st.integers(1, 200))
@settings(max_examples=100, deadline=None)
def test_no_review_before_the_final_week_is_scheduled_past_the_exam(answers, days_to_exam):
    state = replay([(DAY + timedelta(days=i), g) for i, (_, g) in enumerate(answers)])
    today = state.last_review
    exam = today + timedelta(days=days_to_exam)
    fitted = fs.before_exam(state, today, exam)
    if days_to_exam <= 7:                        # in the final week: this review is the last one
        assert fitted == state
    else:
        assert today < fitted.due <= exam
        assert fitted == state if state.due <= exam else fitted.due >= exam - timedelta(days=7)
    assert fs.before_exam(NEW, today, exam) == NEW


@given(answers)
@settings(max_examples=50, deadline=None)
def test_json_round_trip(answers):
    state = replay([(DAY + timedelta(days=3 * i), g) for i, (_, g) in enumerate(answers)])
    assert fs.from_json(fs.to_json(state)) == state
    assert fs.from_json(fs.to_json(NEW)) == NEW


@pytest.mark.parametrize("text", [
    "", "{", "[]", "null",
    '{"stability": 1.0}',
    '{"stability": 1.0, "difficulty": 5.0, "due": null, "last_review": "2026-01-01", "reps": 1, "lapses": 0}',
    '{"stability": -1, "difficulty": 5.0, "due": "2026-01-02", "last_review": "2026-01-01", "reps": 1, "lapses": 0}',
    '{"stability": 1.0, "difficulty": 5.0, "due": "soon", "last_review": "2026-01-01", "reps": 1, "lapses": 0}',
    '{"stability": 1.0, "difficulty": 5.0, "due": "2026-01-02", "last_review": "2026-01-01", "reps": 1.5, "lapses": 0}',
])
def test_from_json_rejects_what_to_json_never_wrote(text):
    with pytest.raises(ValueError, match="not a stored FSRS state"):
        fs.from_json(text)


def test_state_must_be_whole():
    with pytest.raises(ValueError):
        FsrsState(stability=1.0, difficulty=None, due=DAY, last_review=DAY)


def test_a_missed_exam_question_is_due_today_and_a_lapse():
    state = review(review(NEW, 4, DAY), 4, DAY + timedelta(days=2))
    today = DAY + timedelta(days=5)
    missed = fs.missed_on_exam(state, today)
    assert missed.due == today and missed.lapses == state.lapses + 1 and missed.stability == state.stability
    overdue = fs.missed_on_exam(state, state.due + timedelta(days=3))
    assert overdue.due == state.due
    assert fs.missed_on_exam(NEW, today) == NEW
