"""Whole review sessions driven through piped stdin, checked against the database."""

from __future__ import annotations

import json
import sqlite3

from studycli import answers


def states(db) -> dict:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT card_id, ef, repetitions, interval, due, lapses FROM card_states")
        return {r[0]: r[1:] for r in rows}


def reviews(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT card_id, study_day, quality, mode, scheduled FROM reviews ORDER BY id").fetchall()


def test_basic_cards_over_several_days(run, study_env, monkeypatch):
    # Day 1: both self-graded cards are new; grade them 5 and 4.
    result = run("review --type basic", input="\n5\n")
    assert result.exit_code == 0, result
    assert "card 1 of 1" in result.stdout
    assert states(study_env)["b-front"] == (2.6, 1, 1, "2026-01-02", 0)

    # Same day again: nothing due, no new cards of that type left.
    result = run("review --type basic", input="")
    assert "Nothing due" in result.stdout

    # Day 2: due again; a lapse (2) brings it back the same day until graded 4.
    monkeypatch.setenv("STUDYCLI_TODAY", "2026-01-02")
    result = run("review --type basic", input="\n2\n\n3\n\n4\n")
    assert result.exit_code == 0, result
    assert "card 3 of 3" in result.stdout
    ef, reps, interval, due, lapses = states(study_env)["b-front"]
    assert (reps, interval, due, lapses) == (0, 1, "2026-01-03", 1)
    assert abs(ef - (2.6 - 0.32)) < 1e-9          # only the first answer of the day moves SM-2
    assert reviews(study_env) == [
        ("b-front", "2026-01-01", 5, "review", 1),
        ("b-front", "2026-01-02", 2, "review", 1),
        ("b-front", "2026-01-02", 3, "repeat", 0),
        ("b-front", "2026-01-02", 4, "repeat", 0),
    ]


def test_invalid_input_reprompts_with_a_hint(run, study_env):
    result = run("review --type basic", input="\n7\nx\n4\n")
    assert result.exit_code == 0
    assert result.stdout.count("type a grade from 0") == 2
    assert states(study_env)["b-front"][1:3] == (1, 1)


def test_end_of_input_ends_cleanly_and_keeps_answers(run, study_env):
    result = run("review", input="\n5\n")        # answers card 1, then stdin ends
    assert result.exit_code == 0, result
    assert "every answer is saved; 5 card(s) left for later" in result.stdout
    assert [r[0] for r in reviews(study_env)] == ["b-front"]


def test_q_quits(run, study_env):
    result = run("review", input="q\n")
    assert result.exit_code == 0
    assert reviews(study_env) == []


def card_number(stdout: str) -> int:
    return stdout.count("card ") and int(stdout.rsplit("card ", 1)[1].split(" ")[0])


def test_mcq_graded_from_letters(run, study_env):
    from studycli.content import McqCard
    import yaml
    from conftest import DECKS

    deck = yaml.safe_load((DECKS / "choices.yaml").read_text())
    single = McqCard(**deck["cards"][0])
    multi = McqCard(**deck["cards"][1])

    def letters(card, position, wanted):
        order = answers.shuffled(card.choices, f"{card.id}:2026-01-01:{position}")
        return ",".join(answers.LETTERS[i] for i, idx in enumerate(order) if card.choices[idx] in wanted)

    right_single = letters(single, 1, single.answers)
    wrong_multi = letters(multi, 2, ["T5", "GPT-4"])
    result = run("review --type mcq", input=f"{right_single}\n{wrong_multi}\n")
    assert "(Choose TWO.)" in result.stdout
    assert "not quite" in result.stdout
    qualities = {r[0]: r[2] for r in reviews(study_env)}
    assert qualities == {"c-single": 4, "c-multi": 1}


def test_ordering_and_matching(run, study_env):
    result = run("review --type ordering", input="1 2 3 4\n")
    # The items are shown shuffled (never in order), so "1 2 3 4" is wrong: quality 1, repeated.
    assert reviews(study_env)[0][2] == 1
    assert "not quite" in result.stdout
    result = run("review --type matching", input="1z\n1a 2b 3c\n")
    assert "pair every number" in result.stdout
    assert [r[0] for r in reviews(study_env)][-1] == "c-match"


def test_undo_restores_state_and_log(run, study_env):
    run("review --type basic", input="\n5\n")
    before = states(study_env)["b-front"]
    assert before[1] == 1
    result = run("undo")
    assert result.exit_code == 0
    assert "Undid your answer to b-front" in result.stderr
    assert states(study_env)["b-front"] == (2.5, 0, 0, None, 0)
    assert reviews(study_env) == []
    assert "Nothing to undo" in run("undo").stderr


def test_new_card_limit_is_per_day(run, study_env):
    run("review --new 2", input="\n5\n\n5\n")
    result = run("review --new 2", input="")
    assert "Nothing due" in result.stdout


def test_filters_and_limits_are_validated(run):
    result = run("review --topic nope")
    assert result.exit_code == 2
    assert "no topic 'nope'" in result.stderr and "basics" in result.stderr
    assert run("review --type essay").exit_code == 2
    assert run("review --limit 0").exit_code == 2


def test_cards_show_and_stats_json(run, study_env):
    run("review --type basic", input="\n4\n")
    rows = json.loads(run("cards --json").stdout)
    assert {r["id"] for r in rows} == {"b-front", "b-cloze", "b-order", "c-single", "c-multi", "c-match"}
    front = next(r for r in rows if r["id"] == "b-front")
    assert front["back"] == "What a token is looking for." and front["state"]["interval"] == 1
    due = json.loads(run("cards --due --json").stdout)
    assert due == []

    details = json.loads(run("show b-front --json").stdout)
    assert [h["quality"] for h in details["history"]] == [4]
    assert {r["id"]: r["kind"] for r in details["related"]} == {"b-cloze": "card", "choices": "topic"}
    text = run("show b-front").stdout
    assert "What a token is looking for." in text and "related" in text
    missing = run("show b-fron")
    assert missing.exit_code == 2 and "did you mean b-front" in missing.stderr

    stats = json.loads(run("stats --json").stdout)
    assert stats["cards"] == 6 and stats["new"] == 5 and stats["reviews_today"] == 1
    assert stats["by_topic"]["basics"] == {"cards": 3, "new": 2, "due_today": 0}


def test_dashboard(run):
    result = run([])
    assert result.exit_code == 0
    assert "new today       6 left of 20 a day (6 not yet studied)" in result.stdout
    assert "study review" in result.stdout


def test_bad_study_day(run, monkeypatch):
    monkeypatch.setenv("STUDYCLI_TODAY", "tomorrow")
    result = run("review")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "YYYY-MM-DD" in result.stderr


def test_card_text_and_typed_answers_are_never_read_as_markup(run, tmp_path, monkeypatch):
    deck = tmp_path / "markup.yaml"
    deck.write_text(
        "topic: markup\ntitle: Markup\ncards:\n"
        "  - id: m-mcq\n    type: mcq\n    question: Which token does BERT predict?\n"
        "    choices: ['[mask] tokens', '[bold]next[/bold] tokens']\n    answer: '[mask] tokens'\n")
    monkeypatch.setenv("STUDYCLI_CONTENT", str(tmp_path))
    result = run("review --topic markup", input="[red]x\nq\n")
    assert result.exit_code == 0, result
    assert "[mask] tokens" in result.stdout and "[bold]next[/bold] tokens" in result.stdout


def test_grade_legend_never_breaks_inside_a_meaning():
    from studycli import scheduler, ui

    lines = ui.grade_legend(scheduler.QUALITY_MEANINGS).splitlines()
    assert all(len(line) < 60 for line in lines)
    assert "3-5 right: 3 hard · 4 hesitated · 5 perfect" in lines
    assert sum(line.count(f"{q} ") for line in lines for q in range(6)) >= 6
