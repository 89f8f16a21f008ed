"""Switching between SM-2 and FSRS: the review log rebuilds FSRS's state; SM-2 takes its own back."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from studycli import fsrs_schedule


def states(db):
    with sqlite3.connect(db) as conn:
        return {c: (due, fsrs, interval) for c, due, fsrs, interval in
                conn.execute("SELECT card_id, due, fsrs, interval FROM card_states WHERE due IS NOT NULL")}


def log(db, card_id):
    with sqlite3.connect(db) as conn:
        return [(date.fromisoformat(d), q) for d, q in conn.execute(
            "SELECT study_day, quality FROM reviews WHERE card_id = ? AND scheduled AND mode = 'review' ORDER BY id",
            (card_id,))]


def test_switching_to_fsrs_and_back(run, study_env, monkeypatch):
    assert run("review --topic basics", input="\n5\n\n3\n\n4\n").exit_code == 0
    monkeypatch.setenv("STUDYCLI_TODAY", "2026-01-02")
    assert run("review --topic basics", input="\n4\n\n5\n\n4\n" * 2).exit_code == 0
    sm2 = states(study_env)
    assert sm2 and all(fsrs is None for _, fsrs, _ in sm2.values())

    switched = run("config scheduler fsrs")
    assert switched.exit_code == 0 and f"the due dates of {len(sm2)} reviewed card(s) now follow fsrs" in switched.stderr
    for card_id, (due, fsrs, interval) in states(study_env).items():
        expected = fsrs_schedule.replay(log(study_env, card_id))
        assert fsrs_schedule.from_json(fsrs) == expected and due == expected.due.isoformat()
        assert interval == sm2[card_id][2]                     # SM-2's own state is untouched

    # A review under FSRS follows the package's schedule (at the default retention, 0.9).
    card_id, (due, fsrs, _) = min(states(study_env).items(), key=lambda kv: kv[1][0])
    monkeypatch.setenv("STUDYCLI_TODAY", due)
    before = fsrs_schedule.from_json(fsrs)
    assert run("review --topic basics --new 0 --limit 1", input="\n4\n").exit_code == 0
    after = states(study_env)[card_id]
    assert after[0] == fsrs_schedule.review(before, 4, date.fromisoformat(due)).due.isoformat()

    back = run("config scheduler sm2")
    assert back.exit_code == 0
    for card_id, (due, fsrs, interval) in states(study_env).items():
        last = log(study_env, card_id)[-1][0]
        assert due == (last + timedelta(days=interval)).isoformat() and fsrs is None


def test_scheduler_setting_rejects_other_algorithms(run, study_env):
    result = run("config scheduler anki")
    assert result.exit_code == 2 and "sm2 or fsrs" in result.stderr and result.stderr.count("\n") == 1
    bad = run("config desired-retention 0.5")
    assert bad.exit_code == 2 and "0.7 to 0.99" in bad.stderr


def fill_log(db, n):
    """`n` scheduled reviews of the fixture cards, one a day each, in the log."""
    import random

    rng = random.Random(0)
    with sqlite3.connect(db) as conn:
        cards = [c for (c,) in conn.execute("SELECT id FROM cards")]
        conn.executemany(
            "INSERT INTO reviews (card_id, reviewed_at, study_day, quality, mode, scheduled, ef_before, "
            "repetitions_before, interval_before, lapses_before, ef_after, repetitions_after, interval_after) "
            "VALUES (?, 'now', ?, ?, 'review', 1, 2.5, 0, 0, 0, 2.5, 1, 1)",
            [(cards[i % len(cards)], (date(2023, 1, 1) + timedelta(days=i // len(cards))).isoformat(),
              rng.choice((1, 3, 4, 4, 5))) for i in range(n)])


def test_fitting_fsrs_needs_a_thousand_reviews(run, study_env):
    run("stats")
    fill_log(study_env, 999)
    result = run("fit-fsrs")
    assert result.exit_code == 2 and "999 reviews so far" in result.stderr and result.stderr.count("\n") == 1


def test_fitting_without_the_optimizer_says_how_to_get_it(run, study_env):
    try:
        import pandas  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        import pytest

        pytest.skip("the optimizer is installed here")
    run("stats")
    fill_log(study_env, 1000)
    assert run("config scheduler fsrs").exit_code == 0
    assert "study fit-fsrs" in run([]).stdout                       # offered once there are 1,000 reviews
    result = run("fit-fsrs")
    assert result.exit_code == 2 and "pip install 'fsrs[optimizer]'" in result.stderr


def test_fitted_parameters_schedule_every_card(run, study_env):
    assert run("review --topic basics", input="\n5\n\n3\n\n4\n").exit_code == 0
    assert run("config scheduler fsrs").exit_code == 0
    default = states(study_env)
    fitted = list(fsrs_schedule.scheduler_for(0.9).parameters)
    fitted[:4] = [w * 8 for w in fitted[:4]]                        # much steadier first memories
    assert run(["config", "fsrs-parameters", ",".join(map(str, fitted))]).exit_code == 0
    for card_id, (due, fsrs, _) in states(study_env).items():
        expected = fsrs_schedule.replay(log(study_env, card_id), 0.9, tuple(fitted))
        assert fsrs_schedule.from_json(fsrs) == expected and due == expected.due.isoformat()
    assert states(study_env) != default
    bad = run("config fsrs-parameters 1,2,3")
    assert bad.exit_code == 2 and "21 comma-separated numbers" in bad.stderr


def test_readiness_on_the_exam_day_follows_the_fitted_parameters(run, study_env, tmp_path, monkeypatch):
    import json

    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "d.yaml").write_text("topic: d\ntitle: D\ncards:\n" + "".join(
        f"  - {{id: d-{i}, type: mcq, domain: 1, source: 'notes: X', question: Q{i}?, choices: [a{i}, b{i}, c{i}, "
        f"e{i}], answer: a{i}}}\n" for i in range(3)))
    monkeypatch.setenv("STUDYCLI_CONTENT", str(tmp_path / "decks"))
    assert run("review --topic d", input="a\n" * 3).exit_code == 0   # right or wrong, each card is studied
    assert run("config scheduler fsrs").exit_code == 0
    assert run("config exam-date 2026-02-15").exit_code == 0
    default = json.loads(run("stats --json").stdout)["readiness"]["exam_day"]
    forgetful = list(fsrs_schedule.scheduler_for(0.9).parameters)
    forgetful[:4] = [w / 50 for w in forgetful[:4]]                    # first memories that barely last
    assert run(["config", "fsrs-parameters", ",".join(map(str, forgetful))]).exit_code == 0
    fitted = json.loads(run("stats --json").stdout)["readiness"]["exam_day"]
    assert fitted != default
