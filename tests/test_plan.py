"""The plan toward an exam date: its invariants on many situations, and the CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hypothesis import given, settings as hyp_settings, strategies as st

from studycli import plan, scheduler

TODAY = date(2026, 12, 1)


@given(new_left=st.integers(0, 3000), days_to_exam=st.integers(8, 200), budget=st.integers(1, 200))
@hyp_settings(max_examples=200, deadline=None)
def test_every_card_is_introduced_by_a_week_before_the_exam_when_the_budget_allows(new_left, days_to_exam, budget):
    exam = TODAY + timedelta(days=days_to_exam)
    p = plan.make_plan(TODAY, exam, new_left, {}, budget)
    introduced_in_time = sum(d.new for d in p.days if d.day <= exam - timedelta(days=7))
    assert p.days[0].day == TODAY and p.days[-1].day == exam
    assert all(d.new <= p.new_per_day for d in p.days)
    if p.fits:
        assert introduced_in_time == new_left
        assert all(d.new == 0 for d in p.days if d.day > exam - timedelta(days=7))
    else:
        assert p.new_per_day == budget < p.needed_per_day


def test_the_plan_adapts_after_missed_days():
    exam = TODAY + timedelta(days=37)                       # 31 days to introduce 310 cards: 10 a day
    assert plan.make_plan(TODAY, exam, 310, {}, 50).new_per_day == 10
    later = TODAY + timedelta(days=10)                      # ten days missed, nothing studied
    assert plan.make_plan(later, exam, 310, {}, 50).new_per_day == 15   # 21 days left: ceil(310 / 21)


def test_due_reviews_and_minutes_come_from_the_counts_and_answering_times():
    exam = TODAY + timedelta(days=20)
    p = plan.make_plan(TODAY, exam, 0, {TODAY: 30, TODAY + timedelta(days=2): 12}, 20,
                       new_seconds=60, review_seconds=20)
    assert [d.due for d in p.days[:3]] == [30, 0, 12]
    assert p.days[0].minutes == 30 * 20 / 60
    assert plan.seconds_per_answer([1000] * 5, [2000] * 50) == (plan.DEFAULT_NEW_SECONDS, 2.0)


@given(interval=st.integers(1, 36_500), days_to_exam=st.integers(8, 400))
def test_no_review_before_the_final_week_is_scheduled_past_the_exam(interval, days_to_exam):
    exam = TODAY + timedelta(days=days_to_exam)
    state = scheduler.SM2State(ef=2.5, repetitions=3, interval=interval, due=TODAY + timedelta(days=interval))
    fitted = scheduler.before_exam(state, TODAY, exam)
    assert fitted.due <= exam and fitted.due > TODAY and fitted.interval == (fitted.due - TODAY).days
    if state.due > exam:                          # moved into the final week before the exam
        assert fitted.due >= exam - timedelta(days=7)
    else:
        assert fitted == state


@given(interval=st.integers(1, 36_500), days_to_exam=st.integers(-30, 7))
def test_a_review_in_the_final_week_is_the_last_one_before_the_exam(interval, days_to_exam):
    exam = TODAY + timedelta(days=days_to_exam)
    state = scheduler.SM2State(ef=2.5, repetitions=3, interval=interval, due=TODAY + timedelta(days=interval))
    assert scheduler.before_exam(state, TODAY, exam) == state


def test_the_final_week_brings_each_card_back_once():
    exam = TODAY + timedelta(days=30)
    state, day, reviews = scheduler.SM2State(ef=2.5, repetitions=3, interval=17, due=TODAY), TODAY, []
    while state.due < exam:
        day = state.due
        state = scheduler.before_exam(scheduler.review(state, 4, day), day, exam)
        reviews.append(day)
    assert len(reviews) == 2 and reviews[0] == TODAY and state.due > exam
    assert exam - timedelta(days=plan.FINAL_REVIEW_DAYS) <= reviews[1] < exam


def test_cards_due_after_the_exam_come_back_spread_over_the_last_days():
    exam = TODAY + timedelta(days=30)
    returns = {plan.fit_to_exam(TODAY + timedelta(days=d), TODAY, exam) for d in range(31, 200)}
    assert returns == {exam - timedelta(days=k) for k in range(1, plan.FINAL_REVIEW_DAYS + 1)}


def test_plan_command_sets_the_date_and_prints_json(run):
    result = run("plan --exam-date 2026-03-01 --json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["exam_date"] == "2026-03-01" and data["fits"] and data["days"][0]["new"] == data["new_per_day"]
    assert json.loads(run("config exam-date --json").stdout) == {"exam-date": "2026-03-01"}
    assert run("plan --exam-date 2025-12-01").exit_code == 2       # before today (2026-01-01)
    bad = run("config exam-date soon")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr and bad.stderr.count("\n") == 1


def test_readiness_in_stats_json_and_on_the_dashboard(run):
    report = json.loads(run("stats --json").stdout)["readiness"]
    assert {"expected", "low", "high", "by_domain", "confident", "note"} <= set(report)
    assert 100 <= report["low"] <= report["expected"] <= report["high"] <= 1000
    assert not report["confident"] and "the range is wide" in report["note"]     # nothing studied yet
    assert "exam_day" not in report
    assert f"readiness       {report['expected']} expected" in run([]).stdout
    assert run("config exam-date 2026-03-01").exit_code == 0
    with_plan = json.loads(run("stats --json").stdout)["readiness"]
    day = with_plan["exam_day"]
    assert day["expected"] >= with_plan["expected"] and "exam day" in day["note"]   # studying helps
    assert "on the exam day, if you keep the plan" in run("stats").stdout

