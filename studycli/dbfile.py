"""The SQLite file itself, without the ORM: its schema migrations (plain SQL), the checks that a
file is ours before anything touches it, deck fingerprints, and read-only connections.

Only the standard library's sqlite3 is used here, so read-only commands such as `study stats`
can run without loading SQLAlchemy when the database is current.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from studycli.errors import DatabaseError

APP_ID = "studycli"
BUSY_TIMEOUT_S = 10.0
SQLITE_HEADER = b"SQLite format 3\x00"


# ---------------------------------------------------------------- schema

MIGRATIONS: list[tuple[str, list[str]]] = [
    (
        "cards, states, review log, deck fingerprints, submissions",
        [
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE cards (
                id TEXT PRIMARY KEY,
                topic TEXT NOT NULL,
                type TEXT NOT NULL,
                data TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                position INTEGER NOT NULL,
                retired BOOLEAN NOT NULL DEFAULT 0,
                added_at TEXT NOT NULL,
                updated_at TEXT NOT NULL)""",
            "CREATE INDEX ix_cards_topic ON cards (topic)",
            """CREATE TABLE card_states (
                card_id TEXT PRIMARY KEY REFERENCES cards (id),
                ef FLOAT NOT NULL,
                repetitions INTEGER NOT NULL,
                interval INTEGER NOT NULL,
                due DATE,
                lapses INTEGER NOT NULL DEFAULT 0)""",
            "CREATE INDEX ix_card_states_due ON card_states (due)",
            """CREATE TABLE reviews (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                card_id TEXT NOT NULL REFERENCES cards (id),
                reviewed_at TEXT NOT NULL,
                study_day DATE NOT NULL,
                quality INTEGER NOT NULL CHECK (quality BETWEEN 0 AND 5),
                mode TEXT NOT NULL,
                scheduled BOOLEAN NOT NULL,
                ef_before FLOAT NOT NULL,
                repetitions_before INTEGER NOT NULL,
                interval_before INTEGER NOT NULL,
                due_before DATE,
                lapses_before INTEGER NOT NULL,
                ef_after FLOAT NOT NULL,
                repetitions_after INTEGER NOT NULL,
                interval_after INTEGER NOT NULL,
                due_after DATE,
                duration_ms INTEGER,
                answer TEXT)""",
            "CREATE INDEX ix_reviews_card ON reviews (card_id)",
            "CREATE INDEX ix_reviews_day ON reviews (study_day)",
            """CREATE TABLE deck_files (
                path TEXT PRIMARY KEY,
                mtime_ns INTEGER NOT NULL,
                size INTEGER NOT NULL)""",
            """CREATE TABLE submissions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                card_id TEXT REFERENCES cards (id),
                check_name TEXT NOT NULL,
                submitted_at TEXT NOT NULL,
                study_day DATE NOT NULL,
                status TEXT NOT NULL,
                duration_ms INTEGER,
                code TEXT NOT NULL,
                verdict TEXT NOT NULL)""",
            "CREATE INDEX ix_submissions_card ON submissions (card_id)",
        ],
    ),
    (
        "mock exams and their answers",
        [
            """CREATE TABLE exams (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                started_at TEXT NOT NULL,
                finished_at TEXT NOT NULL,
                study_day DATE NOT NULL,
                form TEXT NOT NULL,
                seed TEXT NOT NULL,
                topic TEXT,
                questions INTEGER NOT NULL,
                answered INTEGER NOT NULL,
                correct INTEGER NOT NULL,
                minutes FLOAT NOT NULL,
                seconds_used FLOAT NOT NULL,
                scaled_score INTEGER NOT NULL,
                passed BOOLEAN NOT NULL,
                ended_by TEXT NOT NULL)""",
            """CREATE TABLE exam_answers (
                exam_id INTEGER NOT NULL REFERENCES exams (id),
                position INTEGER NOT NULL,
                card_id TEXT NOT NULL REFERENCES cards (id),
                topic TEXT NOT NULL,
                domain INTEGER,
                question_seed TEXT NOT NULL,
                answer TEXT,
                correct BOOLEAN NOT NULL,
                flagged BOOLEAN NOT NULL,
                PRIMARY KEY (exam_id, position))""",
            "CREATE INDEX ix_exam_answers_card ON exam_answers (card_id)",
        ],
    ),
    (
        "covering indexes for study stats",
        [
            # Retention, the heatmap and the streak read only these columns of the review log...
            "CREATE INDEX ix_reviews_day_mode_quality ON reviews (study_day, mode, quality, card_id)",
            # ... and group them by the topic of active cards, without reading the cards' JSON.
            "CREATE INDEX ix_cards_id_retired_topic ON cards (id, retired, topic)",
        ],
    ),
    (
        "settings",
        ["CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)"],
    ),
    (
        "FSRS state beside SM-2's",
        ["ALTER TABLE card_states ADD COLUMN fsrs TEXT"],   # JSON of fsrs_schedule.FsrsState; NULL: none yet
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)
MIGRATIONS_TABLE = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"


def utc_now() -> str:
    """Now, UTC, ISO 8601 with milliseconds: how every timestamp is stored."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def configure(conn: sqlite3.Connection) -> None:
    """The settings every connection that writes uses: WAL, busy timeout, foreign keys."""
    conn.isolation_level = None   # transactions are begun explicitly
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")


def migrate(path: Path) -> None:
    """Create or upgrade the database at `path` to SCHEMA_VERSION, in one transaction.

    Each migration is applied once and recorded in `schema_migrations`.
    """
    version = inspect_file(path)
    if version == SCHEMA_VERSION:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the folder for {path}: {exc.strerror}") from None
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        try:
            configure(conn)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(MIGRATIONS_TABLE)
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for number, (name, statements) in enumerate(MIGRATIONS, start=1):
                if number in done:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                             (number, name, utc_now()))
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('app', ?)", (APP_ID,))
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise error_message(path, exc) from None


def error_message(path: Path, exc: Exception) -> DatabaseError:
    """The one line a learner sees for an SQLite failure on `path` (the transaction rolled back)."""
    import os

    message = str(exc)
    if "locked" in message or "busy" in message:
        return DatabaseError(f"{path} is locked by another program; try again in a moment")
    if ("unable to open" in message or "readonly" in message) and path.exists() \
            and not os.access(path.parent, os.W_OK):
        return DatabaseError(f"{path} is in a read-only folder: SQLite keeps its write-ahead log beside the "
                             "database, so it cannot be opened there; copy it to a writable folder")
    if "readonly" in message or "read-only" in message:
        return DatabaseError(f"{path} is read-only; studycli needs to write progress there")
    if isinstance(exc, sqlite3.OperationalError) or "unable to open" in message:
        return DatabaseError(f"{path}: {message}")
    return DatabaseError(f"{path} is damaged or unreadable ({message}); nothing was changed")


def inspect_file(path: Path) -> int:
    """The schema version of an existing studycli database (0 for a new or empty file).

    Opens read-only, so a file that is not ours, is corrupt or is newer is never modified.
    """
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database file")
    if path.exists() and not path.is_file():
        # /dev/null, a FIFO, a device: SQLite would write a journal beside it; nothing is created.
        raise DatabaseError(f"{path} is not a regular file; give --db a file path (a new one is created)")
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with open(path, "rb") as handle:
        if handle.read(16) != SQLITE_HEADER:
            raise DatabaseError(f"{path} is not a studycli database (not an SQLite file); it was left untouched")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                return 0
            if "meta" not in tables:
                raise DatabaseError(f"{path} is an SQLite file but not a studycli database; it was left untouched")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path} is damaged or unreadable ({exc}); it was left untouched") from None
    if meta.get("app") != APP_ID:
        raise DatabaseError(f"{path} is not a studycli database; it was left untouched")
    version = int(meta.get("schema_version", 0))
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{path} was written by a newer studycli (schema {version}; this one knows {SCHEMA_VERSION}); "
            "upgrade studycli to use it"
        )
    return version


def deck_fingerprints(dirs: list[Path]) -> dict[str, tuple[int, int]]:
    """(mtime_ns, size) of every deck file under `dirs`: what the last sync saw, when nothing changed."""
    from studycli.paths import deck_files

    files = deck_files([d for d in dirs if d.is_dir()])
    return {str(f.resolve()): (st.st_mtime_ns, st.st_size) for f in files for st in [f.stat()]}


@contextmanager
def writer(path: Path):
    """A plain sqlite3 connection in one BEGIN IMMEDIATE transaction on a current database:
    committed on success, rolled back on any error (the paths that must not load the ORM)."""
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise error_message(path, exc) from None
    try:
        configure(conn)
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise error_message(path, exc) from None
    finally:
        conn.close()   # closing without COMMIT rolls back


def insert(conn: sqlite3.Connection, table: str, row: dict) -> None:
    """One row; dates are stored as YYYY-MM-DD, as everywhere in this database."""
    from datetime import date

    values = tuple(v.isoformat() if isinstance(v, date) else v for v in row.values())
    conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", values)


def review_row(card_id: str, quality: int, before, after, *, day, mode: str, duration_ms: int | None = None,
               answer: str | None = None) -> dict:
    """The review log's row for one answer: the state before and after (after None: unscheduled)."""
    kept = after if after is not None else before
    return {
        "card_id": card_id, "reviewed_at": utc_now(), "study_day": day, "quality": quality, "mode": mode,
        "scheduled": after is not None,
        "ef_before": before.ef, "repetitions_before": before.repetitions, "interval_before": before.interval,
        "due_before": before.due, "lapses_before": before.lapses,
        "ef_after": kept.ef, "repetitions_after": kept.repetitions, "interval_after": kept.interval,
        "due_after": kept.due, "duration_ms": duration_ms, "answer": answer,
    }


@contextmanager
def reader(path: Path):
    """A read-only sqlite3 connection to a current studycli database (one snapshot: one transaction)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        conn.execute("BEGIN")
        yield conn
    except sqlite3.Error as exc:
        raise error_message(path, exc) from None
    finally:
        conn.close()


def is_current(path: Path, dirs: list[Path]) -> bool:
    """Whether `path` is a studycli database at the latest schema, synced with the decks in `dirs`.

    When it is, a read-only command can use `reader` directly; otherwise it opens the store,
    which migrates and syncs first.
    """
    if inspect_file(path) != SCHEMA_VERSION or not all(d.is_dir() for d in dirs):
        return False
    with reader(path) as conn:
        stored = {p: (m, s) for p, m, s in conn.execute("SELECT path, mtime_ns, size FROM deck_files")}
    return bool(stored) and stored == deck_fingerprints(dirs)
