"""What a new learner tripped over, each through the CLI: repeats, skips, placeholders, the daily
limit, fresh starts of code cards, the exam's Ctrl-C, choice counts, the CLI people expect."""

from __future__ import annotations

import json
import re
import sqlite3
import textwrap

import pytest

from studycli import exam, scheduler, session
from test_practice import RIGHT, answer_path, code_run, rows  # noqa: F401 - code_run is a fixture

NUMERIC_DECK = """\
topic: numbers
title: Numbers
cards:
  - id: n-head
    type: numeric
    generator: head_dim
    source: "notes: Multi-Head-Attention"
    question: A model has d_model = {d_model} and {n_head} heads. How wide is each head?
    explanation: d_model / n_head.
"""


def test_a_code_card_passed_after_a_failed_try_does_not_come_back(code_run, study_env, tmp_path, monkeypatch):
    # An editor that leaves the starter untouched the first time and writes a right answer the second.
    count, solution = tmp_path / "count", tmp_path / "right.py"
    solution.write_text(RIGHT)
    editor = tmp_path / "editor"
    editor.write_text(f'#!/bin/sh\necho x >> {count}\n[ "$(wc -l < {count})" -ge 2 ] && cp {solution} "$1"\nexit 0\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    result = code_run("review --type code", input="\n\n\n\n")
    assert result.exit_code == 0, result
    assert rows(study_env, "SELECT quality, mode FROM reviews") == [(3, "review")]
    assert "again" not in result.stdout and "0 same-day repeat(s)" in result.stdout


def test_a_due_code_card_starts_afresh_and_r_restores_the_last_answer(code_run, study_env, monkeypatch):
    answer = answer_path(study_env)
    answer.parent.mkdir(parents=True)
    answer.write_text(RIGHT)
    assert code_run("review --type code", input="\n").exit_code == 0          # day 1: passed, due tomorrow
    monkeypatch.setenv("STUDYCLI_TODAY", "2026-01-02")
    result = code_run("review --type code", input="r\n\n")
    previous = answer.with_suffix(".prev.py")
    assert "a fresh start" in result.stdout and str(previous) in result.stdout
    assert previous.read_text() == RIGHT
    assert "restored your previous answer" in result.stdout and answer.read_text() == RIGHT
    assert rows(study_env, "SELECT study_day, quality FROM reviews ORDER BY id") == [("2026-01-01", 5),
                                                                                    ("2026-01-02", 5)]


def test_people_see_drawn_numbers_never_a_template(run, study_env, tmp_path, monkeypatch):
    pytest.importorskip("studycli.grading.generators")
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "numbers.yaml").write_text(NUMERIC_DECK)
    monkeypatch.setenv("STUDYCLI_CONTENT", str(tmp_path / "decks"))
    assert run("review --topic numbers", input="0\n").exit_code == 0          # wrong: a weak card for stats
    outputs = {command: run(command).stdout for command in ("cards --topic numbers", "show n-head", "stats")}
    for command, text in outputs.items():
        assert "{d_model}" not in text and "{n_head}" not in text, command
        assert re.search(r"d_model = \d+ and \d+ heads", text), command


def test_the_daily_new_card_limit_is_a_setting_and_the_dashboard_says_what_is_left(run, study_env):
    assert run("config new-per-day 2").exit_code == 0
    assert run("review", input="\n5\n\n5\n").exit_code == 0
    text = run([]).stdout
    assert "new today       0 left of 2 a day" in text
    assert "today's 2 new cards are done" in text and "study review --new 12 takes 10 more today" in text
    assert "study config new-per-day 12" in text
    more = run("review --new 3", input="\n5\n")                     # the day's limit, raised by one
    assert "card 1 of 1" in more.stdout


def test_ctrl_c_in_the_exam_asks_first(run, study_env):
    _, cards = session.open_study()
    paper = exam.set_paper(cards, questions=2, seed="5")
    from test_exam import right_answer

    first = paper.questions[0]
    script = iter([KeyboardInterrupt, right_answer(first.card, first.seed), "s", "s"])
    hints = []

    class Learner:
        def ask(self, prompt):
            item = next(script)
            if item is KeyboardInterrupt:
                raise KeyboardInterrupt
            return item

        def hint(self, message):
            hints.append(message)

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    sitting = exam.sit(paper, Learner())
    assert sitting.ended_by == "submitted" and len(sitting.sheet.typed) == 1
    assert any("Ctrl-C again hands the paper in" in h for h in hints)
    assert any("1 question(s) unanswered" in h for h in hints)


def test_the_number_of_letters_must_match_the_number_of_answers(run, study_env):
    # c-single has one answer, c-multi says (Choose TWO.): a wrong count is asked again, not graded.
    result = run("review --topic choices --limit 2", input="a,b\na\na\na,b\n")
    assert result.exit_code == 0, result
    assert "this question has one answer: type one letter" in result.stdout
    assert "choose 2 letters" in result.stdout
    with sqlite3.connect(study_env) as conn:
        answers = dict(conn.execute("SELECT card_id, answer FROM reviews WHERE mode = 'review'"))
    assert answers == {"c-single": "a", "c-multi": "a,b"}


def test_version_completion_and_types(run, study_env):
    from importlib.metadata import version

    assert run("--version").stdout.strip() == f"studycli {version('studycli')}"
    assert "--install-completion" in run("--help").stdout
    listed = json.loads(run("cards --type matching --json").stdout)
    assert listed and {c["type"] for c in listed} == {"matching"}
    empty = run("cards --type code")
    assert empty.exit_code == 0 and "No cards match." in empty.stderr and "id" not in empty.stdout
    assert run("cards --type nonsense").exit_code == 2


def test_piped_output_is_not_cut_to_80_columns(run, study_env, tmp_path, monkeypatch):
    monkeypatch.delenv("COLUMNS")
    topic = "a-topic-name-long-enough-that-a-table-cut-at-eighty-columns-would-lose-it"
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "long.yaml").write_text(
        f"topic: {topic}\ntitle: Long\ncards:\n  - {{id: l-card, type: basic, front: Why?, back: Because.}}\n")
    monkeypatch.setenv("STUDYCLI_CONTENT", str(tmp_path / "decks"))
    assert topic in run(f"cards --topic {topic}").stdout


def test_the_first_card_says_how_to_quit_and_numbered_lists_keep_their_dot(run, study_env, capsys):
    from rich.console import Console

    from studycli import ui

    assert "q quits at any prompt" in run("review --limit 1", input="q\n").stdout
    console = Console(width=40, record=True, color_system=None)
    console.print(ui._markdown("Steps:\n\n1. first\n2. second"))
    text = console.export_text()
    assert " 1. first" in text and " 2. second" in text


def test_due_reviews_interleave_topics_and_new_cards_keep_deck_order():
    from datetime import date, timedelta

    day = date(2026, 1, 10)
    items = [scheduler.QueueItem(f"{t}-{i}", day - timedelta(days=i), 0, t) for t in "abc" for i in range(4)]
    items += [scheduler.QueueItem(f"new-{i}", None, i, "a") for i in (2, 0, 1)]
    queue = scheduler.build_queue(items, day, new_limit=3)
    reviews, fresh = queue[:12], queue[12:]
    topics = [card_id[0] for card_id in reviews]
    assert all(x != y for x, y in zip(topics, topics[1:]))             # never the same topic twice in a row
    for t in "abc":                                                     # within a topic, most overdue first
        assert [c for c in reviews if c[0] == t] == [f"{t}-{i}" for i in (3, 2, 1, 0)]
    assert fresh == ["new-0", "new-1", "new-2"]


def test_show_prints_the_source(run, study_env, tmp_path, monkeypatch):
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "sourced.yaml").write_text(textwrap.dedent("""\
        topic: sourced
        title: Sourced
        cards:
          - id: s-card
            type: basic
            source: https://docs.aws.amazon.com/bedrock/latest/userguide/what-is-bedrock.html
            front: What is Amazon Bedrock?
            back: A managed service that serves foundation models through an API.
        """))
    monkeypatch.setenv("STUDYCLI_CONTENT", str(tmp_path / "decks"))
    text = run("show s-card").stdout
    assert "source: https://docs.aws.amazon.com/bedrock/latest/userguide/what-is-bedrock.html" in text
