"""The database: sync by id, bad files left untouched, locks, migrations, schema drift."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import date

import pytest

from studycli import dbfile, scheduler
from studycli.errors import DatabaseError
from studycli.dbfile import SCHEMA_VERSION
from studycli.store import SQLModel, Store

from conftest import DECKS


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()



def sm2(row) -> scheduler.SM2State:
    return scheduler.SM2State(row.ef, row.repetitions, row.interval, row.due, row.lapses)


def answer(store, card_id, quality, today, mode):
    """Grade -> SM-2 -> write, as the review does; a repeat leaves SM-2 alone."""
    with store.transaction() as tx:
        before = tx.state(card_id)
        after = scheduler.review(before, quality, today) if mode != "repeat" else None
        tx.record(card_id, quality, before, after, day=today, mode=mode)

def test_sync_keeps_progress_on_edit_and_retires_removed_cards(tmp_path):
    decks = tmp_path / "decks"
    shutil.copytree(DECKS, decks)
    store = Store.open(tmp_path / "s.db")
    cards = store.sync([decks])
    assert list(cards)[:3] == ["b-front", "b-cloze", "b-order"]
    today = date(2026, 1, 1)
    answer(store, "b-front", 5, today, "review")

    deck = decks / "basics.yaml"
    deck.write_text(deck.read_text().replace("What a token is looking for.", "What the token seeks."))
    cards = store.sync([decks])
    assert cards["b-front"].back == "What the token seeks."
    assert store.state("b-front").repetitions == 1               # progress kept

    deck.write_text(deck.read_text().replace("  - id: b-front", "  - id: b-front-renamed"))
    cards = store.sync([decks])
    assert "b-front" not in cards and "b-front-renamed" in cards
    assert len(store.history("b-front")) == 1                      # history kept
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT retired FROM cards WHERE id='b-front'").fetchone() == (1,)


def test_unchanged_decks_are_not_parsed_again(tmp_path, monkeypatch):
    store = Store.open(tmp_path / "s.db")
    first = store.sync([DECKS])
    from studycli import content

    monkeypatch.setattr(content, "load_decks", lambda dirs: pytest.fail("decks were re-parsed"))
    assert dict(store.sync([DECKS]).items()) == dict(first.items())


def test_model_classes_match_the_migrated_schema(tmp_path):
    Store.open(tmp_path / "s.db")
    with sqlite3.connect(tmp_path / "s.db") as conn:
        for table in SQLModel.metadata.sorted_tables:
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table.name})")}
            assert columns == {c.name for c in table.columns}, table.name
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_text("these are my notes\n" * 20), "not a studycli database (not an SQLite file)"),
        (lambda p: sqlite3.connect(p).execute("CREATE TABLE photos (id INTEGER)").connection.commit(),
         "not a studycli database"),
        (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000), "damaged or unreadable"),
    ],
    ids=["text-file", "other-sqlite", "corrupt"],
)
def test_foreign_or_corrupt_files_are_refused_and_untouched(run, study_env, make, message):
    make(study_env)
    before = digest(study_env)
    result = run("review")
    assert result.exit_code == 2, result
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert digest(study_env) == before


def test_newer_schema_is_refused(run, study_env):
    Store.open(study_env).close()
    with sqlite3.connect(study_env) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    before = digest(study_env)
    result = run("stats")
    assert result.exit_code == 2
    assert "newer studycli (schema 99" in result.stderr
    assert digest(study_env) == before


def test_a_locked_database_gets_one_line(run, study_env, monkeypatch):
    run("stats")
    monkeypatch.setattr(dbfile, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(study_env, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = run("review", input="\n5\n")
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 2, result
    assert "locked by another program" in result.stderr


def test_a_reading_command_refuses_a_database_in_a_missing_folder(run, tmp_path, monkeypatch):
    # A typo in --db must not look like lost progress: nothing is created, one line, exit 2.
    monkeypatch.setenv("STUDYCLI_DB", str(tmp_path / "deep" / "er" / "study.db"))
    for command in ("stats", "cards", "show b-front", "config", "exam --history", "export -"):
        result = run(command)
        assert result.exit_code == 2 and "folder" in result.stderr and "does not exist" in result.stderr, command
        assert result.stderr.count("\n") == 1
    assert not (tmp_path / "deep").exists()


def test_a_studying_command_creates_the_database_and_says_where(run, tmp_path, monkeypatch):
    db = tmp_path / "deep" / "er" / "study.db"
    monkeypatch.setenv("STUDYCLI_DB", str(db))
    result = run("review", input="q\n")
    assert result.exit_code == 0 and f"created a new progress database at {db}" in result.stderr
    assert db.exists()
    assert "created" not in run("review", input="q\n").stderr    # only the first time


def test_database_path_that_is_a_folder(run, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYCLI_DB", str(tmp_path))
    result = run("stats")
    assert result.exit_code == 2 and "is a folder" in result.stderr


def test_undo_of_a_repeat_leaves_the_schedule(tmp_path):
    store = Store.open(tmp_path / "s.db")
    store.sync([DECKS])
    today = date(2026, 1, 1)
    answer(store, "b-front", 2, today, "review")
    after_lapse = sm2(store.state("b-front"))
    answer(store, "b-front", 4, today, "repeat")
    assert store.undo_last().mode == "repeat"
    assert sm2(store.state("b-front")) == after_lapse
    assert store.undo_last().mode == "review"
    assert sm2(store.state("b-front")) == scheduler.SM2State()


def test_database_error_is_a_usage_error():
    assert DatabaseError("x").exit_code == 2


def test_a_special_file_as_database_is_refused_and_nothing_is_created_beside_it(run, tmp_path, monkeypatch):
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    monkeypatch.setenv("STUDYCLI_DB", str(fifo))
    for command in ("stats", "review"):
        result = run(command, input="q\n")
        assert result.exit_code == 2 and "not a regular file" in result.stderr and result.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_database_in_a_read_only_folder_is_reported_as_such(tmp_path, monkeypatch):
    import os

    db = tmp_path / "study.db"
    db.write_bytes(b"")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    message = str(dbfile.error_message(db, sqlite3.OperationalError("unable to open database file")))
    assert "read-only folder" in message and "damaged" not in message


def test_a_new_cards_ef_is_sm2s():
    # The store does not import the scheduler; its copy of SM-2's starting EF must agree.
    from studycli import store

    assert store.INITIAL_EF == scheduler.INITIAL_EF == scheduler.SM2State().ef
