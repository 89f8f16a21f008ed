"""Readiness: the fit, the paper's spread, projections, and calibration against simulated learners."""

from __future__ import annotations

import importlib.util
import itertools
import math
import random
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from studycli import fsrs_schedule, plan, readiness as R, scheduler
from studycli.scheduler import SM2State

DAY = date(2026, 3, 2)
BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "scheduling.py"


def simulated_learners():
    """benchmarks/scheduling.py as a module (it is a script, not part of the package)."""
    if "scheduling_benchmark" not in sys.modules:
        spec = importlib.util.spec_from_file_location("scheduling_benchmark", BENCHMARK)
        module = importlib.util.module_from_spec(spec)
        sys.modules["scheduling_benchmark"] = module      # dataclasses look their module up here
        spec.loader.exec_module(module)
    return sys.modules["scheduling_benchmark"]


# ---------------------------------------------------------------- the pieces


def test_seats_are_the_mock_exams():
    from studycli import exam

    form = exam.AIF_C01
    assert R.SEATS == exam.apportion(form.questions, dict(form.domain_weights)) and R.QUESTIONS == form.questions
    assert (R.MIN_SCORE, R.MAX_SCORE, R.PASS_SCORE) == (form.min_score, form.max_score, form.pass_score)


def test_guess_rates():
    assert R.guess_rate("mcq", 4) == 0.25
    assert R.guess_rate("mcq", 5, 2) == 0.1                 # "Choose TWO." of five
    assert R.guess_rate("ordering", 4) == 1 / 24 and R.guess_rate("matching", 3) == 1 / 6
    assert R.guess_rate("basic", 0) == 0.0
    assert R.chance_correct(0.8, 0.25) == pytest.approx(0.85)


def test_the_fit_recovers_the_factor_that_made_the_answers():
    rng = random.Random(3)
    recalls = []
    for _ in range(3000):
        interval = rng.choice([1, 6, 15, 38])
        days = max(1, round(interval * rng.uniform(0.7, 1.6)))
        guess = rng.choice([0.0, 0.25])
        p = R.chance_correct(R.sm2_curve(days, 0.6 * interval), guess)
        recalls.append(R.Recall(days, float(interval), rng.random() < p, guess))
    fit = R.fit_factor(recalls)
    assert fit.fitted and fit.recalls == 3000 and fit.factor == pytest.approx(0.6, rel=0.15)
    assert R.log_likelihood(recalls, fit.factor, R.sm2_curve) > R.log_likelihood(recalls, 1.0, R.sm2_curve)


def test_with_few_reviews_the_factor_is_the_prior():
    recalls = [R.Recall(1, 1.0, False)] * (R.MIN_RECALLS - 1)
    assert R.fit_factor(recalls) == R.Fit(R.PRIOR_FACTOR, R.MIN_RECALLS - 1, False)
    every_review_passed = R.fit_factor([R.Recall(6, 6.0, True)] * 500)
    assert every_review_passed.fitted and math.isfinite(every_review_passed.factor)


def test_a_logged_review_becomes_a_recall():
    due = DAY + timedelta(days=6)
    assert R.sm2_recall(due + timedelta(days=2), 4, 6, due) == R.Recall(8, 6.0, True, 0.0)
    assert R.sm2_recall(due, 2, 6, due, guess=0.25) == R.Recall(6, 6.0, False, 0.25)
    assert R.sm2_recall(DAY, 4, 0, None) is None              # a first answer
    assert R.sm2_recall(DAY, 4, 0, DAY) is None               # put back to today by a missed exam question


def test_prior_knowledge_is_right_answers_beyond_guessing():
    assert R.prior_knowledge([(True, 0.25)] * 10) == 0.0       # too few to say
    guessing = [(True, 0.25)] * 25 + [(False, 0.25)] * 75
    assert R.prior_knowledge(guessing) == 0.0
    knows_half = [(True, 0.25)] * 625 + [(False, 0.25)] * 375  # 0.5 + 0.5 * 0.25 right
    assert R.prior_knowledge(knows_half) == pytest.approx(0.5, abs=0.01)


def test_a_cards_chance_today():
    state = scheduler.review(scheduler.review(SM2State(), 4, DAY), 4, DAY + timedelta(days=1))   # interval 6
    last = DAY + timedelta(days=1)
    assert R.sm2_chance(state, last, 1.0) == 1.0
    assert R.sm2_chance(state, state.due, 1.0) == pytest.approx(0.9)          # 90% when due, factor 1
    assert R.sm2_chance(state, state.due, 1.0, guess=0.25) == pytest.approx(0.925)
    assert R.sm2_chance(SM2State(), DAY, 1.0, guess=0.25, known=0.2) == pytest.approx(0.4)
    missed = scheduler.missed_on_exam(state, DAY + timedelta(days=3))
    assert R.sm2_chance(missed, DAY + timedelta(days=3), 1.0, guess=0.25) == 0.25
    f = fsrs_schedule.review(fsrs_schedule.NEW, 4, DAY)
    assert R.fsrs_chance(f, f.due, 1.0) == pytest.approx(fsrs_schedule.retrievability(f, f.due))
    assert R.fsrs_chance(fsrs_schedule.NEW, DAY, 1.0, guess=0.1) == 0.1


def test_paper_variance_is_exact_for_a_small_paper():
    chances, seats = [0.2, 0.9, 0.5, 0.7], 2
    outcomes = []                                           # (probability, number right), all draws
    for drawn in itertools.combinations(chances, seats):
        for right in itertools.product([0, 1], repeat=seats):
            p = math.prod(c if r else 1 - c for c, r in zip(drawn, right)) / math.comb(len(chances), seats)
            outcomes.append((p, sum(right)))
    mean = sum(p * k for p, k in outcomes)
    assert R.paper_variance(chances, seats) == pytest.approx(sum(p * (k - mean) ** 2 for p, k in outcomes))
    assert R.paper_variance([0.5] * 100, 13) == pytest.approx(13 * 0.25)


def test_readiness_from_the_chances():
    cards = [(d, 1.0) for d in R.SEATS for _ in range(30)]
    best = R.readiness(cards, 500)
    assert best["expected"] == 1000 and best["by_domain"][3]["expected"] == 1000
    guessed = R.readiness([(d, 0.25) for d in R.SEATS for _ in range(30)], 0)
    assert guessed["expected"] == 325 and not guessed["confident"] and "Only 0 reviews" in guessed["note"]
    mixed = [(d, 0.6 + 0.05 * d) for d in R.SEATS for _ in range(40)]
    share = sum(R.SEATS[d] * (0.6 + 0.05 * d) for d in R.SEATS) / 65
    result = R.readiness(mixed, 400)
    assert result["expected"] == round(100 + 900 * share)
    assert result["low"] < result["expected"] < result["high"] and result["confident"]
    assert set(result["by_domain"]) == {1, 2, 3, 4, 5}
    for d, row in result["by_domain"].items():
        assert row["low"] <= row["expected"] == round(100 + 900 * (0.6 + 0.05 * d)) <= row["high"]
        assert row["cards"] == 40


def test_the_range_narrows_as_reviews_come_in():
    cards = [(d, 0.8) for d in R.SEATS for _ in range(40)]
    widths = [R.readiness(cards, n)["high"] - R.readiness(cards, n)["low"] for n in (0, 10, 50, 200, 2000)]
    assert widths == sorted(widths, reverse=True) and widths[0] > 2 * widths[-1]
    assert R.model_sd(0) == pytest.approx(math.hypot(R.MODEL_SD, R.PRIOR_SD))


def test_a_domain_without_cards_is_guessed_and_said():
    result = R.readiness([(1, 0.9)] * 50, 100)
    assert result["by_domain"][5] == {"expected": 325, "low": result["by_domain"][5]["low"],
                                      "high": result["by_domain"][5]["high"], "cards": 0}
    assert "domains 2, 3, 4, 5" in result["note"]


def test_on_exam_day_says_when():
    result = R.on_exam_day([(d, 0.9) for d in R.SEATS for _ in range(20)], 300, 21)
    assert "exam day (21 days away)" in result["note"] and "Fitted to your 300 reviews" in result["note"]


# ---------------------------------------------------------------- projections


def test_a_card_never_introduced_before_the_exam_is_guessed():
    exam = DAY + timedelta(days=30)
    assert R.project_sm2(SM2State(), DAY, exam, 1.0, 0.25) == 0.25
    assert R.project_sm2(SM2State(), DAY, exam, 1.0, 0.25, 0.2, introduce_on=exam) == pytest.approx(0.4)
    assert R.project_fsrs(fsrs_schedule.NEW, DAY, exam, 1.0, 0.1) == 0.1


def test_a_card_not_due_before_the_exam_is_its_curve_on_the_day():
    state = SM2State(ef=2.5, repetitions=3, interval=40, due=DAY + timedelta(days=35))
    exam = DAY + timedelta(days=20)
    expected = R.sm2_chance(state, exam, 0.7, 0.25)
    assert R.project_sm2(state, DAY, exam, 0.7, 0.25) == pytest.approx(expected)
    f = fsrs_schedule.replay([(DAY - timedelta(days=30), 4), (DAY - timedelta(days=25), 4)])
    exam = min(f.due, DAY + timedelta(days=5))
    assert R.project_fsrs(f, DAY, exam, 0.8, 0.0) == pytest.approx(R.fsrs_chance(f, exam, 0.8))


def test_the_plan_keeps_cards_fresh_for_the_exam():
    exam = DAY + timedelta(days=40)
    state = scheduler.review(scheduler.review(SM2State(), 4, DAY), 4, DAY + timedelta(days=1))
    kept = R.project_sm2(state, DAY + timedelta(days=1), exam, 0.7, 0.0, keep_plan=True)
    left = R.project_sm2(state, DAY + timedelta(days=1), exam, 0.7, 0.0, keep_plan=False)
    assert 0 < left < kept < 1
    assert R.project_sm2(state, DAY + timedelta(days=1), exam, 20.0, 0.0) > 0.97   # a strong memory


def test_introduction_days_follow_the_plan():
    exam = DAY + timedelta(days=30)
    p = plan.make_plan(DAY, exam, 100, {}, 20)
    days = R.introduction_days(p)
    assert len(days) == 100 and days[0] == DAY and days == sorted(days)
    assert days[-1] <= exam - timedelta(days=plan.INTRODUCE_BY_DAYS)


# ---------------------------------------------------------------- calibration on simulated learners


def check(runs, day):
    bench = simulated_learners()
    return bench.calibration(runs, day), bench.calibration(runs, day, now=True)


def test_readiness_is_calibrated_on_simulated_learners():
    """40 seeded learners (not the ones the error terms were tuned on) study the real deck with the
    plan for 30 days; readiness is asked on day 10 and the exam sat on day 30."""
    bench = simulated_learners()
    runs = bench.simulate(40, seed=11, kinds=("sm2+plan",), days=30, check_days=(10,))["sm2+plan"]
    (mae, cover, _, _), (mae_now, cover_now, _, _) = check(runs, 10)
    assert mae <= 75 and cover >= 0.8              # on_exam_day against the exam
    assert mae_now <= 75 and cover_now >= 0.8      # readiness today against a paper sat that day


@pytest.mark.slow
def test_the_benchmarks_targets_on_other_learners():
    """The benchmark's configuration (60 days, readiness on day 14) on learners of another seed:
    with the plan >= 90% recalled on the exam day with fewer reviews than plain SM-2, and
    readiness within 75 points on average, its range covering >= 80% of the scores."""
    bench = simulated_learners()
    runs = bench.simulate(40, seed=23)
    mean_reviews = {k: sum(sum(r.reviews) for r in rs) / len(rs) for k, rs in runs.items()}
    for kind in ("sm2+plan", "fsrs+plan"):
        assert sum(r.recalled for r in runs[kind]) / 40 >= 0.9
        assert mean_reviews[kind] <= mean_reviews["sm2"]
    for kind, rs in runs.items():
        (mae, cover, _, _), (mae_now, _, _, _) = check(rs, 14)
        assert mae <= 75 and cover >= 0.8 and mae_now <= 75, kind
