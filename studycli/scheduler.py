"""SM-2 (Wozniak, 1990) and today's queue. Pure: values in, values out; no clock, no database."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

INITIAL_EF = 2.5
MIN_EF = 1.3
FIRST_INTERVAL = 1          # days after the first successful review
SECOND_INTERVAL = 6         # days after the second
PASSING_QUALITY = 3         # below this the item starts over
REPEAT_BELOW_QUALITY = 4    # below this the item is asked again before the session ends
MAX_INTERVAL_DAYS = 36_500  # as Anki caps them: a date never overflows
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
    repetitions = state.repetitions + 1 if quality >= PASSING_QUALITY else 0
    return SM2State(
        ef=next_ef(state.ef, quality),
        repetitions=repetitions,
        interval=interval,
        due=today + timedelta(days=interval),
    )


def needs_repeat(quality: int) -> bool:
    """Whether the card comes back before the session ends (SM-2: until it reaches 4)."""
    return quality < REPEAT_BELOW_QUALITY


@dataclass(frozen=True)
class QueueItem:
    card_id: str
    due: date | None   # None for a new card
    position: int = 0  # order of new cards in their deck


def build_queue(
    items: list[QueueItem],
    today: date,
    new_limit: int = 20,
    new_done_today: int = 0,
    limit: int | None = None,
) -> list[str]:
    """Today's card ids: due reviews (most overdue first), then new cards up to the daily limit.

    `new_done_today` counts new cards already introduced today, so the limit is per day, not
    per session.
    """
    reviews = sorted((i for i in items if i.due is not None and i.due <= today), key=lambda i: (i.due, i.card_id))
    fresh = sorted((i for i in items if i.due is None), key=lambda i: i.position)
    fresh = fresh[: max(0, new_limit - new_done_today)]
    queue = [i.card_id for i in reviews + fresh]
    return queue[:limit] if limit is not None else queue
