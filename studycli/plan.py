"""A study plan toward an exam date: how many new cards a day, and day by day what comes due.

Pure: the caller passes today, the exam date, the counts and the learner's own answering times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

INTRODUCE_BY_DAYS = 7            # every card is introduced at least this many days before the exam
DEFAULT_NEW_SECONDS = 40.0       # until the learner has answered enough cards to measure it
DEFAULT_REVIEW_SECONDS = 15.0
MIN_MEASURED_ANSWERS = 30
# SM-2 brings a new card back after 1 day and again 6 days later; the plan counts those returns.
RETURNS_AFTER_DAYS = (1, 7)


@dataclass(frozen=True)
class Day:
    day: date
    new: int
    due: int
    minutes: float


@dataclass(frozen=True)
class Plan:
    exam_date: date
    new_left: int              # cards not yet introduced
    new_per_day: int           # what the plan introduces each day
    needed_per_day: int        # what introducing everything by exam - 7 needs
    budget: int                # the learner's new-per-day setting
    fits: bool                 # whether the budget is enough
    days: list[Day]

    def to_dict(self) -> dict:
        return {"exam_date": self.exam_date.isoformat(), "new_left": self.new_left,
                "new_per_day": self.new_per_day, "needed_per_day": self.needed_per_day, "budget": self.budget,
                "fits": self.fits, "days": [{"day": d.day.isoformat(), "new": d.new, "due": d.due,
                                             "minutes": round(d.minutes, 1)} for d in self.days]}


def introduce_by(exam_date: date) -> date:
    return exam_date - timedelta(days=INTRODUCE_BY_DAYS)


def new_per_day_needed(new_left: int, today: date, exam_date: date) -> int:
    """New cards a day that introduce `new_left` cards from today to exam - 7 days (all today if late)."""
    days = (introduce_by(exam_date) - today).days + 1
    return new_left if days < 1 else math.ceil(new_left / days)


def seconds_per_answer(new_ms: list[int], review_ms: list[int]) -> tuple[float, float]:
    """(seconds for a new card, for a review): the learner's medians once measured, defaults before."""
    def median(values: list[int], default: float) -> float:
        if len(values) < MIN_MEASURED_ANSWERS:
            return default
        ordered = sorted(values)
        return min(ordered[len(ordered) // 2] / 1000, 10 * default)   # a forgotten terminal is not study time

    return median(new_ms, DEFAULT_NEW_SECONDS), median(review_ms, DEFAULT_REVIEW_SECONDS)


def make_plan(today: date, exam_date: date, new_left: int, due_on: dict[date, int], budget: int,
              new_seconds: float = DEFAULT_NEW_SECONDS, review_seconds: float = DEFAULT_REVIEW_SECONDS) -> Plan:
    """Day by day from today to the exam: new cards (front-loaded, all by exam - 7), reviews due
    (already scheduled, plus the returns of the cards the plan introduces) and minutes."""
    needed = new_per_day_needed(new_left, today, exam_date)
    per_day = needed if needed <= budget else budget
    days, remaining, introduced = [], new_left, {}
    day = today
    while day <= exam_date:
        new = min(per_day, remaining) if day <= introduce_by(exam_date) or needed > budget else 0
        remaining -= new
        introduced[day] = new
        returning = sum(introduced.get(day - timedelta(days=k), 0) for k in RETURNS_AFTER_DAYS)
        due = due_on.get(day, 0) + returning
        days.append(Day(day, new, due, (new * new_seconds + due * review_seconds) / 60))
        day += timedelta(days=1)
    return Plan(exam_date, new_left, per_day, needed, budget, needed <= budget, days)


def fit_to_exam(due: date, today: date, exam_date: date | None) -> date:
    """A review date that does not jump past the exam: the card comes back in the final week
    before it instead, so it is fresh on the day.

    A review in the final week is that last review: its next date stays where the scheduler put
    it, even after the exam (moving it again would bring every card back each remaining day).
    """
    if exam_date is None or due <= exam_date or today >= final_week(exam_date):
        return due
    # Spread over the last FINAL_REVIEW_DAYS days before the exam by where the scheduler had put
    # the card, so the final week's reviews do not all fall on one day.
    spread = (due - exam_date).days % FINAL_REVIEW_DAYS
    return max(today + timedelta(days=1), exam_date - timedelta(days=1 + spread))


FINAL_REVIEW_DAYS = 5     # cards due after the exam come back on exam - 5 .. exam - 1


def final_week(exam_date: date) -> date:
    """The first day of the final week before the exam."""
    return exam_date - timedelta(days=INTRODUCE_BY_DAYS)
