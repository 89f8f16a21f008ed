"""Mock exams: the weighted draw, a scripted sitting through piped stdin, the timer, storage."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter
from datetime import date

import pytest

from conftest import FIXTURES
from studycli.scheduler import SM2State, missed_on_exam
from studycli import answers, exam, paths, session
from studycli.answers import LETTERS

EXAM_DECKS = FIXTURES / "exam"
TODAY = date(2026, 1, 1)


@pytest.fixture
def exam_env(study_env, monkeypatch):
    monkeypatch.setattr(paths, "content_dir", lambda: EXAM_DECKS)
    return study_env


# ---------------------------------------------------------------- the draw (pure)


def test_apportion_by_largest_remainder():
    # 65 * (.20, .24, .28, .14, .14) = 13, 15.6, 18.2, 9.1, 9.1: floors sum to 64, domain 2 has
    # the largest remainder (.6) and takes the last seat.
    weights = dict(exam.AIF_C01.domain_weights)
    assert exam.apportion(65, weights) == {1: 13, 2: 16, 3: 18, 4: 9, 5: 9}
    # Renormalised over two domains: 10 * .24/.52 = 4.62, 10 * .28/.52 = 5.38 -> 5 and 5.
    assert exam.apportion(10, {2: 0.24, 3: 0.28}) == {2: 5, 3: 5}
    assert sum(exam.apportion(7, weights).values()) == 7


def domains_of(n_per_domain: dict) -> dict:
    return {f"d{d}-{i}": d for d, n in n_per_domain.items() for i in range(n)}


def test_draw_follows_the_domain_weights():
    pool = domains_of({1: 20, 2: 20, 3: 20, 4: 20, 5: 20})
    ids = exam.draw(pool, 65, dict(exam.AIF_C01.domain_weights), random.Random(1))
    assert len(ids) == len(set(ids)) == 65
    assert Counter(pool[i] for i in ids) == {1: 13, 2: 16, 3: 18, 4: 9, 5: 9}


def test_a_short_domain_gives_its_seats_to_the_others():
    # Domains 1 and 2 only: 10 seats split 5/5 by weight (.20 vs .24 -> 4.55, 5.45), but domain 1
    # has 2 cards, so domain 2 fills the other 8.
    pool = domains_of({1: 2, 2: 20})
    ids = exam.draw(pool, 10, dict(exam.AIF_C01.domain_weights), random.Random(2))
    assert Counter(pool[i] for i in ids) == {1: 2, 2: 8}


def test_cards_without_a_domain_fill_what_the_domains_cannot():
    pool = {**domains_of({3: 3}), "free-1": None, "free-2": None, "free-3": None, "free-4": None}
    ids = exam.draw(pool, 5, dict(exam.AIF_C01.domain_weights), random.Random(3))
    assert Counter(pool[i] for i in ids) == {3: 3, None: 2}
    everything = exam.draw(pool, 50, dict(exam.AIF_C01.domain_weights), random.Random(3))
    assert sorted(everything) == sorted(pool)


def test_same_seed_same_paper(exam_env):
    store, cards = session.open_study()
    first = exam.set_paper(cards, questions=6, seed="abc")
    again = exam.set_paper(cards, questions=6, seed="abc")
    other = exam.set_paper(cards, questions=6, seed="xyz")
    assert [q.card.id for q in first.questions] == [q.card.id for q in again.questions]
    assert [q.card.id for q in first.questions] != [q.card.id for q in other.questions]
    assert {q.card.type for q in first.questions} <= {"mcq", "ordering", "matching", "numeric"}


def test_scaled_score_is_linear_and_rounds_half_up():
    assert exam.scaled_score(0, 65) == 100
    assert exam.scaled_score(65, 65) == 1000
    assert exam.scaled_score(6, 8) == 775            # 100 + 900 * 0.75
    assert exam.scaled_score(1, 8) == 213            # 100 + 112.5 -> 213
    assert exam.scaled_score(44, 65) == 709          # 100 + 609.23
    assert exam.scaled_score(43, 65) == 695          # 100 + 595.38: one short of passing


# ---------------------------------------------------------------- sitting it through piped stdin


def right_answer(card, seed: str) -> str:
    """What to type for `card` shown with `seed`, worked out from the card itself."""
    if card.type == "mcq":
        shown = [card.choices[i] for i in answers.shuffled(card.choices, seed)]
        return ",".join(LETTERS[i] for i, text in enumerate(shown) if text in card.answers)
    if card.type == "ordering":
        shown = [card.items[i] for i in answers.shuffled(card.items, seed, avoid_identity=True)]
        return " ".join(str(shown.index(item) + 1) for item in card.items)
    if card.type == "matching":
        rights = sorted({right for _, right in card.pairs})
        rights = [rights[i] for i in answers.shuffled(rights, seed)]
        return " ".join(f"{i + 1}{LETTERS[rights.index(r)]}" for i, (_, r) in enumerate(card.pairs))
    raise AssertionError(card.type)


def wrong_answer(card, seed: str) -> str:
    right = right_answer(card, seed)
    if card.type == "mcq":
        return next(letter for letter in LETTERS[: len(card.choices)] if letter not in right)
    if card.type == "ordering":
        return " ".join(reversed(right.split()))
    pairs = right.split()        # matching: every left gets the next one's letter
    return " ".join(f"{p[:-1]}{pairs[(i + 1) % len(pairs)][-1]}" for i, p in enumerate(pairs))


def db_rows(db, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_scripted_exam_scores_and_reschedules(run, exam_env):
    store, cards = session.open_study()
    # A card the learner already knows well (due in 20 days) so a miss must pull it back to today.
    paper = exam.set_paper(cards, questions=8, seed="42")
    qs = paper.questions
    assert len(qs) == 8
    known = qs[5].card.id                        # question 6 will be answered wrong
    with sqlite3.connect(exam_env) as conn:
        conn.execute("UPDATE card_states SET ef=2.6, repetitions=3, interval=20, due='2026-01-21' WHERE card_id=?",
                     (known,))
    # 1-5 right; 6 wrong; 7 skipped with Enter; 8 first wrong (which shows the review list), then
    # flag, go back to 8, change it to right; submit, confirm (one unanswered).
    lines = [right_answer(q.card, q.seed) for q in qs[:5]]
    lines += [wrong_answer(qs[5].card, qs[5].seed), "", wrong_answer(qs[7].card, qs[7].seed)]
    lines += ["g 3", "f", "g 8", "?", "bogus!", right_answer(qs[7].card, qs[7].seed), "s", "s"]
    result = run("exam --questions 8 --seed 42", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result
    # 6 of 8 right: 100 + 900 * 6/8 = 775, a pass.
    assert "score 775 of 1000" in result.stdout and "PASS" in result.stdout
    assert "1 question(s) unanswered and 1 flagged (3); type s again" in result.stdout
    assert "g 12" in result.stdout                                  # the help was shown
    assert "(? lists the commands)" in result.stdout                 # the bad input got a hint
    assert f"6. {known}" in result.stdout and "wrong" in result.stdout
    assert qs[5].card.explanation.split()[0] in result.stdout

    [row] = db_rows(exam_env, "SELECT questions, answered, correct, scaled_score, passed, ended_by, seed FROM exams")
    assert row == (8, 7, 6, 775, 1, "submitted", "42")
    stored = db_rows(exam_env, "SELECT position, card_id, answer IS NOT NULL, correct, flagged FROM exam_answers "
                               "ORDER BY position")
    assert [(p, c) for p, c, *_ in stored] == [(q.position, q.card.id) for q in qs]
    assert [(a, c, f) for _, _, a, c, f in stored] == [(1, 1, 0)] * 2 + [(1, 1, 1)] + [(1, 1, 0)] * 2 + \
        [(1, 0, 0), (0, 0, 0), (1, 1, 0)]

    # Answered questions are logged as mode exam: right ones leave SM-2 alone, the wrong one is
    # due today and starts over, keeping its EF; the unanswered one is not logged.
    logged = db_rows(exam_env, "SELECT card_id, quality, mode, scheduled FROM reviews ORDER BY id")
    assert sorted(logged) == sorted([(q.card.id, 4, "exam", 0) for i, q in enumerate(qs) if i not in (5, 6)]
                                    + [(known, 1, "exam", 1)])
    states = {r[0]: r[1:] for r in db_rows(exam_env, "SELECT card_id, ef, repetitions, interval, due, lapses "
                                                      "FROM card_states")}
    assert states[known] == (2.6, 0, 0, "2026-01-01", 1)
    for q in qs[:5]:
        assert states[q.card.id] == (2.5, 0, 0, None, 0)

    history = json.loads(run("exam --history --json").stdout)
    assert [(h["scaled_score"], h["passed"], h["correct"], h["questions"]) for h in history] == [(775, True, 6, 8)]
    assert "775" in run("exam --history").stdout

    # The missed card is in today's review queue.
    due = json.loads(run("cards --due --json").stdout)
    assert [c["id"] for c in due] == [known]


def test_a_miss_never_pushes_a_due_card_later_and_a_hit_never_raises_an_interval():
    overdue = SM2State(ef=2.0, repetitions=2, interval=6, due=date(2025, 12, 20))
    assert missed_on_exam(overdue, TODAY) == SM2State(ef=2.0, repetitions=2, interval=6, due=date(2025, 12, 20),
                                                      lapses=1)   # still due when it was; a lapse counted
    later = SM2State(ef=2.0, repetitions=4, interval=40, due=date(2026, 2, 1))
    assert missed_on_exam(later, TODAY) == SM2State(ef=2.0, repetitions=0, interval=0, due=TODAY, lapses=1)
    new = SM2State()
    assert missed_on_exam(new, TODAY) == SM2State(due=TODAY)       # never studied: no lapse


def test_end_of_input_submits_what_was_answered(run, exam_env):
    store, cards = session.open_study()
    qs = exam.set_paper(cards, questions=5, seed="7").questions
    result = run("exam --questions 5 --seed 7", input=right_answer(qs[0].card, qs[0].seed) + "\n")
    assert result.exit_code == 0, result
    # 1 of 5: 100 + 180 = 280.
    assert "score 280 of 1000" in result.stdout and "FAIL" in result.stdout
    assert db_rows(exam_env, "SELECT answered, correct, ended_by FROM exams") == [(1, 1, "end of input")]


def test_the_timer_ends_the_exam_and_scores_what_was_answered(run, exam_env, monkeypatch):
    from studycli import ui

    store, cards = session.open_study()
    qs = exam.set_paper(cards, questions=5, seed="9", minutes=3).questions
    now = [0.0]
    monkeypatch.setattr(exam, "clock", lambda: now[0])
    real_ask = ui.ExamTerminal.ask

    def slow_ask(self, prompt):          # the learner takes a minute over every line
        answer = real_ask(self, prompt)
        now[0] += 60.0
        return answer

    monkeypatch.setattr(ui.ExamTerminal, "ask", slow_ask)
    typed = [right_answer(q.card, q.seed) for q in qs]
    result = run("exam --questions 5 --seed 9 --minutes 3", input="\n".join(typed) + "\n")
    assert result.exit_code == 0, result
    # Answers 1 and 2 arrive at 1 and 2 minutes; answer 3 arrives at 3:00, when time is up.
    assert "03:00 left" in result.stdout and "02:00 left" in result.stdout and "01:00 left" in result.stdout
    assert "time is up" in result.stdout
    assert "score 460 of 1000" in result.stdout                      # 100 + 900 * 2/5
    assert db_rows(exam_env, "SELECT answered, correct, ended_by, seconds_used FROM exams") == [(2, 2, "time", 180.0)]


def test_a_waiting_prompt_is_interrupted_when_time_runs_out(exam_env):
    store, cards = session.open_study()
    paper = exam.set_paper(cards, questions=3, seed="1", minutes=0.002)    # 0.12 s

    class Waiting:                       # a learner who never types anything
        def ask(self, prompt):
            time.sleep(5)
            return "a"

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    started = time.monotonic()
    sitting = exam.sit(paper, Waiting(), interrupt=True)
    assert time.monotonic() - started < 2
    assert sitting.ended_by == "time" and sitting.sheet.typed == {}


def test_f_flags_except_where_it_is_an_answer(exam_env):
    store, cards = session.open_study()
    q = exam.set_paper(cards, questions=1, seed="1").questions[0]
    assert exam.read_command("f", q) == ("flag", None)
    assert exam.read_command("g 3", q) == ("go", 3)
    assert exam.read_command("g", q) == ("answer", "g")
    six = q.card.model_copy(update={"type": "mcq", "choices": list("uvwxyz")})
    assert exam.read_command("f", exam.Question(1, six, "s", q.posed)) == ("answer", "f")
    assert exam.read_command("flag", exam.Question(1, six, "s", q.posed)) == ("flag", None)


@pytest.mark.parametrize("args, message", [
    ("exam --questions 0", "--questions must be 1 or more"),
    ("exam --minutes 0", "--minutes must be more than 0"),
    ("exam --minutes -5", "--minutes must be more than 0"),
    ("exam --minutes inf", "at most 1440"),
    ("exam --minutes nan", "--minutes must be more than 0"),
    ("exam --topic nope", "no topic 'nope'"),
    ("exam --topic exam-none", "no exam questions"),
    ("exam --questions many", "Invalid value for '--questions'"),
])
def test_bad_options_are_one_line_and_exit_2(run, exam_env, args, message):
    result = run(args, input="")
    assert result.exit_code == 2, result
    assert message in result.stderr
    if "Invalid value" not in message:               # ours are one line; click words its own
        assert result.stderr.count("\n") == 1
        assert db_rows(exam_env, "SELECT count(*) FROM exams") == [(0,)]


def test_fewer_cards_than_asked_uses_them_all_and_says_so(run, exam_env):
    result = run("exam --seed 3", input="s\ns\n")
    assert result.exit_code == 0, result
    assert "65 questions were asked for" in result.stdout and "only 9 exam-style cards" in result.stdout
    # 9 questions get 90 * 9/65 = 12.5 minutes, rounded up to 13.
    assert db_rows(exam_env, "SELECT questions, minutes FROM exams") == [(9, 13.0)]


def test_history_when_empty(run, exam_env):
    result = run("exam --history")
    assert result.exit_code == 0 and "No exams yet" in result.stderr
    assert json.loads(run("exam --history --json").stdout) == []


def test_ctrl_c_hands_the_paper_in(exam_env):
    store, cards = session.open_study()
    paper = exam.set_paper(cards, questions=3, seed="4")
    typed = iter([right_answer(paper.questions[0].card, paper.questions[0].seed)])

    class Learner:
        def ask(self, prompt):
            try:
                return next(typed)
            except StopIteration:
                raise KeyboardInterrupt from None

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    result = exam.score(paper, exam.sit(paper, Learner()))
    assert (result.ended_by, result.answered, result.correct, result.scaled_score) == ("interrupted", 1, 1, 400)


def test_papers_from_the_built_in_deck_are_in_the_exam_form(tmp_path, monkeypatch):
    """Three seeded 65-question papers: exam-style items only, 13/16/18/9/9 by domain (+-1)."""
    from collections import Counter

    from studycli import cardtypes

    monkeypatch.setenv("STUDYCLI_DB", str(tmp_path / "paper.db"))
    monkeypatch.delenv("STUDYCLI_CONTENT", raising=False)
    _, cards = session.open_study()
    for seed in ("1", "2", "3"):
        paper = exam.set_paper(cards, seed=seed)
        assert len(paper.questions) == 65 and paper.short == {}
        assert {q.card.type for q in paper.questions} <= set(cardtypes.EXAM_STYLE)
        by_domain = Counter(q.card.domain for q in paper.questions)
        for domain, seats in {1: 13, 2: 16, 3: 18, 4: 9, 5: 9}.items():
            assert abs(by_domain[domain] - seats) <= 1, (seed, by_domain)
        assert not any(q.card.topic in q.text for q in paper.questions if q.card.topic not in q.card.question)


def test_history_json_lists_every_question_with_its_result(run, exam_env):
    _, cards = session.open_study()
    paper = exam.set_paper(cards, questions=3, seed="9")
    lines = [right_answer(paper.questions[0].card, paper.questions[0].seed),
             wrong_answer(paper.questions[1].card, paper.questions[1].seed), "", "s", "s"]
    assert run("exam --questions 3 --seed 9", input="\n".join(lines) + "\n").exit_code == 0
    [attempt] = json.loads(run("exam --history --json").stdout)
    assert [(i["id"], i["correct"]) for i in attempt["items"]] == [
        (paper.questions[0].card.id, True), (paper.questions[1].card.id, False), (paper.questions[2].card.id, None)]
    assert all(set(i) == {"id", "type", "domain", "correct"} for i in attempt["items"])
