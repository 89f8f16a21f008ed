"""FSRS through the `fsrs` package (py-fsrs 6) at day granularity. Pure: values in, values out.

The package works in UTC datetimes with learning steps of minutes. studycli works in study days,
so every review happens at noon UTC of its day, there are no learning or relearning steps (a
card graded Again comes back the next day; the session's same-day repeats do not reach FSRS) and
fuzzing is off, so the same answers always give the same dates.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timezone
from functools import lru_cache

import fsrs
from fsrs.scheduler import DEFAULT_PARAMETERS

from studycli.plan import fit_to_exam
from studycli.scheduler import FSRS_FIT_MIN_REVIEWS

DEFAULT_RETENTION = 0.9         # the share of due cards the learner should still recall
MAX_INTERVAL_DAYS = 36_500      # as SM-2 caps them (and the package's default)
REVIEW_TIME = time(12, tzinfo=timezone.utc)   # a study day becomes this instant for the package

# SM-2's six grades on FSRS's four ratings: every fail is Again.
RATINGS = {0: fsrs.Rating.Again, 1: fsrs.Rating.Again, 2: fsrs.Rating.Again,
           3: fsrs.Rating.Hard, 4: fsrs.Rating.Good, 5: fsrs.Rating.Easy}

# FSRS-6's forgetting curve R(t, S) = (1 + FACTOR * t / S) ** -DECAY, with the package's defaults:
# R = 0.9 when t = S.
DECAY = DEFAULT_PARAMETERS[20]
FACTOR = 0.9 ** (1 / -DECAY) - 1


@dataclass(frozen=True)
class FsrsState:
    stability: float | None      # days until recall falls to 90%; None: never reviewed
    difficulty: float | None     # 1 (easy) .. 10 (hard)
    due: date | None             # the next review
    last_review: date | None
    reps: int = 0                # scheduled reviews so far
    lapses: int = 0              # times a reviewed card was forgotten (graded Again)

    def __post_init__(self):
        known = (self.stability, self.difficulty, self.due, self.last_review)
        if any(v is None for v in known) and any(v is not None for v in known):
            raise ValueError("an FSRS state has stability, difficulty, due and last_review, or none of them")
        if self.stability is not None and not (self.stability > 0 and math.isfinite(self.stability)):
            raise ValueError(f"FSRS stability must be a positive number of days, not {self.stability!r}")
        if self.reps < 0 or self.lapses < 0:
            raise ValueError("FSRS reps and lapses cannot be negative")


NEW = FsrsState(None, None, None, None)


@lru_cache(maxsize=16)
def scheduler_for(desired_retention: float, parameters: tuple[float, ...] | None = None) -> fsrs.Scheduler:
    """The package's scheduler at day granularity: no learning steps, no fuzz (never mutated);
    `parameters` are the learner's fitted ones (`study fit-fsrs`), else FSRS-6's defaults."""
    if not 0 < desired_retention < 1:
        raise ValueError(f"desired retention must be between 0 and 1, not {desired_retention!r}")
    fitted = {"parameters": parameters} if parameters else {}
    return fsrs.Scheduler(desired_retention=desired_retention, learning_steps=(), relearning_steps=(),
                          maximum_interval=MAX_INTERVAL_DAYS, enable_fuzzing=False, **fitted)


def at_review_time(day: date) -> datetime:
    return datetime.combine(day, REVIEW_TIME)


def to_card(state: FsrsState, today: date) -> fsrs.Card:
    """The package's card for `state` (card_id fixed: the package sleeps to make up a fresh one)."""
    if state.stability is None:
        return fsrs.Card(card_id=0, state=fsrs.State.Learning, step=0, due=at_review_time(today))
    return fsrs.Card(card_id=0, state=fsrs.State.Review, step=None, stability=state.stability,
                     difficulty=state.difficulty, due=at_review_time(state.due),
                     last_review=at_review_time(state.last_review))


def review(state: FsrsState, quality: int, today: date, desired_retention: float = DEFAULT_RETENTION,
           parameters: tuple[float, ...] | None = None) -> FsrsState:
    """The state after one answer graded `quality` (0-5) on `today`; `state` is untouched.

    0-2 are Again, 3 Hard, 4 Good, 5 Easy. The next review is a whole number of days away, at least 1.
    """
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 5:
        raise ValueError(f"quality must be an integer from 0 to 5, not {quality!r}")
    rating = RATINGS[quality]
    card, _ = scheduler_for(desired_retention, parameters).review_card(to_card(state, today), rating,
                                                           review_datetime=at_review_time(today))
    return FsrsState(stability=card.stability, difficulty=card.difficulty, due=card.due.date(), last_review=today,
                     reps=state.reps + 1,
                     lapses=state.lapses + (rating == fsrs.Rating.Again and state.stability is not None))


def replay(log: list[tuple[date, int]], desired_retention: float = DEFAULT_RETENTION,
           parameters: tuple[float, ...] | None = None) -> FsrsState:
    """The state a card reaches through its review log, oldest first (switching from SM-2 to FSRS).

    The log holds the scheduled answers only: a session's same-day repeats never reach the
    scheduler, and replaying them would count them as reviews.
    """
    state = NEW
    for day, quality in sorted(log, key=lambda entry: entry[0]):
        state = review(state, quality, day, desired_retention, parameters)
    return state


MIN_REVIEWS_TO_FIT = FSRS_FIT_MIN_REVIEWS


def fit_parameters(log: list[tuple[str, date, int]]) -> tuple[float, ...]:
    """FSRS's parameters fitted to a review log of (card id, day, quality), oldest first.

    Needs the package's optimizer (pip install 'fsrs[optimizer]': PyTorch and pandas); raises
    ImportError without it and ValueError for fewer than MIN_REVIEWS_TO_FIT reviews.
    """
    if len(log) < MIN_REVIEWS_TO_FIT:
        raise ValueError(f"{len(log)} reviews; fitting needs at least {MIN_REVIEWS_TO_FIT}")
    from fsrs.optimizer import Optimizer

    ids: dict[str, int] = {}
    logs = [fsrs.ReviewLog(card_id=ids.setdefault(card, len(ids) + 1), rating=RATINGS[quality],
                           review_datetime=at_review_time(day), review_duration=None)
            for card, day, quality in log]
    optimizer = Optimizer(logs)
    if not hasattr(optimizer, "compute_optimal_parameters"):   # the package's stand-in without its extra
        raise ImportError("fsrs[optimizer] is not installed")
    return tuple(float(p) for p in optimizer.compute_optimal_parameters())


def forgetting_curve(days: float, stability: float) -> float:
    """The probability of recall `days` after a review of a card with `stability` (FSRS-6, default decay)."""
    return (1 + FACTOR * max(0.0, days) / stability) ** -DECAY


def retrievability(state: FsrsState, today: date) -> float:
    """The probability of recalling the card on `today`; 0 for a card never reviewed (as the package says)."""
    if state.stability is None:
        return 0.0
    return forgetting_curve((today - state.last_review).days, state.stability)


def before_exam(state: FsrsState, today: date, exam_date: date | None) -> FsrsState:
    """`state` with its next review moved into the final week before `exam_date` when FSRS would
    schedule it after (the same rule as SM-2's: plan.fit_to_exam)."""
    if state.due is None:
        return state
    due = fit_to_exam(state.due, today, exam_date)
    return state if due == state.due else replace(state, due=due)


def missed_on_exam(state: FsrsState, today: date) -> FsrsState:
    """A question missed in a mock exam: the card is due today (unless due already) and counts a
    lapse, as SM-2's missed_on_exam does; stability and difficulty wait for that review, which
    sees the low recall itself. A card never studied stays new (FSRS has no state before a first
    review), where SM-2 makes it due today."""
    if state.stability is None:
        return state
    return replace(state, due=min(state.due, today), lapses=state.lapses + 1)


def to_json(state: FsrsState) -> str:
    """The state as one line of JSON (dates as YYYY-MM-DD), for a text column."""
    data = asdict(state)
    for key in ("due", "last_review"):
        data[key] = data[key] and data[key].isoformat()
    return json.dumps(data, sort_keys=True)


def from_json(text: str) -> FsrsState:
    """The state `to_json` wrote; ValueError, with what is wrong, for anything else."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) != {"stability", "difficulty", "due", "last_review", "reps",
                                                       "lapses"}:
            raise ValueError("expected the keys stability, difficulty, due, last_review, reps, lapses")
        numbers = {key: None if data[key] is None else float(data[key]) for key in ("stability", "difficulty")}
        days = {key: None if data[key] is None else date.fromisoformat(data[key]) for key in ("due", "last_review")}
        counts = {key: data[key] for key in ("reps", "lapses")}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
            raise ValueError("reps and lapses must be whole numbers")
        return FsrsState(**numbers, **days, **counts)
    except (TypeError, ValueError) as exc:     # json.JSONDecodeError is a ValueError
        raise ValueError(f"not a stored FSRS state ({exc}): {text[:80]!r}") from None
