"""SM-2 (Wozniak, 1990) and today's queue. Pure: values in, values out; no clock, no database."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

from studycli.plan import fit_to_exam

INITIAL_EF = 2.5
MIN_EF = 1.3
FIRST_INTERVAL = 1          # days after the first successful review
SECOND_INTERVAL = 6         # days after the second
PASSING_QUALITY = 3         # below this the item starts over
REPEAT_BELOW_QUALITY = 4    # below this the item is asked again before the session ends
MAX_INTERVAL_DAYS = 36_500  # as Anki caps them: a date never overflows

# Grade policies: how each way of answering becomes an SM-2 quality.
AUTO_RIGHT = 4              # mcq, ordering, matching, numeric: right...
AUTO_WRONG = 1              # ... and wrong
CODE_FIRST_TRY = 5          # code passed on the first grading of the day, no hint
CODE_WITH_HELP = 3          # code passed after a failed try or a hint
FSRS_FIT_MIN_REVIEWS = 1_000   # below this, FSRS parameters fitted to a log are mostly noise (py-fsrs' advice)
EXAM_RIGHT = AUTO_RIGHT     # mock-exam answers are logged like auto-graded ones
EXAM_WRONG = AUTO_WRONG

QUALITY_MEANINGS = {     # SM-2's six grades, in a few words each
    0: "blackout",
    1: "wrong, familiar once seen",
    2: "wrong, easy once seen",
    3: "right, hard",
    4: "right, hesitated",
    5: "right, perfect",
}


@dataclass(frozen=True)
class SM2State:
    ef: float = INITIAL_EF    # easiness factor; never below MIN_EF
    repetitions: int = 0      # successful reviews in a row
    interval: int = 0         # days until the next review
    due: date | None = None   # None: never reviewed
    lapses: int = 0           # times a reviewed card was forgotten (graded below PASSING_QUALITY)


def next_ef(ef: float, quality: int) -> float:
    """The easiness factor after an answer of `quality`, floored at MIN_EF."""
    miss = 5 - quality
    return max(MIN_EF, ef + (0.1 - miss * (0.08 + miss * 0.02)))


def next_interval(state: SM2State, quality: int) -> int:
    """Days until the next review, using the EF from before this answer."""
    if quality < PASSING_QUALITY:
        return FIRST_INTERVAL
    if state.repetitions == 0:
        return FIRST_INTERVAL
    if state.repetitions == 1:
        return SECOND_INTERVAL
    return min(MAX_INTERVAL_DAYS, math.ceil(state.interval * state.ef))


def review(state: SM2State, quality: int, today: date) -> SM2State:
    """The state after one answer graded `quality` (0-5) on `today`; `state` is untouched."""
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 5:
        raise ValueError(f"quality must be an integer from 0 to 5, not {quality!r}")
    interval = next_interval(state, quality)
    passed = quality >= PASSING_QUALITY
    return SM2State(
        ef=next_ef(state.ef, quality),
        repetitions=state.repetitions + 1 if passed else 0,
        interval=interval,
        due=today + timedelta(days=interval),
        lapses=state.lapses + (not passed and state.due is not None),
    )


def before_exam(state: SM2State, today: date, exam_date: date | None) -> SM2State:
    """`state` with its next review moved before `exam_date` when SM-2 would schedule it after:
    the last review falls in the final week before the exam (see plan.fit_to_exam)."""
    if state.due is None:
        return state
    due = fit_to_exam(state.due, today, exam_date)
    return state if due == state.due else replace(state, due=due, interval=(due - today).days)


@dataclass(frozen=True)
class Policy:
    """How this learner schedules: the algorithm (the `scheduler` setting), FSRS's desired
    retention, and the exam date reviews must not jump past."""

    algorithm: str = "sm2"              # "sm2" or "fsrs"
    desired_retention: float = 0.9
    exam_date: date | None = None
    fsrs_parameters: tuple[float, ...] | None = None   # fitted to the learner's log, else FSRS-6's defaults


def next_states(before, fsrs_before: str | None, quality: int, today: date,
                policy: Policy = Policy()) -> tuple[SM2State, str | None]:
    """After one scheduled answer: SM-2's state (always kept, so switching back to SM-2 is exact)
    and FSRS's state as JSON (None under SM-2). Under FSRS its due date rules; SM-2's interval
    and EF are carried along untouched."""
    after = review(before, quality, today)
    if policy.algorithm != "fsrs":
        return before_exam(after, today, policy.exam_date), fsrs_before
    from studycli import fsrs_schedule

    state = fsrs_schedule.from_json(fsrs_before) if fsrs_before else fsrs_schedule.NEW
    state = fsrs_schedule.review(state, quality, today, policy.desired_retention, policy.fsrs_parameters)
    state = fsrs_schedule.before_exam(state, today, policy.exam_date)
    return replace(after, due=state.due), fsrs_schedule.to_json(state)


def missed_states(before, fsrs_before: str | None, today: date,
                  policy: Policy = Policy()) -> tuple[SM2State, str | None]:
    """A question missed in a mock exam, under either algorithm: due today, a lapse counted."""
    after = missed_on_exam(before, today)
    if policy.algorithm != "fsrs" or not fsrs_before:
        return after, fsrs_before
    from studycli import fsrs_schedule

    state = fsrs_schedule.missed_on_exam(fsrs_schedule.from_json(fsrs_before), today)
    return replace(after, due=state.due), fsrs_schedule.to_json(state)


def auto_quality(correct: bool) -> int:
    """The grade of an answer the program checked (mcq, ordering, matching, numeric)."""
    return AUTO_RIGHT if correct else AUTO_WRONG


def code_quality(first_try: bool) -> int:
    """The grade of a code answer that passed: 5 at once, 3 after a failed try or a hint."""
    return CODE_FIRST_TRY if first_try else CODE_WITH_HELP


def missed_on_exam(state: SM2State, today: date) -> SM2State:
    """A question missed in a mock exam: the card is due today and starts over, unless due already.

    The interval never grows here (an exam is no reason to wait longer); the EF is left to the
    next review. A miss of a card studied before counts as a lapse, as in a review.
    """
    kept = SM2State(ef=state.ef, repetitions=state.repetitions, interval=state.interval, due=state.due,
                    lapses=state.lapses + (state.due is not None))
    if state.due is not None and state.due <= today:
        return kept
    return replace(kept, repetitions=0, interval=0, due=today)


def needs_repeat(quality: int) -> bool:
    """Whether the card comes back before the session ends (SM-2: until it reaches 4)."""
    return quality < REPEAT_BELOW_QUALITY


@dataclass(frozen=True)
class QueueItem:
    card_id: str
    due: date | None   # None for a new card
    position: int = 0  # order of new cards in their deck
    topic: str = ""    # due reviews of one topic are spread out, not asked in a row


def build_queue(
    items: list[QueueItem],
    today: date,
    new_limit: int = 20,
    new_done_today: int = 0,
    limit: int | None = None,
) -> list[str]:
    """Today's card ids: due reviews (most overdue first, topics interleaved), then new cards up
    to the daily limit, in deck order.

    `new_done_today` counts new cards already introduced today, so the limit is per day, not
    per session.
    """
    reviews = interleave_topics(sorted((i for i in items if i.due is not None and i.due <= today),
                                       key=lambda i: (i.due, i.card_id)))
    fresh = sorted((i for i in items if i.due is None), key=lambda i: i.position)
    fresh = fresh[: max(0, new_limit - new_done_today)]
    queue = [i.card_id for i in reviews + fresh]
    return queue[:limit] if limit is not None else queue


def interleave_topics(items: list[QueueItem]) -> list[QueueItem]:
    """`items` (most overdue first) reordered so that no topic comes twice in a row where another
    topic is waiting: each step takes the most overdue card of a different topic than the last.

    Interleaving topics makes each answer a recall rather than a continuation of the previous card.
    """
    by_topic: dict[str, list[QueueItem]] = {}
    for item in items:
        by_topic.setdefault(item.topic, []).append(item)
    heads = {topic: 0 for topic in by_topic}
    ordered: list[QueueItem] = []
    last = None
    while len(ordered) < len(items):
        waiting = [(by_topic[t][i].due, by_topic[t][i].card_id, t) for t, i in heads.items() if i < len(by_topic[t])]
        others = [w for w in waiting if w[2] != last] or waiting
        _, _, topic = min(others)
        ordered.append(by_topic[topic][heads[topic]])
        heads[topic] += 1
        last = topic
    return ordered
