"""Code cards from the command line: stub, check, and the review loop with retry, hint and skip."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import FIXTURES

CODE_DECKS = FIXTURES / "code-decks"
RIGHT = '''
import numpy as np

def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
'''
WRONG = '''
import numpy as np

def softmax(x, axis=-1):
    return np.exp(x) / np.exp(x).sum()
'''


@pytest.fixture
def code_run(run, monkeypatch):
    monkeypatch.setenv("STUDYCLI_CONTENT", str(CODE_DECKS))
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    return run


def rows(db, sql):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_stub_writes_a_starter_and_never_overwrites(code_run, tmp_path):
    target = tmp_path / "mine.py"
    result = code_run(["stub", "k-softmax", "-o", str(target)])
    assert result.exit_code == 0, result
    text = target.read_text()
    assert "def softmax(x, axis=-1):" in text and "Example" in text
    target.write_text("my work")
    again = code_run(["stub", "k-softmax", "-o", str(target)])
    assert again.exit_code == 2 and "--force" in again.stderr
    assert target.read_text() == "my work"
    assert code_run(["stub", "k-softmax", "-o", str(target), "--force"]).exit_code == 0
    assert "def softmax" in target.read_text()


def test_stub_of_a_card_that_is_not_code(code_run):
    result = code_run("stub b-front")
    assert result.exit_code == 2 and "is not a code card" in result.stderr and "k-softmax" in result.stderr


def test_check_pass_fail_and_missing_file(code_run, study_env, tmp_path):
    right, wrong = tmp_path / "right.py", tmp_path / "wrong.py"
    right.write_text(RIGHT)
    wrong.write_text(WRONG)

    failed = code_run(["check", "k-softmax", str(wrong)])
    assert failed.exit_code == 1
    assert "fail" in failed.stdout

    passed = code_run(["check", "k-softmax", str(right), "--json"])
    assert passed.exit_code == 0, passed
    assert json.loads(passed.stdout)["status"] == "pass"

    assert [r[0] for r in rows(study_env, "SELECT status FROM submissions ORDER BY id")] == ["fail", "pass"]
    # A pass after a failed attempt the same day counts as the card's review, graded 3.
    assert rows(study_env, "SELECT card_id, quality, mode FROM reviews") == [("k-softmax", 3, "check")]

    missing = code_run(["check", "k-softmax", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert missing.stderr.count("\n") == 1


def test_check_without_recording(code_run, study_env, tmp_path):
    right = tmp_path / "right.py"
    right.write_text(RIGHT)
    assert code_run(["check", "k-softmax", str(right), "--no-record"]).exit_code == 0
    assert rows(study_env, "SELECT count(*) FROM submissions") == [(0,)]
    assert rows(study_env, "SELECT count(*) FROM reviews") == [(0,)]


def answer_path(db):
    return db.parent / "answers" / "k_softmax.py"


def review_code(code_run, keys: str):
    return code_run("review --type code", input=keys)


def test_review_first_try_pass_is_5(code_run, study_env):
    answer = answer_path(study_env)
    answer.parent.mkdir(parents=True)
    answer.write_text(RIGHT)
    result = review_code(code_run, "\n")
    assert result.exit_code == 0, result
    assert rows(study_env, "SELECT quality FROM reviews") == [(5,)]
    assert answer.read_text() == RIGHT                       # the learner's file is kept


def test_review_writes_the_starter_then_hint_and_retry_give_3(code_run, study_env):
    result = review_code(code_run, "h\nh\nh\n\n")            # grade the untouched starter: error
    assert "hint 1:" in result.stdout and "hint 2:" in result.stdout and "no more hints" in result.stdout
    assert answer_path(study_env).exists()
    assert rows(study_env, "SELECT count(*) FROM reviews") == [(0,)]   # ended by end of input, not graded
    answer_path(study_env).write_text(RIGHT)
    review_code(code_run, "\n")
    assert rows(study_env, "SELECT quality FROM reviews") == [(3,)]   # second attempt of the day


def test_review_skip_stores_no_grade_and_does_not_come_back(code_run, study_env):
    result = review_code(code_run, "x\ns\n")
    assert "type Enter to grade" in result.stdout
    assert rows(study_env, "SELECT quality, mode FROM reviews") == []
    assert rows(study_env, "SELECT ef, repetitions, due FROM card_states WHERE card_id = 'k-softmax'") == [(2.5, 0, None)]
    assert "card 2 of" not in result.stdout


def test_peek_reads_the_check_without_the_orm(code_run, study_env, tmp_path):
    from studycli import practice

    assert practice.peek_check(study_env, "k-softmax") is None          # no database yet
    code_run("stats")
    assert practice.peek_check(study_env, "k-softmax") == "softmax"
    assert practice.peek_check(study_env, "b-front") is None             # not a code card
    assert practice.peek_check(tmp_path / "nothing.db", "k-softmax") is None


def test_review_opens_the_editor_on_the_answer_file(code_run, study_env, tmp_path, monkeypatch):
    editor = tmp_path / "fake-editor"
    solution = tmp_path / "solution.py"
    solution.write_text(RIGHT)
    editor.write_text(f"#!/bin/sh\ncp {solution} \"$1\"\n")   # an editor that types the right answer
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", f"{editor}")
    result = review_code(code_run, "\n")
    assert result.exit_code == 0, result
    assert "opening your editor" in " ".join(result.stdout.split())   # rich may wrap the long path
    assert answer_path(study_env).read_text() == RIGHT
    assert rows(study_env, "SELECT quality FROM reviews") == [(5,)]


def test_a_missing_editor_falls_back_to_the_path(code_run, study_env, monkeypatch):
    monkeypatch.setenv("EDITOR", "/no/such/editor --wait")
    answer = answer_path(study_env)
    answer.parent.mkdir(parents=True)
    answer.write_text(RIGHT)
    result = review_code(code_run, "\n")
    assert result.exit_code == 0, result
    assert "cannot start the editor" in result.stdout and "yourself" in " ".join(result.stdout.split())
    assert rows(study_env, "SELECT quality FROM reviews") == [(5,)]


def test_an_answer_file_over_the_cap_is_neither_graded_nor_stored(code_run, study_env, tmp_path):
    from studycli import practice

    huge = tmp_path / "huge.py"
    huge.write_text(RIGHT + "#" * (practice.MAX_ANSWER_BYTES + 1) + "\n")
    result = code_run(f"check k-softmax {huge}")
    assert result.exit_code == 2 and "at most 1024 KB" in result.stderr and result.stderr.count("\n") == 1
    assert not study_env.exists() or rows(study_env, "SELECT count(*) FROM submissions") == [(0,)]
