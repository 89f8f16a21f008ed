"""SM-2 against sequences computed by hand, plus properties that must hold for any answers."""

from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from studycli.scheduler import MAX_INTERVAL_DAYS, MIN_EF, QueueItem, SM2State, build_queue, needs_repeat, review

DAY = date(2026, 1, 1)


def run(grades, start=SM2State()):
    state, states, today = start, [], DAY
    for quality in grades:
        state = review(state, quality, today)
        states.append(state)
        today = state.due
    return states


def test_golden_sequence_of_successes_then_a_lapse():
    # EF: 2.5 +0.1 -> 2.6 +0.1 -> 2.7 +0 -> 2.7 -0.14 -> 2.56 -0.32 -> 2.24
    # interval: 1, 6, ceil(6*2.7)=17, ceil(17*2.7)=ceil(45.9)=46, lapse -> 1
    states = run([5, 5, 4, 3, 2])
    assert [s.interval for s in states] == [1, 6, 17, 46, 1]
    assert [s.repetitions for s in states] == [1, 2, 3, 4, 0]
    assert [s.ef for s in states] == pytest.approx([2.6, 2.7, 2.7, 2.56, 2.24])


def test_interval_uses_ef_from_before_the_answer_and_rounds_up():
    state = SM2State(ef=2.5, repetitions=2, interval=6, due=DAY)
    after = review(state, 3, DAY)      # EF drops to 2.36, but the interval uses 2.5
    assert after.interval == 15        # 6 * 2.5 = 15.0 exactly
    assert after.ef == pytest.approx(2.36)
    after = review(SM2State(ef=2.36, repetitions=3, interval=15, due=DAY), 4, DAY)
    assert after.interval == 36        # 15 * 2.36 = 35.4 -> 36


def test_ef_is_floored():
    states = run([0, 0, 0, 0])
    assert [s.ef for s in states] == pytest.approx([1.7, MIN_EF, MIN_EF, MIN_EF])
    assert all(s.interval == 1 and s.repetitions == 0 for s in states)


def test_lapse_restarts_the_sequence():
    states = run([4, 4, 1, 4, 4])
    assert [s.interval for s in states] == [1, 6, 1, 1, 6]


def test_interval_is_capped():
    state = SM2State(ef=2.5, repetitions=9, interval=30_000, due=DAY)
    after = review(state, 5, DAY)
    assert after.interval == MAX_INTERVAL_DAYS
    assert after.due == DAY + timedelta(days=MAX_INTERVAL_DAYS)


@pytest.mark.parametrize("bad", [-1, 6, 2.5, "3", None, True])
def test_quality_outside_0_to_5_is_rejected(bad):
    with pytest.raises(ValueError, match="0 to 5"):
        review(SM2State(), bad, DAY)


def test_review_does_not_modify_its_input():
    state = SM2State()
    review(state, 5, DAY)
    assert state == SM2State()


@given(st.lists(st.integers(0, 5), min_size=1, max_size=60))
def test_properties_hold_for_any_answers(grades):
    today = DAY
    state = SM2State()
    for quality in grades:
        state = review(state, quality, today)
        assert state.ef >= MIN_EF
        assert 1 <= state.interval <= MAX_INTERVAL_DAYS
        assert state.due > today
        assert (state.repetitions == 0) == (quality < 3)
        today = state.due


def test_cards_below_4_are_repeated():
    assert [needs_repeat(q) for q in range(6)] == [True, True, True, True, False, False]


def test_queue_puts_most_overdue_first_then_new_cards_up_to_the_limit():
    items = [
        QueueItem("later", DAY + timedelta(days=1)),
        QueueItem("today", DAY),
        QueueItem("overdue", DAY - timedelta(days=3)),
        *(QueueItem(f"new-{i}", None, position=i) for i in range(5)),
    ]
    assert build_queue(items, DAY, new_limit=2) == ["overdue", "today", "new-0", "new-1"]
    assert build_queue(items, DAY, new_limit=2, new_done_today=1) == ["overdue", "today", "new-0"]
    assert build_queue(items, DAY, new_limit=2, new_done_today=5) == ["overdue", "today"]
    assert build_queue(items, DAY, new_limit=20, limit=3) == ["overdue", "today", "new-0"]
