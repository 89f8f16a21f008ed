"""Schedulers and the readiness model against simulated learners: workload, exam-day recall, and
how well readiness predicts the score.

    python benchmarks/scheduling.py [--learners 100] [--seed 1] [--days 60] [--check-day 14]
    python benchmarks/scheduling.py --tune        # the readiness model's error terms, from other seeds

Each simulated learner studies the real deck (every card of content/, its domain, type and
guessing rate, new cards in deck order) every day for `--days` days and sits the exam on the day
after. The same learners (same seeds: the same memory, card difficulties and luck) study under
  a. plain SM-2: studycli.scheduler.review, 20 new cards a day;
  b. SM-2 with the plan: plan.make_plan's new_per_day (budget 20), scheduler.before_exam;
  c. FSRS with the plan: fsrs_schedule.review (desired retention 0.9) and its before_exam.

The learner's memory is not any scheduler's model (so no scheduler is graded on its own
assumptions): each card has a stability S; recall after t days is exp(-t / S) (exponential, where
SM-2's readiness curve and FSRS are power curves); S after the first study is S_FIRST * ability *
exp(-difficulty); a recall multiplies S by 1 + GROWTH * ability * exp(-difficulty) * S^-SATURATION *
(e^(1 - R) - 1) (the spacing effect: a harder recall strengthens more); a lapse, or an exam-style
item answered right by luck, leaves max(S after the first study, LAPSE_KEEP * S) once relearned.
Ability is log-normal across learners, difficulty normal across cards and learners, and each
learner already knows a share of the cards (0-30%). S_FIRST was raised from 3 to 6 days so that
plain SM-2's reviews pass about 84% of the time (75-80% before), in the 80-90% Anki users see.
Answers: auto-graded items 4 right / 1 wrong (right by recall or guessing), self-graded cards 3-5
when recalled (5 more often when R is high) and 1 when not, code cards 5 when recalled and 3 after
help. A wrong answer comes back the same day until right (SAME_DAY_RIGHT a try). Every learner
studies every day and does everything due: the plan is kept.

The table: reviews a day are the scheduled reviews of cards seen before (not new cards, not
same-day repeats), mean over the days and the busiest day ("max", both averaged over learners);
minutes count new cards at 40 s and reviews and repeats at 15 s (the plan's defaults); "recalled"
is the mean probability of recall of every card on the exam day; "exam" the mean scaled score.

The exam: 65 questions (13/16/18/9/9 from domains 1-5) drawn from the exam-style cards; a
question is right with chance R + (1 - R) * guess on the exam day. Readiness is asked on
`--check-day` (after that many days of study) from what the app would know (the states, the log
of exam-style reviews, the first answers, the plan): on_exam_day against the exam ("bias" is
predicted minus scored, "width" the 90% range's), and readiness today against a paper sat that day.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from studycli import fsrs_schedule, plan, readiness, scheduler   # noqa: E402

START = date(2026, 1, 5)
NEW_BUDGET = 20                   # the new-per-day setting (plain SM-2 introduces this many a day)
NEW_SECONDS = plan.DEFAULT_NEW_SECONDS
REVIEW_SECONDS = plan.DEFAULT_REVIEW_SECONDS

# The simulated memory (see the module's docstring).
S_FIRST = 6.0           # days: after the first study, R(1 day) = e^(-1/6) = 85% for an average card
GROWTH = 14.0
SATURATION = 0.2
LAPSE_KEEP = 0.3
ABILITY_SD = 0.35       # log-normal across learners
DIFFICULTY_SD = 0.5     # normal across cards ...
LEARNER_CARD_SD = 0.3   # ... plus each learner's own
KNOWN_MAX = 0.3         # a learner already knows up to this share of the cards
KNOWN_BOOST = 4.0       # a card known before starts this many times as stable
SAME_DAY_RIGHT = 0.8

SCHEDULERS = ("sm2", "sm2+plan", "fsrs+plan")


# ---------------------------------------------------------------- the deck


@dataclass(frozen=True)
class DeckCard:
    domain: int
    grading: str          # auto, self or code
    exam_style: bool
    guess: float          # chance of a right answer without recall (auto-graded only)
    difficulty: float     # the card's own (every learner adds their own on top)


def load_deck(rng: random.Random, folder: Path = REPO / "content") -> list[DeckCard]:
    """Every card of the real deck in study order (decks by `order`, cards as written)."""
    import yaml

    decks = [yaml.safe_load(path.read_text()) for path in sorted(folder.glob("*.yaml"))]
    decks.sort(key=lambda d: (d.get("order", 1000), d["topic"]))
    cards = []
    for deck in decks:
        for c in deck["cards"]:
            kind = c["type"]
            if kind == "mcq":
                picks = len(c["answer"]) if isinstance(c["answer"], list) else 1
                guess = readiness.guess_rate("mcq", len(c["choices"]), picks)
            elif kind in ("ordering", "matching"):
                guess = readiness.guess_rate(kind, len(c["items"] if kind == "ordering" else c["pairs"]))
            else:
                guess = 0.0
            grading = "auto" if kind in ("mcq", "ordering", "matching", "numeric") else \
                "code" if kind == "code" else "self"
            cards.append(DeckCard(c["domain"], grading, kind in ("mcq", "ordering", "matching"), guess,
                                  rng.gauss(0, DIFFICULTY_SD)))
    return cards


# ---------------------------------------------------------------- one learner


@dataclass
class Learner:
    ability: float
    known_share: float
    difficulty: list[float]       # per card: the card's own plus the learner's
    known: list[bool]             # knew the card before studying

    @classmethod
    def draw(cls, deck: list[DeckCard], rng: random.Random) -> "Learner":
        known_share = rng.uniform(0, KNOWN_MAX)
        return cls(math.exp(rng.gauss(0, ABILITY_SD)), known_share,
                   [c.difficulty + rng.gauss(0, LEARNER_CARD_SD) for c in deck],
                   [rng.random() < known_share for _ in deck])


@dataclass
class Memory:
    stability: float
    last: int                     # day of the last study


def first_stability(learner: Learner, i: int) -> float:
    s = S_FIRST * learner.ability * math.exp(-learner.difficulty[i])
    return s * KNOWN_BOOST if learner.known[i] else s


def recall_probability(memory: Memory | None, day: int) -> float:
    return 0.0 if memory is None else math.exp(-(day - memory.last) / memory.stability)


def strengthened(memory: Memory, r: float, learner: Learner, i: int) -> float:
    s = memory.stability
    return s * (1 + GROWTH * learner.ability * math.exp(-learner.difficulty[i]) * s ** -SATURATION
                * (math.exp(1 - r) - 1))


@dataclass
class Run:
    reviews: list[int] = field(default_factory=list)     # scheduled reviews of seen cards, per day
    new: list[int] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)
    minutes: list[float] = field(default_factory=list)
    recalled: float = 0.0                                 # mean recall of all cards on the exam day
    exam_score: int = 0
    exam_share: float = 0.0                               # the expected share right on the exam day
    checks: dict[int, "Check"] = field(default_factory=dict)   # by check day


@dataclass
class Check:
    prediction: "Prediction"      # what readiness knew that day
    score: int                    # a paper sat that day
    share: float                  # the expected share right that day (what readiness aims at)


def true_chances(deck, memories, learner, day) -> list[tuple[int, float]]:
    """(domain, the learner's real chance of a right answer on `day`) of each exam-style card."""
    out = []
    for i, c in enumerate(deck):
        if c.exam_style:
            r = recall_probability(memories[i], day) if memories[i] else (1.0 if learner.known[i] else 0.0)
            out.append((c.domain, readiness.chance_correct(r, c.guess)))
    return out


def sit_exam(deck, memories, learner, day, rng) -> int:
    """A 65-question paper from the exam-style cards, 13/16/18/9/9 by domain, answered on `day`."""
    right = 0
    for domain, seats in readiness.SEATS.items():
        pool = [i for i, c in enumerate(deck) if c.exam_style and c.domain == domain]
        for i in rng.sample(pool, min(seats, len(pool))):
            r = recall_probability(memories[i], day) if memories[i] else (1.0 if learner.known[i] else 0.0)
            right += rng.random() < readiness.chance_correct(r, deck[i].guess)
    return readiness.scaled(right / readiness.QUESTIONS)


def study(deck: list[DeckCard], learner: Learner, kind: str, seed: int, days: int = 60,
          check_days: tuple[int, ...] = (14,)) -> Run:
    """One learner's `days` days under scheduler `kind`, the exam on the day after; readiness is
    asked (and a paper sat) at the start of each of `check_days`."""
    rng = random.Random(f"{seed}:answers")          # the same luck under every scheduler
    exam_rng = random.Random(f"{seed}:exam")
    use_fsrs = kind == "fsrs+plan"
    use_plan = kind != "sm2"
    exam_day = days
    exam_date = START + timedelta(days=exam_day)
    memories: list[Memory | None] = [None] * len(deck)
    states: list = [fsrs_schedule.NEW if use_fsrs else scheduler.SM2State() for _ in deck]
    next_new = 0
    recalls: list[readiness.Recall] = []
    first_answers: list[tuple[bool, float]] = []
    run = Run()
    for day in range(days):
        today = START + timedelta(days=day)
        if day in check_days:
            run.checks[day] = Check(
                predict(deck, states, recalls, first_answers, today, exam_date, next_new, use_fsrs, use_plan),
                sit_exam(deck, memories, learner, day, random.Random(f"{seed}:check:{day}")),
                readiness.expected_share(true_chances(deck, memories, learner, day))[0])
        due = [i for i, s in enumerate(states) if s.due is not None and s.due <= today]
        if use_plan:
            new_per_day = plan.make_plan(today, exam_date, len(deck) - next_new, {}, NEW_BUDGET).new_per_day
        else:
            new_per_day = NEW_BUDGET
        fresh = list(range(next_new, min(len(deck), next_new + new_per_day)))
        next_new += len(fresh)
        repeats = 0
        for i in due + fresh:
            card, memory, is_new = deck[i], memories[i], memories[i] is None
            r = (1.0 if learner.known[i] else 0.0) if is_new else recall_probability(memory, day)
            recalled = rng.random() < r
            lucky = not recalled and card.grading == "auto" and rng.random() < card.guess
            quality = grade(card, recalled, lucky, r, rng)
            if is_new:
                if card.grading == "auto":
                    first_answers.append((quality >= scheduler.PASSING_QUALITY, card.guess))
                memories[i] = Memory(first_stability(learner, i), day)
            elif recalled:
                memories[i] = Memory(strengthened(memory, r, learner, i), day)
            else:
                memories[i] = Memory(max(first_stability(learner, i), LAPSE_KEEP * memory.stability), day)
            if not is_new and card.exam_style:
                recalls.append(recall_entry(states[i], quality, today, card.guess, use_fsrs))
            states[i] = schedule(states[i], quality, today, exam_date, use_fsrs, use_plan)
            if quality < scheduler.REPEAT_BELOW_QUALITY and card.grading != "code":
                repeats += 1
                while rng.random() >= SAME_DAY_RIGHT:
                    repeats += 1
        run.reviews.append(len(due))
        run.new.append(len(fresh))
        run.repeats.append(repeats)
        run.minutes.append((len(fresh) * NEW_SECONDS + (len(due) + repeats) * REVIEW_SECONDS) / 60)
    run.recalled = statistics.fmean(recall_probability(m, exam_day) for m in memories)
    run.exam_score = sit_exam(deck, memories, learner, exam_day, exam_rng)
    run.exam_share = readiness.expected_share(true_chances(deck, memories, learner, exam_day))[0]
    return run


def grade(card: DeckCard, recalled: bool, lucky: bool, r: float, rng: random.Random) -> int:
    if card.grading == "auto":
        return scheduler.AUTO_RIGHT if recalled or lucky else scheduler.AUTO_WRONG
    if card.grading == "code":
        return scheduler.CODE_FIRST_TRY if recalled else scheduler.CODE_WITH_HELP
    if not recalled:
        return 1
    return 5 if rng.random() < r else 4 if rng.random() < 0.8 else 3


def recall_entry(state, quality: int, today: date, guess: float, use_fsrs: bool) -> readiness.Recall:
    if use_fsrs:
        return readiness.Recall((today - state.last_review).days, state.stability,
                                quality >= scheduler.PASSING_QUALITY, guess)
    return readiness.sm2_recall(today, quality, state.interval, state.due, guess)


def schedule(state, quality: int, today: date, exam_date: date, use_fsrs: bool, use_plan: bool):
    if use_fsrs:
        after = fsrs_schedule.review(state, quality, today)
        return fsrs_schedule.before_exam(after, today, exam_date) if use_plan else after
    after = scheduler.review(state, quality, today)
    return scheduler.before_exam(after, today, exam_date) if use_plan else after


@dataclass
class Prediction:
    ahead: list[tuple[int, float]]       # (domain, chance on the exam day) of each exam-style card
    now: list[tuple[int, float]]         # ... and today
    recalls: int                         # reviews the fit saw
    days_to_exam: int
    factor: float

    def exam_day(self) -> dict:
        return readiness.on_exam_day(self.ahead, self.recalls, self.days_to_exam)

    def today(self) -> dict:
        return readiness.readiness(self.now, self.recalls)


def predict(deck, states, recalls, first_answers, today, exam_date, next_new, use_fsrs, use_plan) -> Prediction:
    """What readiness says on `today` from what the app would know: states, log and plan."""
    recalls = [r for r in recalls if r is not None]
    fit = readiness.fit_factor(recalls, readiness.fsrs_curve if use_fsrs else readiness.sm2_curve)
    factor = fit.factor
    known = readiness.prior_knowledge(first_answers)
    if use_plan:
        p = plan.make_plan(today, exam_date, len(deck) - next_new, {}, NEW_BUDGET)
        intro = readiness.introduction_days(p)
    else:
        intro = [today + timedelta(days=k // NEW_BUDGET) for k in range(len(deck) - next_new)]
    project = readiness.project_fsrs if use_fsrs else readiness.project_sm2
    chance = readiness.fsrs_chance if use_fsrs else readiness.sm2_chance
    ahead, now = [], []
    for i, card in enumerate(deck):
        if not card.exam_style:
            continue
        introduce_on = intro[i - next_new] if i >= next_new and i - next_new < len(intro) else None
        ahead.append((card.domain, project(states[i], today, exam_date, factor, card.guess, known,
                                           introduce_on, use_plan)))
        now.append((card.domain, chance(states[i], today, factor, card.guess, known)))
    return Prediction(ahead, now, fit.recalls, (exam_date - today).days, factor)


# ---------------------------------------------------------------- many learners


def simulate(learners: int, seed: int, kinds=SCHEDULERS, days: int = 60, check_days: tuple[int, ...] = (14,),
             deck: list[DeckCard] | None = None) -> dict[str, list[Run]]:
    deck = deck if deck is not None else load_deck(random.Random(f"{seed}:deck"))
    runs: dict[str, list[Run]] = {k: [] for k in kinds}
    for n in range(learners):
        learner_seed = seed * 100_003 + n
        learner = Learner.draw(deck, random.Random(f"{learner_seed}:learner"))
        for kind in kinds:
            runs[kind].append(study(deck, learner, kind, learner_seed, days, check_days))
    return runs


def calibration(runs: list[Run], day: int, now: bool = False) -> tuple[float, float, float, float]:
    """Readiness asked on `day` against the paper (on_exam_day against the exam; `now`: readiness
    against a paper sat that day): (mean absolute error in scaled points, share of 90% ranges that
    cover the score, mean bias, mean width of the range)."""
    pairs = []
    for r in runs:
        check = r.checks[day]
        pairs.append((check.prediction.today(), check.score) if now else (check.prediction.exam_day(), r.exam_score))
    errors = [pred["expected"] - score for pred, score in pairs]
    return (statistics.fmean(abs(e) for e in errors),
            statistics.fmean(pred["low"] <= score <= pred["high"] for pred, score in pairs),
            statistics.fmean(errors), statistics.fmean(pred["high"] - pred["low"] for pred, _ in pairs))


def table(runs: dict[str, list[Run]], check_day: int) -> str:
    head = (f"{'scheduler':<10} {'reviews/day':>11} {'max':>4} {'min/day':>7} {'max':>4} {'recalled':>8} "
            f"{'exam':>5}  | on_exam_day on day {check_day}: {'MAE':>4} {'cover':>5} {'bias':>5} {'width':>5}"
            f"  | readiness now: {'MAE':>4} {'cover':>5}")
    lines = [head, "-" * len(head)]
    for kind, rs in runs.items():
        reviews = statistics.fmean(statistics.fmean(r.reviews) for r in rs)
        max_reviews = statistics.fmean(max(r.reviews) for r in rs)
        minutes = statistics.fmean(statistics.fmean(r.minutes) for r in rs)
        max_minutes = statistics.fmean(max(r.minutes) for r in rs)
        recalled = statistics.fmean(r.recalled for r in rs)
        score = statistics.fmean(r.exam_score for r in rs)
        mae, cover, bias, width = calibration(rs, check_day)
        mae_now, cover_now, _, _ = calibration(rs, check_day, now=True)
        lines.append(f"{kind:<10} {reviews:>11.1f} {max_reviews:>4.0f} {minutes:>7.1f} {max_minutes:>4.0f} "
                     f"{recalled:>8.1%} {score:>5.0f}  | {'':>{19 + len(str(check_day))}} {mae:>4.0f} {cover:>5.0%} "
                     f"{bias:>+5.0f} {width:>5.0f}  | {'':>14} {mae_now:>4.0f} {cover_now:>5.0%}")
    return "\n".join(lines)


TUNE_SEED = 1001      # the readiness model's error terms are tuned on these learners, checked on others
TUNE_DAYS = (0, 1, 2, 3, 5, 7, 10, 14, 21, 30)


def tune(learners: int, days: int) -> None:
    """Print readiness' error terms as the simulated learners of TUNE_SEED say.

    The gap is the learner's true expected share right minus readiness' expected share (the
    paper's own spread is left out: readiness adds it exactly). Asked today, the squared gap is
    fitted by least squares to MODEL_SD^2 + (PRIOR_SD * PRIOR_REVIEWS / (PRIOR_REVIEWS + n))^2 for n
    reviews seen (PRIOR_REVIEWS on a grid); HORIZON_SD is what the exam-day gaps add per 60 days ahead.
    """
    runs = [r for rs in simulate(learners, TUNE_SEED, SCHEDULERS, days, TUNE_DAYS).values() for r in rs]
    now, ahead = [], []                  # (reviews seen, days ahead, squared gap)
    for r in runs:
        for day, check in r.checks.items():
            n = check.prediction.recalls
            now.append((n, 0, (check.share - readiness.expected_share(check.prediction.now)[0]) ** 2))
            ahead.append((n, days - day, (r.exam_share - readiness.expected_share(check.prediction.ahead)[0]) ** 2))

    def least_squares(n0: float) -> tuple[float, float, float]:     # (model var, prior var, residual)
        xs = [(n0 / (n0 + n)) ** 2 for n, _, _ in now]
        ys = [g for _, _, g in now]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = max(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs), 0.0)
        floor = max(my - slope * mx, 0.0)
        return floor, slope, sum((y - floor - slope * x) ** 2 for x, y in zip(xs, ys))

    n0 = min((5 * k for k in range(1, 41)), key=lambda n0: least_squares(n0)[2])
    model_var, prior_var, _ = least_squares(n0)
    left = [(g - model_var - prior_var * (n0 / (n0 + n)) ** 2) / (d / 60) for n, d, g in ahead if d > 0]
    horizon_var = max(statistics.fmean(left), 0.0)
    for day in TUNE_DAYS:
        rows = [(a, b) for a, b, r_day in zip(now, ahead, [d for r in runs for d in r.checks]) if r_day == day]
        print(f"  day {day:>2}: reviews seen {statistics.fmean(a[0] for a, _ in rows):6.0f}, rms gap today "
              f"{math.sqrt(statistics.fmean(a[2] for a, _ in rows)) * 900:5.1f}, on the exam day "
              f"{math.sqrt(statistics.fmean(b[2] for _, b in rows)) * 900:5.1f} points")
    print(f"{len(runs)} runs, seed {TUNE_SEED}: MODEL_SD = {math.sqrt(model_var):.3f}  PRIOR_SD = {math.sqrt(prior_var):.3f}"
          f"  PRIOR_REVIEWS = {n0}  HORIZON_SD = {math.sqrt(horizon_var):.3f}   (now {readiness.MODEL_SD}, "
          f"{readiness.PRIOR_SD}, {readiness.PRIOR_REVIEWS}, {readiness.HORIZON_SD})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--check-day", type=int, default=14)
    parser.add_argument("--only", choices=SCHEDULERS, action="append")
    parser.add_argument("--tune", action="store_true", help="print readiness' error terms from other learners")
    args = parser.parse_args()
    if args.tune:
        return tune(args.learners, args.days)
    started = time.perf_counter()
    runs = simulate(args.learners, args.seed, tuple(args.only or SCHEDULERS), args.days, (args.check_day,))
    print(f"{args.learners} simulated learners, {args.days} days to the exam, seed {args.seed} "
          f"({time.perf_counter() - started:.0f} s)")
    print(table(runs, args.check_day))


if __name__ == "__main__":
    main()
