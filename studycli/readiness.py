"""Readiness: the scaled AIF-C01 score the learner's memory predicts, today or on the exam day.

Pure: the caller passes each exam-style card's chance of a right answer (from the scheduler's
state, the forgetting curve fitted to the learner's own log, and the card's guessing rate) and
the number of reviews the fit saw; nothing here reads a database or a clock.

How the chance of a right answer is made:
- the probability of recall on a day is a forgetting curve of the days since the card's last
  review, with a memory scale from the scheduler's state: SM-2's interval (R = (1 + t / 9S)^-1,
  R = 90% at t = S) or FSRS's stability (FSRS-6's own curve), times one factor fitted to this
  learner's reviews (`fit_factor`, maximum likelihood; the prior 1.0 until MIN_RECALLS reviews);
- a card not recalled can still be answered right by guessing: chance = R + (1 - R) * guess,
  where guess is 1/4 for a four-choice item, 1/C(5, 2) for "Choose TWO" of five, 1/n! for an
  ordering or matching of n (`guess_rate`);
- a card never studied is answered right by prior knowledge or guessing: the learner's first
  answers to new cards measure the prior knowledge (`prior_knowledge`), 0 until measured.

The expected score is 100 + 900 * expected share right on a 65-question paper of 13/16/18/9/9
questions from domains 1-5. The range (a 90% interval) adds the spread of which questions a paper
draws and how each falls, and the model's own error, which is wide while it has seen few reviews.
On the exam day (`on_exam_day`), each card's chance is projected through the reviews the plan
will bring (`project_sm2`, `project_fsrs`).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta
from functools import lru_cache
from typing import Callable, NamedTuple

from studycli import scheduler
from studycli.scheduler import SM2State

QUESTIONS = 65
SEATS = {1: 13, 2: 16, 3: 18, 4: 9, 5: 9}     # AIF-C01's 20/24/28/14/14% of 65 (exam.apportion)
MIN_SCORE, MAX_SCORE, PASS_SCORE = 100, 1000, 700
DEFAULT_GUESS = 0.25                          # a four-choice item: a domain with no cards is guessed

MIN_RECALLS = 50            # reviews of seen cards before the fitted factor replaces the prior
PRIOR_FACTOR = 1.0          # the scheduler's own claim: SM-2 and FSRS both aim at ~90% recall when due
FACTOR_BOUNDS = (0.05, 20.0)
PRIOR_LOG_SD = 1.0          # a weak prior on log(factor) once fitted, so a perfect log has a finite factor
MIN_FIRST_ANSWERS = 20      # first answers to new cards before prior knowledge is measured
PRIOR_KNOWLEDGE_WEIGHT = 10  # ... and as many pseudo-answers of "knew nothing" shrink it

# The model's own error, in share of questions right (one standard deviation), as fitted by
# `python benchmarks/scheduling.py --tune` to simulated learners (seed 1001; the benchmark's table
# and tests/test_readiness.py check the ranges on other learners):
MODEL_SD = 0.025            # a floor: the curve and the factor are never exactly the learner's
PRIOR_SD = 0.145            # what is not known before any review (how much the learner knows
PRIOR_REVIEWS = 20          # already, how fast they forget); fades as PRIOR_REVIEWS / (PRIOR_REVIEWS + n)
HORIZON_SD = 0.0            # per 60 days ahead: the simulated exam-day projections were no less sure
RANGE_Z = 1.645             # low..high is a 90% range
PRUNE_WEIGHT = 0.02         # projecting: paths less likely than this assume every review passes


# ---------------------------------------------------------------- forgetting curves and the fit


class Recall(NamedTuple):
    """One review of a card seen before: what the fit learns from."""

    days: int          # since the previous review
    scale: float       # the scheduler's memory scale then: SM-2 interval or FSRS stability (days)
    passed: bool       # graded 3 or more
    guess: float = 0.0  # the chance of passing without recalling (auto-graded items)


def sm2_curve(days: float, stability: float) -> float:
    """Recall `days` after a review when 90% is left at `stability` days (FSRS-4's power curve)."""
    return 1 / (1 + max(0.0, days) / (9 * stability))


def fsrs_curve(days: float, stability: float) -> float:
    """FSRS-6's own curve (the fsrs package's default decay)."""
    from studycli.fsrs_schedule import forgetting_curve

    return forgetting_curve(days, stability)


def chance_correct(recall: float, guess: float) -> float:
    """The chance of a right answer: recalled, or not recalled and guessed."""
    return recall + (1 - recall) * guess


def sm2_recall(day: date, quality: int, interval_before: int, due_before: date | None,
               guess: float = 0.0) -> Recall | None:
    """The fit's view of one logged SM-2 review (a `reviews` row: study_day, quality, interval_before,
    due_before); None for a card's first answer or a card put back to today by a missed exam question."""
    if due_before is None or interval_before < 1:
        return None
    last = due_before - timedelta(days=interval_before)
    return Recall((day - last).days, float(interval_before), quality >= scheduler.PASSING_QUALITY, guess)


class Fit(NamedTuple):
    factor: float      # memory scales are multiplied by this
    recalls: int       # how many reviews the fit saw
    fitted: bool       # False: too few reviews, the factor is the prior


def log_likelihood(recalls: list[Recall], factor: float, curve: Callable[[float, float], float]) -> float:
    """The log-likelihood of the reviews' outcomes, each weighted by the square root of its memory scale."""
    return _log_likelihood(Counter(recalls), factor, curve)


def _log_likelihood(counts: Counter, factor: float, curve: Callable[[float, float], float]) -> float:
    total = 0.0
    for r, n in counts.items():
        p = chance_correct(curve(r.days, factor * r.scale), r.guess)
        p = min(max(p, 1e-9), 1 - 1e-9)
        total += n * math.sqrt(r.scale) * math.log(p if r.passed else 1 - p)
    return total


def fit_factor(recalls: list[Recall], curve: Callable[[float, float], float] = sm2_curve) -> Fit:
    """The factor on the memory scale that makes the learner's reviews most likely (a 1-D search
    over log factor); the prior PRIOR_FACTOR while there are fewer than MIN_RECALLS reviews.

    A review weighs as the square root of its scale (interval or stability): one factor cannot fit
    every interval (a learner's recall one day after learning says more about the first day than
    about the long gaps the exam day asks for), and on simulated learners this weighting predicted
    the exam day best of uniform, square-root, linear weights and leaving out 1-day reviews.
    """
    recalls = [r for r in recalls if r.scale > 0]
    if len(recalls) < MIN_RECALLS:
        return Fit(PRIOR_FACTOR, len(recalls), False)
    counts = Counter(recalls)                 # the same review outcome many times over: evaluate once

    def objective(log_factor: float) -> float:
        prior = -0.5 * ((log_factor - math.log(PRIOR_FACTOR)) / PRIOR_LOG_SD) ** 2
        return _log_likelihood(counts, math.exp(log_factor), curve) + prior

    lo, hi = (math.log(b) for b in FACTOR_BOUNDS)
    grid = [lo + (hi - lo) * i / 40 for i in range(41)]
    best = max(range(len(grid)), key=lambda i: objective(grid[i]))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    golden = (math.sqrt(5) - 1) / 2
    for _ in range(30):                       # golden-section search around the best grid point
        c, d = b - golden * (b - a), a + golden * (b - a)
        if objective(c) >= objective(d):
            b = d
        else:
            a = c
    return Fit(math.exp((a + b) / 2), len(recalls), True)


def prior_knowledge(first_answers: list[tuple[bool, float]]) -> float:
    """The share of unseen cards the learner already knows, from (right?, guess rate) of their first
    answers to new auto-graded cards: right answers beyond guessing, shrunk toward 0 while few."""
    if len(first_answers) < MIN_FIRST_ANSWERS:
        return 0.0
    beyond_guessing = sum(right - guess for right, guess in first_answers)
    room = sum(1 - guess for _, guess in first_answers) + PRIOR_KNOWLEDGE_WEIGHT
    return min(1.0, max(0.0, beyond_guessing / room))


def guess_rate(card_type: str, options: int, picks: int = 1) -> float:
    """The chance of a right answer by guessing: mcq 1/C(options, picks); ordering and matching 1/options!."""
    if card_type == "mcq":
        return 1 / math.comb(options, picks)
    if card_type in ("ordering", "matching"):
        return 1 / math.factorial(options)
    return 0.0


# ---------------------------------------------------------------- a card's chance, now and on exam day


def sm2_recall_on(state: SM2State, day: date, factor: float) -> float:
    """The probability of recall on `day` of a card in SM-2 `state` (reviewed at least once).

    The last review is `due - interval` (true also after before_exam, which shortens both); a card
    a missed mock-exam question put back to today (interval 0) is not recalled until reviewed.
    """
    if state.interval < 1:
        return 0.0
    last = state.due - timedelta(days=state.interval)
    return sm2_curve((day - last).days, factor * state.interval)


def sm2_chance(state: SM2State, today: date, factor: float, guess: float = 0.0, known: float = 0.0) -> float:
    """The chance of a right answer today to a card in SM-2 `state` (never studied: known or guessed)."""
    if state.due is None:
        return chance_correct(known, guess)
    return chance_correct(sm2_recall_on(state, today, factor), guess)


def fsrs_chance(state, today: date, factor: float, guess: float = 0.0, known: float = 0.0) -> float:
    """The chance of a right answer today to a card in FSRS `state` (an fsrs_schedule.FsrsState)."""
    if state.stability is None:
        return chance_correct(known, guess)
    return chance_correct(fsrs_curve((today - state.last_review).days, factor * state.stability), guess)


@lru_cache(maxsize=200_000)       # a pure function: new cards introduced on one day share their path
def project_sm2(state: SM2State, today: date, exam_date: date, factor: float, guess: float = 0.0,
                known: float = 0.0, introduce_on: date | None = None, keep_plan: bool = True) -> float:
    """The chance of a right answer on `exam_date` if the learner studies every day until the day
    before it: each review the schedule brings passes with the fitted chance (graded 4) or fails
    (graded 1, then relearned), with studycli.scheduler.before_exam when `keep_plan`.

    A card never studied is introduced on `introduce_on` (None or on/after the exam: never).
    """
    def step(s: SM2State, quality: int, day: date) -> SM2State:
        after = scheduler.review(s, quality, day)
        return scheduler.before_exam(after, day, exam_date) if keep_plan else after

    def pass_chance(s: SM2State, day: date) -> float:
        return chance_correct(sm2_recall_on(s, day, factor), guess)

    return _project(state, today, exam_date, guess, known, introduce_on, step, pass_chance,
                    lambda s: s.due, lambda s: pass_chance(s, exam_date), lambda s: s.due is None)


@lru_cache(maxsize=200_000)
def project_fsrs(state, today: date, exam_date: date, factor: float, guess: float = 0.0, known: float = 0.0,
                 introduce_on: date | None = None, keep_plan: bool = True,
                 desired_retention: float = 0.9, parameters: tuple[float, ...] | None = None) -> float:
    """project_sm2 for a card in FSRS `state` (fsrs_schedule's review and before_exam, with the
    learner's fitted `parameters` when there are some)."""
    from studycli import fsrs_schedule

    def step(s, quality: int, day: date):
        after = fsrs_schedule.review(s, quality, day, desired_retention, parameters)
        return fsrs_schedule.before_exam(after, day, exam_date) if keep_plan else after

    def pass_chance(s, day: date) -> float:
        return chance_correct(fsrs_curve((day - s.last_review).days, factor * s.stability), guess)

    return _project(state, today, exam_date, guess, known, introduce_on, step, pass_chance,
                    lambda s: s.due, lambda s: pass_chance(s, exam_date), lambda s: s.stability is None)


def _project(state, today, exam_date, guess, known, introduce_on, step, pass_chance, due_of, at_exam, is_new):
    def walk(s, weight: float) -> float:
        """The expected chance on the exam day from state `s`, reached with probability `weight`;
        below PRUNE_WEIGHT a path no longer branches: every later review passes."""
        day = max(due_of(s), today)           # an overdue card comes up today
        if day >= exam_date:                  # the exam comes first on its own day
            return at_exam(s)
        if weight < PRUNE_WEIGHT:
            return walk(step(s, scheduler.AUTO_RIGHT, day), weight)
        p = pass_chance(s, day)
        return (p * walk(step(s, scheduler.AUTO_RIGHT, day), weight * p)
                + (1 - p) * walk(step(s, scheduler.AUTO_WRONG, day), weight * (1 - p)))

    if not is_new(state):
        return walk(state, 1.0)
    if introduce_on is None or introduce_on >= exam_date:
        return chance_correct(known, guess)
    first = chance_correct(known, guess)      # the first answer: known already, or guessed
    return (first * walk(step(state, scheduler.AUTO_RIGHT, introduce_on), first)
            + (1 - first) * walk(step(state, scheduler.AUTO_WRONG, introduce_on), 1 - first))


def introduction_days(plan) -> list[date]:
    """The day each card not yet introduced comes up under `plan` (a plan.Plan), in deck order."""
    return [d.day for d in plan.days for _ in range(d.new)]


# ---------------------------------------------------------------- the score


def scaled(share: float) -> int:
    return round(MIN_SCORE + (MAX_SCORE - MIN_SCORE) * min(1.0, max(0.0, share)))


def model_sd(reviews_seen: int, days_ahead: int = 0) -> float:
    """The model's own error in share right (one standard deviation): a floor, what it does not
    know about the learner (fading as reviews come in), and what looking ahead adds."""
    fading_prior = PRIOR_SD * PRIOR_REVIEWS / (PRIOR_REVIEWS + max(reviews_seen, 0))
    return math.sqrt(MODEL_SD ** 2 + fading_prior ** 2 + HORIZON_SD ** 2 * max(days_ahead, 0) / 60)


def paper_variance(chances: list[float], seats: int) -> float:
    """Variance of the number right among `seats` questions drawn without replacement from cards
    with these chances, each answered independently."""
    n_cards = len(chances)
    mean = sum(chances) / n_cards
    spread = sum((p - mean) ** 2 for p in chances) / n_cards
    drawn = min(seats, n_cards)
    finite = (drawn - 1) / (n_cards - 1) if n_cards > 1 else 0.0
    return seats * mean * (1 - mean) - seats * spread * finite


def score_range(share: float, variance: float) -> tuple[int, int, int]:
    half = RANGE_Z * math.sqrt(max(variance, 0.0))
    return scaled(share), scaled(share - half), scaled(share + half)


def by_domain(cards: list[tuple[int, float]]) -> dict[int, list[float]]:
    """Each domain's chances (a domain with no cards: one guessed card, DEFAULT_GUESS)."""
    groups: dict[int, list[float]] = {d: [] for d in SEATS}
    for domain, p in cards:
        if domain in groups:
            groups[domain].append(min(1.0, max(0.0, p)))
    return {d: chances or [DEFAULT_GUESS] for d, chances in groups.items()}


def expected_share(cards: list[tuple[int, float]]) -> tuple[float, float]:
    """(expected share right, its variance from the paper alone) on a 65-question paper."""
    share = variance = 0.0
    for d, chances in by_domain(cards).items():
        share += SEATS[d] * sum(chances) / len(chances) / QUESTIONS
        variance += paper_variance(chances, SEATS[d]) / QUESTIONS ** 2
    return share, variance


def readiness(cards: list[tuple[int, float]], reviews_seen: int, *, days_ahead: int = 0) -> dict:
    """The expected scaled score with a 90% range, overall and by domain, from each exam-style card's
    (domain, chance of a right answer); a domain with no cards counts as guessed (DEFAULT_GUESS)."""
    model = model_sd(reviews_seen, days_ahead) ** 2
    held = {d: 0 for d in SEATS}
    for domain, _ in cards:
        if domain in held:
            held[domain] += 1
    domains = {}
    for d, chances in by_domain(cards).items():
        mean = sum(chances) / len(chances)
        expected, low, high = score_range(mean, paper_variance(chances, SEATS[d]) / SEATS[d] ** 2 + model)
        domains[d] = {"expected": expected, "low": low, "high": high, "cards": held[d]}
    share, variance = expected_share(cards)
    expected, low, high = score_range(share, variance + model)
    return {"expected": expected, "low": low, "high": high, "by_domain": domains,
            "confident": reviews_seen >= MIN_RECALLS,
            "note": _note(reviews_seen, days_ahead, expected, low, high, [d for d in SEATS if not held[d]])}


def on_exam_day(cards: list[tuple[int, float]], reviews_seen: int, days_to_exam: int) -> dict:
    """readiness() on the exam date, from each card's projected chance (project_sm2 / project_fsrs):
    the score if the plan is kept (the range adds HORIZON_SD for the days still to go)."""
    return readiness(cards, reviews_seen, days_ahead=days_to_exam)


def _note(reviews_seen: int, days_ahead: int, expected: int, low: int, high: int, empty: list[int]) -> str:
    when = f"on the exam day ({days_ahead} days away) if you keep the plan" if days_ahead else "today"
    parts = [f"About {expected} {when}, 90% likely between {low} and {high} (pass: {PASS_SCORE})."]
    if reviews_seen < MIN_RECALLS:
        parts.append(f"Only {reviews_seen} review{'s' * (reviews_seen != 1)} of cards seen before: the memory "
                     f"model is a prior, not yet fitted to you, so the range is wide (it narrows after "
                     f"{MIN_RECALLS}).")
    else:
        parts.append(f"Fitted to your {reviews_seen} reviews.")
    if empty:
        parts.append(f"No exam-style cards in domain{'s' * (len(empty) > 1)} {', '.join(map(str, empty))}: "
                     f"counted as guessed.")
    parts.append("It predicts a paper drawn from this deck; the real exam asks its own questions.")
    return " ".join(parts)
