"""Code cards: starter files, the learner's editor, and grading submissions into SM-2.

The learner's file lives in the answers folder beside the database and is never overwritten
without `--force`, so their work survives every session.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from studycli import paths, scheduler
from studycli.errors import StudyError, UsageError

if TYPE_CHECKING:  # the database layer is imported where it is used, after grading has started
    from studycli.content import CodeCard
    from studycli.session import Outcome
    from studycli.store import Catalog, Store


def code_card(cards: "Catalog", card_id: str) -> "CodeCard":
    """The code card `card_id`; a usage error naming the code cards if it is not one."""
    card = cards.get(card_id)
    from studycli.cardtypes import kind_of

    if card is None or kind_of(card).graded_by != "code":
        code_ids = [cid for cid in cards if cards.type(cid) == "code"]
        what = "is not a code card" if card is not None else "is not a card"
        raise UsageError(f"{card_id!r} {what}; code cards: {', '.join(code_ids[:8])}{', ...' if len(code_ids) > 8 else ''}")
    return card


def answer_file(db: Path, card: "CodeCard") -> Path:
    """Where the review session keeps this card's answer."""
    return paths.answers_dir(db) / f"{card.id.replace('-', '_')}.py"


def starter_text(card: "CodeCard") -> str:
    """The check's starter file for this card (its id filled in)."""
    from studycli.grading import starter_file

    return starter_file(card.check).replace("CARD-ID", card.id)


def write_starter(card: "CodeCard", path: Path, force: bool = False) -> Path:
    """Write the check's starter file at `path`; refuses to overwrite unless `force`."""
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; use --force to overwrite it (your answer would be lost)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_text(card), encoding="utf-8")
    except OSError as exc:
        raise StudyError(f"cannot write {path}: {exc.strerror}") from None
    return path


def open_editor(path: Path) -> bool:
    """Open `path` in $VISUAL or $EDITOR and wait; False when neither is set."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        return False
    try:
        subprocess.run([*shlex.split(editor), str(path)], check=False)
    except (OSError, ValueError) as exc:
        raise StudyError(f"cannot start the editor {editor!r}: {exc}") from None
    return True


def peek_card(db: Path, card_id: str) -> dict | None:
    """An active card's stored fields, read straight from an existing database, else None.

    Plain sqlite3, read-only: `study check` reads the card's check this way and never loads the
    database layer (about 0.25 s of imports) on a current database.
    """
    from studycli import dbfile

    if not db.is_file():
        return None
    try:
        with dbfile.reader(db) as conn:
            row = conn.execute("SELECT data FROM cards WHERE id = ? AND NOT retired", (card_id,)).fetchone()
    except (StudyError, sqlite3.Error):
        return None
    return json.loads(row[0]) if row else None


def check_of(card: dict | None) -> str | None:
    """The check a stored code card names, or None for any other card (or none)."""
    return card.get("check") if card and card.get("type") == "code" else None


def peek_check(db: Path, card_id: str) -> str | None:
    """The check a code card names, or None (not a code card, or no current database)."""
    return check_of(peek_card(db, card_id))


def start_grading(check: str | None, path: Path) -> tuple[str, Future] | None:
    """Grade `path` with `check` in a background thread (the work is in a child process)."""
    if check is None or not path.is_file():
        return None
    from studycli.grading import grade

    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(grade, check, path)
    executor.shutdown(wait=False)
    return check, future


MAX_ANSWER_BYTES = 2**20   # an answer is a function or two; a bigger file is not graded or stored


def read_answer(path: Path, card_id: str) -> str:
    """The learner's file as text; a usage error when it is missing, unreadable or too big."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file (write one with `study stub {card_id}`)")
    try:
        if path.stat().st_size > MAX_ANSWER_BYTES:
            raise UsageError(f"{path} is {path.stat().st_size / 2**20:.1f} MB; an answer file may be at most "
                             f"{MAX_ANSWER_BYTES // 1024} KB, so it was neither graded nor stored")
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def grade_file(check: str, path: Path, started: tuple[str, Future] | None = None):
    """The verdict for the file at `path`; `started` is a grading begun early by `start_grading`,
    used when it graded the same check."""
    from studycli.grading import grade

    early_check, early = started or (None, None)
    return early.result() if early is not None and early_check == check else grade(check, path)


def record_submission(db: Path, card_id: str, check: str, today: date, verdict, code: str, *,
                      count_review: bool) -> int | None:
    """Store the submission and, with `count_review`, a pass as the day's review of the card;
    one transaction, plain sqlite3. Returns the grade the pass counted as, or None."""
    from studycli import dbfile
    from studycli.dbfile import utc_now

    with dbfile.writer(db) as conn:
        dbfile.insert(conn, "submissions", {
            "card_id": card_id, "check_name": check, "submitted_at": utc_now(), "study_day": today,
            "status": verdict.status, "duration_ms": verdict.duration_ms, "code": code, "verdict": verdict.to_json()})
        return count_as_review(conn, card_id, today) if count_review and verdict.passed else None


def count_as_review(conn, card_id: str, today: date) -> int | None:
    """A pass with `study check` counts as the day's review of a due or new card.

    Graded 5 when it is the first submission of the day, 3 after earlier failed attempts; a
    card already reviewed today, or not yet due, keeps its schedule. Returns the grade given.
    """
    from studycli import dbfile, settings

    ef, repetitions, interval, due, lapses, fsrs = conn.execute(
        "SELECT ef, repetitions, interval, due, lapses, fsrs FROM card_states WHERE card_id = ?", (card_id,)).fetchone()
    before = scheduler.SM2State(ef, repetitions, interval, date.fromisoformat(due) if due else None, lapses)
    if before.due is not None and before.due > today:
        return None
    day = today.isoformat()
    if conn.execute("SELECT 1 FROM reviews WHERE card_id = ? AND study_day = ? AND scheduled LIMIT 1",
                    (card_id, day)).fetchone():
        return None
    [(attempts,)] = conn.execute("SELECT COUNT(*) FROM submissions WHERE card_id = ? AND study_day = ?",
                                 (card_id, day)).fetchall()
    quality = scheduler.code_quality(first_try=attempts <= 1)
    after, fsrs = scheduler.next_states(before, fsrs, quality, today, settings.policy(conn))
    dbfile.insert(conn, "reviews", dbfile.review_row(card_id, quality, before, after, day=today, mode="check"))
    conn.execute("UPDATE card_states SET ef = ?, repetitions = ?, interval = ?, due = ?, lapses = ?, fsrs = ? "
                 "WHERE card_id = ?", (after.ef, after.repetitions, after.interval, after.due.isoformat(),
                                       after.lapses, fsrs, card_id))
    return quality


def check(places: paths.Places, card_id: str, file: Path, *, record: bool = True):
    """`study check`: (verdict, the grade it counted as, or None) for `file` against a code card.

    Straight down: read the card with plain sqlite3, grade, store with plain sqlite3. Grading
    starts at once on a current database; only a new or changed one loads the database layer,
    to migrate and sync.
    """
    from studycli import dbfile

    current = dbfile.is_current(places.db, places.decks)
    code = read_answer(file, card_id)
    card = peek_card(places.db, card_id) if current else None
    started = start_grading(check_of(card), file)
    if not current:
        from studycli import session

        session.open_study(places)
        card = peek_card(places.db, card_id)
    if check_of(card) is None:
        raise UsageError(not_a_code_card(places.db, card_id, card is not None))
    verdict = grade_file(card["check"], file, started)
    if not record:
        return verdict, None
    return verdict, record_submission(places.db, card_id, card["check"], places.today, verdict, code,
                                      count_review=True)


def not_a_code_card(db: Path, card_id: str, is_a_card: bool) -> str:
    from studycli import dbfile

    with dbfile.reader(db) as conn:
        code_ids = [r[0] for r in conn.execute(
            "SELECT id FROM cards WHERE type = 'code' AND NOT retired ORDER BY position LIMIT 9")]
    what = "is not a code card" if is_a_card else "is not a card"
    return f"{card_id!r} {what}; code cards: {', '.join(code_ids[:8])}{', ...' if len(code_ids) > 8 else ''}"


def fresh_start(card: "CodeCard", path: Path) -> Path | None:
    """A due review starts from the starter again; the previous answer moves to `*.prev.py`.

    Returns where the previous answer now is, or None when there was none worth keeping.
    """
    starter = starter_text(card)
    previous = path.with_suffix(".prev.py")
    try:
        if path.read_text(encoding="utf-8", errors="replace") == starter:
            return None
        path.replace(previous)
        path.write_text(starter, encoding="utf-8")
    except OSError as exc:
        raise StudyError(f"cannot start {path} afresh: {exc.strerror}") from None
    return previous


def practise(card: "CodeCard", io, store: "Store", today: date) -> "Outcome":
    """One code card inside `study review`: write, edit, grade; retry, hint, restore or skip.

    A card that was passed before starts from a fresh starter (it is practised, not re-submitted);
    the last answer is kept beside it and `r` brings it back.
    """
    from studycli.session import EndSession, Outcome

    path = answer_file(store.path, card)
    attempts = store.submissions_on(card.id, today)   # earlier tries today count as retries
    previous = None
    if not path.exists():
        write_starter(card, path)
    elif attempts == 0 and store.state(card.id).due is not None:
        previous = fresh_start(card, path)
    hints_shown = 0
    failed_before = attempts > 0
    use_editor = bool(os.environ.get("VISUAL") or os.environ.get("EDITOR"))
    io.code_file(path, editor=use_editor, previous=previous)
    while True:
        if use_editor:
            try:
                open_editor(path)
            except StudyError as exc:   # a broken $EDITOR must not end the session
                io.hint(f"{exc}; edit {path} yourself, then come back here")
                use_editor = False
        choice = io.code_prompt(hints_left=len(card.hints) - hints_shown, can_restore=previous is not None)
        if choice == "quit":
            raise EndSession
        if choice == "skip":
            return Outcome(None)
        if choice == "restore" and previous is not None:
            path.write_bytes(previous.read_bytes())
            io.hint(f"restored your previous answer into {path}")
            continue
        if choice == "hint":
            if hints_shown < len(card.hints):
                io.markdown(f"**hint {hints_shown + 1}:** {card.hints[hints_shown]}")
                hints_shown += 1
            else:
                io.hint("no more hints for this card")
            continue
        attempts += 1
        code = read_answer(path, card.id)
        verdict = grade_file(card.check, path)
        record_submission(store.path, card.id, card.check, today, verdict, code, count_review=False)
        io.code_verdict(verdict)
        if verdict.passed:
            quality = scheduler.code_quality(first_try=not failed_before and hints_shown == 0)
            # A pass ends the card for today, even graded 3: it was answered right, by the learner.
            return Outcome(quality, json.dumps({"file": str(path), "attempts": attempts, "hints": hints_shown}),
                           final=True)
        failed_before = True
