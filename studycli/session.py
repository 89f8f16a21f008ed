"""A review session: build today's queue, ask each card, grade it, schedule it, commit it.

Each answer is committed in its own transaction before the next card is shown, so Ctrl-C, end
of input or a killed process loses nothing already answered.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from studycli import answers, cardtypes, paths, scheduler
from studycli.errors import UsageError

if TYPE_CHECKING:   # the database layer loads in open_study, not when a plain reader is enough
    from studycli.store import Catalog, Store


def check_readable(places: paths.Places) -> None:
    """A command that only reads refuses a database named by --db or STUDYCLI_DB whose folder does
    not exist: a typo must not look like lost progress (a command that studies creates it
    instead). The default place in the user data dir is simply created on first use."""
    path = places.db
    if places.db_given and not path.exists() and not path.parent.is_dir():
        raise UsageError(f"no database at {path}: the folder {path.parent} does not exist (check --db); "
                         "study review creates a new database")


def open_study(places: paths.Places | None = None, *, reading: bool = False) -> tuple[Store, Catalog]:
    """The store, synced with every deck, and the active cards by id (places: from the
    environment unless given).

    With `reading`, a database path in a missing folder is a usage error rather than a new file.
    """
    places = places or paths.resolve()
    if reading:
        check_readable(places)
    created = not places.db.exists() or places.db.stat().st_size == 0
    from studycli.store import Store

    store = Store.open(places.db)
    store.created = created
    cards = store.sync(places.decks)
    return store, cards


@contextmanager
def open_for_reading(places: paths.Places):
    """A read-only sqlite3 connection to a current database: plain SQL, no ORM, when nothing
    changed; otherwise the store migrates and syncs first (once), then the same."""
    from studycli import dbfile

    check_readable(places)
    if not dbfile.is_current(places.db, places.decks):
        open_study(places)
    with dbfile.reader(places.db) as conn:
        yield conn


def check_filters(cards: Catalog, topic: str | None, card_type: str | None) -> None:
    """Unknown topics or types are usage errors that list the valid ones."""
    if topic is not None and topic not in cards.topics():
        raise UsageError(f"no topic {topic!r}; topics: {', '.join(cards.topics())}")
    from studycli.cardtypes import KINDS as CARD_TYPES

    if card_type is not None and card_type not in CARD_TYPES:
        raise UsageError(f"no card type {card_type!r}; types: {', '.join(CARD_TYPES)}")


def select_cards(cards: Catalog, topic: str | None = None, card_type: str | None = None) -> list[str]:
    """Ids of the cards that pass the filters; unknown filter values are usage errors."""
    check_filters(cards, topic, card_type)
    return [
        cid for cid in cards
        if (topic is None or cards.topic(cid) == topic) and (card_type is None or cards.type(cid) == card_type)
    ]


SCHEDULED_LOG = """
SELECT card_id, study_day, quality FROM reviews
WHERE scheduled AND mode IN ('review', 'check') ORDER BY id"""


def change_setting(places: paths.Places, key: str, value: str) -> int | None:
    """Store a setting (already checked); when it changes how cards are scheduled, rebuild every
    reviewed card's due date in the same transaction. Returns how many cards were rebuilt."""
    from studycli import dbfile, settings

    open_study(places)   # create or migrate first
    with dbfile.writer(places.db) as conn:
        conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))
        if key in ("scheduler", "desired-retention", "fsrs-parameters"):
            return rebuild_schedule(conn, settings.policy(conn))
    return None


def rebuild_schedule(conn, policy: scheduler.Policy) -> int:
    """Each reviewed card's due date under `policy`'s algorithm: FSRS replays the card's review
    log (its state is rebuilt from the answers); SM-2 takes its own state back (the last
    scheduled review plus SM-2's interval, which FSRS never touched)."""
    from collections import defaultdict
    from datetime import timedelta

    log: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for card_id, day, quality in conn.execute(SCHEDULED_LOG):
        log[card_id].append((date.fromisoformat(day), quality))
    intervals = dict(conn.execute("SELECT card_id, interval FROM card_states WHERE due IS NOT NULL"))
    updates = []
    for card_id, answers in log.items():
        if card_id not in intervals:
            continue
        if policy.algorithm == "fsrs":
            from studycli import fsrs_schedule

            state = fsrs_schedule.replay(answers, policy.desired_retention, policy.fsrs_parameters)
            updates.append((state.due.isoformat(), fsrs_schedule.to_json(state), card_id))
        else:
            due = answers[-1][0] + timedelta(days=max(intervals[card_id], 1))
            updates.append((due.isoformat(), None, card_id))
    conn.executemany("UPDATE card_states SET due = ?, fsrs = ? WHERE card_id = ?", updates)
    return len(updates)


def fit_fsrs(places: paths.Places) -> tuple[tuple[float, ...], int, int | None]:
    """Fit FSRS's parameters to the learner's review log and store them: (parameters, reviews
    used, cards rebuilt when FSRS schedules now)."""
    from studycli import fsrs_schedule

    with open_for_reading(places) as conn:
        log = [(card, date.fromisoformat(day), quality) for card, day, quality in conn.execute(SCHEDULED_LOG)]
    if len(log) < fsrs_schedule.MIN_REVIEWS_TO_FIT:
        raise UsageError(f"{len(log)} reviews so far; fitting FSRS needs at least "
                         f"{fsrs_schedule.MIN_REVIEWS_TO_FIT} (until then its defaults serve you well)")
    try:
        parameters = fsrs_schedule.fit_parameters(log)
    except ImportError:
        raise UsageError("fitting needs the optimizer: pip install 'fsrs[optimizer]' (PyTorch and pandas)") from None
    rebuilt = change_setting(places, "fsrs-parameters", ",".join(repr(p) for p in parameters))
    return parameters, len(log), rebuilt


def todays_new_limit(conn, today: date) -> int:
    """New cards to introduce today: the plan's pace while an exam date lies ahead, else the
    new-per-day setting (20 unless `study config new-per-day N` changed it)."""
    from studycli import settings

    exam_on = settings.policy(conn).exam_date
    if exam_on is not None and exam_on > today:
        return study_plan(conn, today, exam_on).new_per_day
    return settings.new_per_day(conn)


DUE_COUNTS = """
SELECT s.due, COUNT(*) FROM cards c JOIN card_states s ON s.card_id = c.id
WHERE c.retired = 0 GROUP BY s.due"""
ANSWER_TIMES = """
SELECT repetitions_before = 0 AND due_before IS NULL, duration_ms FROM reviews
WHERE mode = 'review' AND duration_ms IS NOT NULL ORDER BY id DESC LIMIT 2000"""


def study_plan(conn, today: date, exam_on: date):
    """The plan toward `exam_on` from this database: cards left, what is due when, answering times."""
    from studycli import plan, settings

    if exam_on <= today:
        raise UsageError(f"the exam date {exam_on} is not after today ({today}); study config exam-date YYYY-MM-DD")
    budget = settings.new_per_day(conn)
    counts = conn.execute(DUE_COUNTS).fetchall()
    times = conn.execute(ANSWER_TIMES).fetchall()
    new_left = sum(n for due, n in counts if due is None)
    due_on: dict[date, int] = {}
    for due, n in counts:
        if due is not None:
            day = max(date.fromisoformat(due), today)     # overdue cards are due today
            due_on[day] = due_on.get(day, 0) + n
    new_s, review_s = plan.seconds_per_answer([ms for new, ms in times if new], [ms for new, ms in times if not new])
    return plan.make_plan(today, exam_on, new_left, due_on, budget, new_s, review_s)


def todays_queue(store: Store, cards: dict, today: date, *, new_limit: int = 20, limit: int | None = None,
                 topic: str | None = None, card_type: str | None = None) -> list[str]:
    """The ids to study today, in order: due reviews, then new cards within the daily limit."""
    if new_limit < 0 or (limit is not None and limit < 1):
        raise UsageError("--new must be 0 or more and --limit 1 or more")
    check_filters(cards, topic, card_type)
    items = [scheduler.QueueItem(*row) for row in store.queue_items(topic, card_type)]
    return scheduler.build_queue(items, today, new_limit=new_limit,
                                 new_done_today=store.new_cards_introduced(today), limit=limit)


# ---------------------------------------------------------------- asking one card


class EndSession(Exception):
    """The learner asked to stop (q, Ctrl-C or end of input)."""


@dataclass
class Outcome:
    quality: int | None         # None: skipped, nothing to grade or store
    answer: str | None = None
    final: bool = False         # no same-day repeat even below 4 (a code card passed after a failed try)


def ask_until_valid(io, prompt: str, parse):
    """Ask until `parse` accepts the input; `q` or end of input ends the session."""
    while True:
        text = io.ask(prompt)
        if text is None or text.strip().lower() in ("q", "quit"):
            raise EndSession
        try:
            return parse(text), text.strip()
        except answers.AnswerFormatError as exc:
            io.hint(str(exc))


def ask_self_graded(card, io) -> Outcome:
    ask_until_valid(io, "Enter to reveal", str)
    io.reveal("\n".join(cardtypes.view(card).answer), card.explanation, scheduler.QUALITY_MEANINGS)
    quality, _ = ask_until_valid(io, "grade 0-5", answers.parse_grade)
    return Outcome(quality)


def ask_posed(card, posed: cardtypes.Posed, io) -> Outcome:
    """Show a posed card, take an answer it can read, grade it and show the verdict."""
    posed.show(io)
    picked, typed = ask_until_valid(io, posed.prompt, posed.parse)
    correct = posed.grade(picked)
    io.verdict(correct, posed.right, card.explanation)
    return Outcome(scheduler.auto_quality(correct), typed)


def ask_card(card, io, seed: str, code_runner=None) -> Outcome:
    """Show one card, take the answer, and grade it (the card's kind says how)."""
    kind = cardtypes.kind_of(card)
    if kind.graded_by == "self":
        return ask_self_graded(card, io)
    if kind.graded_by == "auto":
        return ask_posed(card, kind.pose(card, seed), io)
    return code_runner(card, io)


# ---------------------------------------------------------------- the session


@dataclass
class Summary:
    answered: int = 0          # scheduled answers (first time each card came up)
    repeats: int = 0           # same-day repeats of cards graded below 4
    correct: int = 0           # scheduled answers graded 3 or more
    qualities: list[int] = field(default_factory=list)
    seconds: float = 0.0
    skipped: int = 0           # cards passed over with `s`: nothing stored
    remaining: int = 0         # cards still in the queue when the session ended
    interrupted: bool = False


def record_answer(store: Store, card_id: str, outcome: Outcome, today: date, is_repeat: bool, elapsed_ms: int,
                  policy: scheduler.Policy = scheduler.Policy()) -> None:
    """Grade -> schedule -> write, in one transaction; a same-day repeat is logged but leaves the
    schedule alone. With an exam date, a review that would land after the exam comes back in the
    week before it."""
    with store.transaction() as tx:
        before = tx.state(card_id)
        after, fsrs = (None, None) if is_repeat else scheduler.next_states(before, before.fsrs, outcome.quality,
                                                                           today, policy)
        tx.record(card_id, outcome.quality, before, after, day=today, mode="repeat" if is_repeat else "review",
                  duration_ms=elapsed_ms, answer=outcome.answer, fsrs=fsrs)


def run_review(store: Store, cards: dict, queue: list[str], today: date, io, code_runner=None,
               policy: scheduler.Policy = scheduler.Policy()) -> Summary:
    """Ask every card in `queue`; cards graded below 4 come back until they reach 4."""
    summary = Summary()
    started = time.monotonic()
    cards.preload(queue)
    pending = [(card_id, False) for card_id in queue]   # (id, is a same-day repeat)
    total = len(pending)
    shown = 0
    try:
        while pending:
            card_id, is_repeat = pending[0]   # stays queued until its answer is committed
            card = cards[card_id]
            shown += 1
            io.card(cardtypes.asked_first(card), shown, total, topic=card.topic, kind=card.type,
                    repeat=is_repeat, first=shown == 1)
            asked = time.monotonic()
            outcome = ask_card(card, io, seed=f"{card_id}:{today}:{shown}", code_runner=code_runner)
            elapsed_ms = int((time.monotonic() - asked) * 1000)
            if outcome.quality is not None:
                record_answer(store, card_id, outcome, today, is_repeat, elapsed_ms, policy)
            pending.pop(0)
            if outcome.quality is None:
                summary.skipped += 1
            elif is_repeat:
                summary.repeats += 1
            else:
                summary.answered += 1
                summary.correct += outcome.quality >= scheduler.PASSING_QUALITY
                summary.qualities.append(outcome.quality)
            if outcome.quality is not None and scheduler.needs_repeat(outcome.quality) and not outcome.final:
                pending.append((card_id, True))
                total += 1
    except (EndSession, KeyboardInterrupt, EOFError):
        summary.interrupted = True
    summary.remaining = len(pending)
    summary.seconds = time.monotonic() - started
    return summary


# ---------------------------------------------------------------- browsing cards


def _state_dict(state) -> dict:
    return {
        "ef": round(state.ef, 4), "repetitions": state.repetitions, "interval": state.interval,
        "due": state.due.isoformat() if state.due else None, "lapses": state.lapses,
    }


def card_rows(store: Store, cards: dict, today: date, topic: str | None = None, card_type: str | None = None,
              due_only: bool = False) -> list[dict]:
    """Every card (after the filters) with all its deck fields and its schedule."""
    states = store.states()
    rows = []
    selected = select_cards(cards, topic, card_type)
    cards.preload(selected)
    for card_id in selected:
        state = states[card_id]
        if due_only and (state.due is None or state.due > today):
            continue
        card = cards[card_id]
        rows.append({**card.model_dump(mode="json"), "headline": cardtypes.headline(card), "state": _state_dict(state)})
    return rows


def card_details(store: Store, cards: dict, card_id: str) -> dict:
    """One card with its schedule, its full history and its related cards and topics."""
    card = cards.get(card_id)
    if card is None:
        close = [c for c in cards if card_id in c or c in card_id][:3]
        suggestion = f"; did you mean {', '.join(close)}?" if close else "; `study cards` lists them"
        raise UsageError(f"no card with id {card_id!r}{suggestion}")
    related = []
    for ref in card.related:
        if ref in cards:
            related.append({"id": ref, "kind": "card", "text": cardtypes.headline(cards[ref])})
        elif ref in cards.topics():
            related.append({"id": ref, "kind": "topic", "text": f"{len(select_cards(cards, ref))} cards"})
    history = [
        {"day": r.study_day.isoformat(), "at": r.reviewed_at, "quality": r.quality, "mode": r.mode,
         "interval_after": r.interval_after, "due_after": r.due_after.isoformat() if r.due_after else None,
         "answer": r.answer, "duration_ms": r.duration_ms}
        for r in store.history(card_id)
    ]
    shown = cardtypes.view(card)
    return {"card": card.model_dump(mode="json"),
            "shown": {"question": shown.question, "options": shown.options, "answer": shown.answer},
            "state": _state_dict(store.state(card_id)), "history": history, "related": related}
