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


def write_starter(card: "CodeCard", path: Path, force: bool = False) -> Path:
    """Write the check's starter file at `path`; refuses to overwrite unless `force`."""
    from studycli.grading import starter_file

    if path.exists() and not force:
        raise UsageError(f"{path} already exists; use --force to overwrite it (your answer would be lost)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_file(card.check).replace("CARD-ID", card.id), encoding="utf-8")
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


def peek_check(db: Path, card_id: str) -> str | None:
    """The check a code card names, read straight from an existing database, else None.

    Plain sqlite3, read-only: `study check` uses it to start grading while the database layer
    (about 0.25 s of imports) is still loading.
    """
    from studycli import dbfile

    if not db.is_file():
        return None
    try:
        with dbfile.reader(db) as conn:
            row = conn.execute("SELECT data FROM cards WHERE id = ? AND type = 'code' AND NOT retired",
                               (card_id,)).fetchone()
    except (StudyError, sqlite3.Error):
        return None
    return json.loads(row[0]).get("check") if row else None


def start_grading(check: str | None, path: Path) -> tuple[str, Future] | None:
    """Grade `path` with `check` in a background thread (the work is in a child process)."""
    if check is None or not path.is_file():
        return None
    from studycli.grading import grade

    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(grade, check, path)
    executor.shutdown(wait=False)
    return check, future


def grade_file(store: "Store | None", card: "CodeCard", path: Path, today: date, *, record: bool = True,
               started: tuple[str, Future] | None = None):
    """Grade the file at `path` against the card's check; store the submission unless `record` is off.

    `started` is a grading begun early by `start_grading`; it is used when it graded the same check.
    """
    from studycli.grading import grade
    from studycli.store import Submission, utc_now

    if not path.is_file():
        raise UsageError(f"{path}: no such file (write one with `study stub {card.id}`)")
    try:
        code = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    early_check, early = started or (None, None)
    verdict = early.result() if early is not None and early_check == card.check else grade(card.check, path)
    if record and store is not None:
        store.add_submission(Submission(
            card_id=card.id, check_name=card.check, submitted_at=utc_now(), study_day=today,
            status=verdict.status, duration_ms=verdict.duration_ms, code=code, verdict=verdict.to_json()))
    return verdict


def check(card_id: str, file: Path, *, db: Path | None = None, extra_content: list[Path] | None = None,
          record: bool = True):
    """`study check`: (verdict, the grade it counted as, or None) for `file` against a code card.

    Grading starts before the database layer loads, from the card's check read with plain
    sqlite3 when the database is current; with `record` off the ORM is then never loaded.
    """
    from studycli import dbfile

    db_file = paths.db_path(db)
    current = dbfile.is_current(db_file, paths.deck_dirs(extra_content))
    started = start_grading(peek_check(db_file, card_id) if current else None, file)
    if started is not None and not record:
        return started[1].result(), None
    from studycli import session

    store, cards = session.open_study(db, extra_content)
    card = code_card(cards, card_id)
    today = paths.study_day()
    verdict = grade_file(store, card, file, today, record=record, started=started)
    return verdict, record_check_pass(store, card, today) if verdict.passed and record else None


def record_check_pass(store: "Store", card: "CodeCard", today: date) -> int | None:
    """A pass with `study check` counts as the day's review of a due or new card.

    Graded 5 when it is the first submission of the day, 3 after earlier failed attempts; a
    card already reviewed today, or not yet due, keeps its schedule. Returns the grade given.
    """
    state = store.state(card.id)
    if state.due is not None and state.due > today:
        return None
    if any(r.study_day == today and r.scheduled for r in store.history(card.id)):
        return None
    attempts = store.submissions_on(card.id, today)
    quality = scheduler.code_quality(first_try=attempts <= 1)
    with store.transaction() as tx:
        before = tx.state(card.id)
        tx.record(card.id, quality, before, scheduler.review(before, quality, today), day=today, mode="check")
    return quality


def fresh_start(card: "CodeCard", path: Path) -> Path | None:
    """A due review starts from the starter again; the previous answer moves to `*.prev.py`.

    Returns where the previous answer now is, or None when there was none worth keeping.
    """
    from studycli.grading import starter_file

    starter = starter_file(card.check).replace("CARD-ID", card.id)
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
        verdict = grade_file(store, card, path, today)
        io.code_verdict(verdict)
        if verdict.passed:
            quality = scheduler.code_quality(first_try=not failed_before and hints_shown == 0)
            # A pass ends the card for today, even graded 3: it was answered right, by the learner.
            return Outcome(quality, json.dumps({"file": str(path), "attempts": attempts, "hints": hints_shown}),
                           final=True)
        failed_before = True
