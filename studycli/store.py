"""Progress in SQLite: cards synced from the decks, their SM-2 state, and a log of every answer.

The schema is built by the ordered migrations in `dbfile`, each applied once and recorded in
`schema_migrations`; the SQLModel classes below mirror the resulting tables for queries.
Every write runs in its own `BEGIN IMMEDIATE` transaction, so a crash loses nothing already
committed and two terminals can study at once (WAL mode, busy timeout).
"""

from datetime import date
from pathlib import Path
from typing import Optional
import json
from collections.abc import Mapping
from contextlib import contextmanager

from sqlalchemy import event, exc as sa_exc
from sqlmodel import Field, Session, SQLModel, create_engine, func, select

from studycli import dbfile
from studycli.dbfile import utc_now
from studycli.errors import StudyError

INITIAL_EF = 2.5   # SM-2's EF of a new card (the scheduler's INITIAL_EF; checked by a test)


class Meta(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class CardRow(SQLModel, table=True):
    __tablename__ = "cards"
    id: str = Field(primary_key=True)
    topic: str
    type: str
    data: str                 # the card as validated JSON, so an unchanged deck is not re-parsed
    content_hash: str         # detects edits; identity is the id
    position: int             # order in which new cards are introduced
    retired: bool = False     # removed from the decks; kept with its history
    added_at: str
    updated_at: str


class CardState(SQLModel, table=True):
    __tablename__ = "card_states"
    card_id: str = Field(primary_key=True, foreign_key="cards.id")
    ef: float
    repetitions: int
    interval: int
    due: Optional[date] = None
    lapses: int = 0
    fsrs: Optional[str] = None   # FSRS's state as JSON, kept while the scheduler setting is fsrs


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    id: Optional[int] = Field(default=None, primary_key=True)
    card_id: str = Field(foreign_key="cards.id")
    reviewed_at: str          # ISO 8601, UTC
    study_day: date
    quality: int
    mode: str                 # review, repeat, check, exam
    scheduled: bool           # False for same-day repeats, which leave SM-2 alone
    ef_before: float
    repetitions_before: int
    interval_before: int
    due_before: Optional[date] = None
    lapses_before: int
    ef_after: float
    repetitions_after: int
    interval_after: int
    due_after: Optional[date] = None
    duration_ms: Optional[int] = None
    answer: Optional[str] = None


class DeckFile(SQLModel, table=True):
    __tablename__ = "deck_files"
    path: str = Field(primary_key=True)
    mtime_ns: int
    size: int


class Submission(SQLModel, table=True):
    __tablename__ = "submissions"
    id: Optional[int] = Field(default=None, primary_key=True)
    card_id: Optional[str] = Field(default=None, foreign_key="cards.id")
    check_name: str
    submitted_at: str
    study_day: date
    status: str
    duration_ms: Optional[int] = None
    code: str
    verdict: str              # the grading verdict as JSON


class Exam(SQLModel, table=True):
    __tablename__ = "exams"
    id: Optional[int] = Field(default=None, primary_key=True)
    started_at: str           # ISO 8601, UTC
    finished_at: str
    study_day: date
    form: str                 # the exam's form, e.g. AIF-C01
    seed: str                 # draws the same paper again
    topic: Optional[str] = None
    questions: int
    answered: int
    correct: int
    minutes: float            # time allowed
    seconds_used: float
    scaled_score: int         # 100-1000
    passed: bool
    ended_by: str             # submitted, time, end of input


class ExamAnswer(SQLModel, table=True):
    __tablename__ = "exam_answers"
    exam_id: int = Field(primary_key=True, foreign_key="exams.id")
    position: int = Field(primary_key=True)   # 1-based, as shown
    card_id: str = Field(foreign_key="cards.id")
    topic: str
    domain: Optional[int] = None
    question_seed: str        # fixes the choices' order and a numeric card's numbers
    answer: Optional[str] = None   # as typed; None when not answered
    correct: bool
    flagged: bool


# ---------------------------------------------------------------- opening


class SettingRow(SQLModel, table=True):
    __tablename__ = "settings"
    key: str = Field(primary_key=True)
    value: str


def _configure(dbapi_connection, _record) -> None:
    # The driver's own transaction handling is switched off; `_begin` issues BEGIN itself.
    dbfile.configure(dbapi_connection)


def _begin(conn) -> None:
    immediate = conn.get_execution_options().get("immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """One studycli database: open it with `Store.open(path)`."""

    def __init__(self, path: Path, engine):
        self.path = path
        self.created = False     # set by whoever opened it: a new file was made
        self.engine = engine
        self.writer = engine.execution_options(immediate=True)

    @classmethod
    def open(cls, path: Path) -> "Store":
        """Open (creating and migrating as needed) the database at `path`."""
        dbfile.migrate(path)
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": dbfile.BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _configure)
        event.listen(engine, "begin", _begin)
        return cls(path, engine)

    @contextmanager
    def read(self):
        """A read-only session over one consistent snapshot."""
        with _database_errors(self.path), Session(self.engine) as session:
            yield session

    @contextmanager
    def write(self):
        """A session in one BEGIN IMMEDIATE transaction, committed on success, rolled back on error."""
        with _database_errors(self.path), Session(self.writer) as session:
            with session.begin():
                yield session

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------ deck sync

    def sync(self, dirs: list[Path]) -> "Catalog":
        """Bring the cards table in line with the decks in `dirs`; return the active cards.

        Costs one stat per deck file and one query when no deck changed since the last sync.
        """
        fingerprints = dbfile.deck_fingerprints(dirs)
        missing = [d for d in dirs if not d.is_dir()]
        if not missing:
            with self.read() as session:
                stored = {row.path: (row.mtime_ns, row.size) for row in session.exec(select(DeckFile))}
            if stored == fingerprints and stored:
                return Catalog(self)
        from studycli import content  # the deck models and YAML load only when a deck changed

        decks = content.load_decks(dirs)
        with self.write() as session:
            self._apply_sync(session, decks, fingerprints)
        return Catalog(self)

    def _apply_sync(self, session: Session, decks: list, fingerprints: dict) -> None:
        now = utc_now()
        existing = {row.id: row for row in session.exec(select(CardRow))}
        seen = set()
        position = 0
        for deck in decks:
            for card in deck.cards:
                seen.add(card.id)
                data = json.dumps(card.model_dump(mode="json"), ensure_ascii=False)
                digest = card.content_hash()
                row = existing.get(card.id)
                if row is None:
                    session.add(CardRow(id=card.id, topic=card.topic, type=card.type, data=data, content_hash=digest,
                                        position=position, added_at=now, updated_at=now))
                    session.add(CardState(card_id=card.id, ef=INITIAL_EF, repetitions=0, interval=0))
                elif row.content_hash != digest or row.retired or row.position != position or row.topic != card.topic:
                    if row.content_hash != digest:
                        row.updated_at = now
                    row.topic, row.type, row.data, row.content_hash = card.topic, card.type, data, digest
                    row.position, row.retired = position, False
                    session.add(row)
                position += 1
        for card_id, row in existing.items():
            if card_id not in seen and not row.retired:
                row.retired = True
                row.updated_at = now
                session.add(row)
        session.flush()
        for row in session.exec(select(DeckFile)):
            session.delete(row)
        session.flush()
        for path, (mtime_ns, size) in fingerprints.items():
            session.add(DeckFile(path=path, mtime_ns=mtime_ns, size=size))

    def card_index(self) -> list[tuple[str, str, str]]:
        """(id, topic, type) of every active card, in introduction order; no card is parsed."""
        query = select(CardRow.id, CardRow.topic, CardRow.type).where(CardRow.retired == False)  # noqa: E712
        with self.read() as session:
            return list(session.exec(query.order_by(CardRow.position)))

    def load_cards(self, card_ids: list[str]) -> dict:
        """The cards with these ids (id -> content.Card), as validated models."""
        from studycli import content

        found = {}
        with self.read() as session:
            for start in range(0, len(card_ids), 500):   # SQLite limits the number of parameters
                chunk = card_ids[start:start + 500]
                for data in session.exec(select(CardRow.data).where(CardRow.id.in_(chunk))):
                    card = content.card_from_dict(json.loads(data))
                    found[card.id] = card
        return found

    # ------------------------------------------------------------ queue and state

    def queue_items(self, topic: str | None = None, card_type: str | None = None) -> list[tuple[str, date | None, int, str]]:
        """(id, due, position, topic) of every active card, optionally of one topic and/or type."""
        query = (
            select(CardRow.id, CardState.due, CardRow.position, CardRow.topic)
            .join(CardState, CardState.card_id == CardRow.id)
            .where(CardRow.retired == False)  # noqa: E712
        )
        if topic is not None:
            query = query.where(CardRow.topic == topic)
        if card_type is not None:
            query = query.where(CardRow.type == card_type)
        with self.read() as session:
            return [tuple(row) for row in session.exec(query)]

    def new_cards_introduced(self, day: date) -> int:
        """How many cards had their first scheduled review on `day` (the daily new-card limit)."""
        query = select(func.count()).select_from(Review).where(
            Review.study_day == day, Review.scheduled == True, Review.repetitions_before == 0,  # noqa: E712
            Review.due_before == None,  # noqa: E711
        )
        with self.read() as session:
            return session.exec(query).one()

    def state(self, card_id: str) -> CardState:
        with self.read() as session:
            row = session.get(CardState, card_id)
        if row is None:
            raise StudyError(f"no card with id {card_id!r}")
        return row

    @contextmanager
    def transaction(self):
        """One unit of work in a BEGIN IMMEDIATE transaction: read a state, schedule, record.

            with store.transaction() as tx:
                before = tx.state(card_id)
                after = scheduler.review(before, quality, today)
                tx.record(card_id, quality, before, after, day=today, mode="review")

        Reading and writing in one transaction means two terminals answering the same card cannot
        overwrite each other's progress.
        """
        with self.write() as session:
            yield Transaction(session)

    def undo_last(self) -> Review | None:
        """Delete the most recent answer and restore the state it replaced; None if nothing to undo."""
        with self.write() as session:
            review = session.exec(select(Review).order_by(Review.id.desc()).limit(1)).first()
            if review is None:
                return None
            if review.scheduled:
                state = session.get(CardState, review.card_id)
                state.ef, state.repetitions, state.interval = review.ef_before, review.repetitions_before, review.interval_before
                state.due, state.lapses = review.due_before, review.lapses_before
                session.add(state)
            session.delete(review)
            session.flush()
            session.expunge(review)
            return review

    def states(self) -> dict[str, CardState]:
        """The SM-2 state of every card, retired ones included, by card id."""
        columns = select(CardState.card_id, CardState.ef, CardState.repetitions, CardState.interval,
                         CardState.due, CardState.lapses, CardState.fsrs)
        with self.read() as session:   # plain rows, not ORM objects: ten times faster on big decks
            return {row[0]: CardState.model_construct(**row._mapping) for row in session.exec(columns)}

    def history(self, card_id: str) -> list[Review]:
        with self.read() as session:
            return list(session.exec(select(Review).where(Review.card_id == card_id).order_by(Review.id)))

    def submissions_on(self, card_id: str, day: date) -> int:
        """How many times the learner submitted code for this card on `day`."""
        query = select(func.count()).select_from(Submission).where(
            Submission.card_id == card_id, Submission.study_day == day)
        with self.read() as session:
            return session.exec(query).one()

    def add_submission(self, submission: Submission) -> None:
        with self.write() as session:
            session.add(submission)


class Transaction:
    """The reads and writes of one `Store.transaction()`."""

    def __init__(self, session: Session):
        self.session = session

    def state(self, card_id: str) -> CardState:
        """A detached copy of the card's stored schedule (the scheduler reads its SM-2 fields)."""
        row = self.session.get(CardState, card_id)
        if row is None:
            raise StudyError(f"no card with id {card_id!r}")
        return row.model_copy()

    def record(self, card_id: str, quality: int, before: CardState, after=None, *, day: date, mode: str,
               duration_ms: int | None = None, answer: str | None = None, fsrs: str | None = None) -> Review:
        """Log one answer; with `after` (the scheduler's new state, and FSRS's as JSON under
        FSRS) store that state too."""
        state = self.session.get(CardState, card_id)
        if after is not None:
            state.ef, state.repetitions, state.interval = after.ef, after.repetitions, after.interval
            state.due, state.lapses = after.due, after.lapses
            state.fsrs = fsrs if fsrs is not None else state.fsrs
            self.session.add(state)
        review = Review(**dbfile.review_row(card_id, quality, before, after, day=day, mode=mode,
                                            duration_ms=duration_ms, answer=answer))
        self.session.add(review)
        self.session.flush()
        self.session.expunge(review)
        return review

    def add(self, row: SQLModel) -> SQLModel:
        """Insert a row (an exam, its answers) in this transaction; its id is set on return."""
        self.session.add(row)
        self.session.flush()
        return row


@contextmanager
def _database_errors(path: Path):
    """Turn SQLite failures into one clear line; the transaction has already rolled back."""
    try:
        yield
    except sa_exc.DBAPIError as exc:
        raise dbfile.error_message(path, exc.orig if exc.orig is not None else exc) from None


class Catalog(Mapping):
    """The active cards by id: ids, topics and types read on first use; a card is parsed when first read."""

    def __init__(self, store: Store):
        self._store = store
        self._ids: dict[str, tuple[str, str]] | None = None   # id -> (topic, type)
        self._loaded: dict = {}   # id -> content.Card

    @property
    def _index(self) -> dict[str, tuple[str, str]]:
        if self._ids is None:   # `study stats` never needs it: 10,000 rows cost 45 ms
            self._ids = {card_id: (topic, kind) for card_id, topic, kind in self._store.card_index()}
        return self._ids

    def __getitem__(self, card_id: str):
        if card_id not in self._index:
            raise KeyError(card_id)
        if card_id not in self._loaded:
            self.preload([card_id])
        return self._loaded[card_id]

    def __iter__(self):
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def preload(self, card_ids: list[str]) -> None:
        """Parse these cards in one query (a session loads its whole queue at once)."""
        missing = [c for c in card_ids if c not in self._loaded]
        self._loaded.update(self._store.load_cards(missing))

    def topic(self, card_id: str) -> str:
        return self._index[card_id][0]

    def type(self, card_id: str) -> str:
        return self._index[card_id][1]

    def topics(self) -> list[str]:
        return sorted({topic for topic, _ in self._index.values()})

    def values(self):
        self.preload(list(self._index))
        return super().values()

