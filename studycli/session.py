"""A review session: build today's queue, ask each card, grade it, schedule it, commit it.

Each answer is committed in its own transaction before the next card is shown, so Ctrl-C, end
of input or a killed process loses nothing already answered.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from studycli import answers, paths, scheduler
from studycli.errors import UsageError
from studycli.store import Catalog, Store

if TYPE_CHECKING:
    from studycli import content


def open_study(db: Path | None = None, extra_content: list[Path] | None = None) -> tuple[Store, Catalog]:
    """The store, synced with every deck, and the active cards by id."""
    store = Store.open(paths.db_path(db))
    cards = store.sync(paths.deck_dirs(extra_content))
    return store, cards


def check_filters(cards: Catalog, topic: str | None, card_type: str | None) -> None:
    """Unknown topics or types are usage errors that list the valid ones."""
    if topic is not None and topic not in cards.topics():
        raise UsageError(f"no topic {topic!r}; topics: {', '.join(cards.topics())}")
    from studycli.content import CARD_TYPES

    if card_type is not None and card_type not in CARD_TYPES:
        raise UsageError(f"no card type {card_type!r}; types: {', '.join(CARD_TYPES)}")


def select_cards(cards: Catalog, topic: str | None = None, card_type: str | None = None) -> list[str]:
    """Ids of the cards that pass the filters; unknown filter values are usage errors."""
    check_filters(cards, topic, card_type)
    return [
        cid for cid in cards
        if (topic is None or cards.topic(cid) == topic) and (card_type is None or cards.type(cid) == card_type)
    ]


def todays_queue(store: Store, cards: dict, today: date, *, new_limit: int = 20, limit: int | None = None,
                 topic: str | None = None, card_type: str | None = None) -> list[str]:
    """The ids to study today, in order: due reviews, then new cards within the daily limit."""
    if new_limit < 0 or (limit is not None and limit < 1):
        raise UsageError("--new must be 0 or more and --limit 1 or more")
    check_filters(cards, topic, card_type)
    items = store.queue_items(topic, card_type)
    return scheduler.build_queue(items, today, new_limit=new_limit,
                                 new_done_today=store.new_cards_introduced(today), limit=limit)


# ---------------------------------------------------------------- asking one card


class EndSession(Exception):
    """The learner asked to stop (q, Ctrl-C or end of input)."""


@dataclass
class Outcome:
    quality: int
    answer: str | None = None
    skipped: bool = False


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
    io.reveal(card)
    quality, _ = ask_until_valid(io, "grade 0-5", answers.parse_grade)
    return Outcome(quality)


@dataclass(frozen=True)
class Posed:
    """An auto-graded card as shown with one seed: what to print, how to read and grade an answer.

    The review asks it once and grades at once; a mock exam shows it, keeps the parsed answer and
    grades it when the exam is submitted.
    """

    prompt: str                      # what the input line asks for: answer, order, pairs
    show: Callable[[object], None]   # prints the choices / items / filled question with an io
    parse: Callable[[str], object]   # typed text -> answer; raises answers.AnswerFormatError
    grade: Callable[[object], bool]  # parsed answer -> right or not
    right: list[str]                 # the right answer as lines, for the verdict


def pose_mcq(card: content.McqCard, seed: str) -> Posed:
    shown = [card.choices[i] for i in answers.shuffled(card.choices, seed)]
    says_how_many = "choose" in card.question.lower()   # exam-style questions say "(Choose TWO.)"
    return Posed(
        prompt="answer",
        show=lambda io: io.choices(shown, choose=1 if says_how_many else len(card.answers)),
        parse=partial(answers.parse_letters, n_choices=len(shown)),
        grade=lambda picked: {shown[i] for i in picked} == set(card.answers),
        right=[f"{answers.LETTERS[i]}) {text}" for i, text in enumerate(shown) if text in card.answers],
    )


def pose_ordering(card: content.OrderingCard, seed: str) -> Posed:
    shown = [card.items[i] for i in answers.shuffled(card.items, seed, avoid_identity=True)]
    return Posed(
        prompt="order",
        show=lambda io: io.numbered(shown),
        parse=partial(answers.parse_order, n_items=len(shown)),
        grade=lambda picked: [shown[i] for i in picked] == list(card.items),
        right=[f"{shown.index(item) + 1}. {item}" for item in card.items],
    )


def pose_matching(card: content.MatchingCard, seed: str) -> Posed:
    lefts = [left for left, _ in card.pairs]
    rights = sorted({right for _, right in card.pairs}, key=str)
    rights = [rights[i] for i in answers.shuffled(rights, seed)]
    return Posed(
        prompt="pairs",
        show=lambda io: io.matching(lefts, rights),
        parse=partial(answers.parse_matching, n_left=len(lefts), n_right=len(rights)),
        grade=lambda picked: all(rights[picked[i]] == right for i, (_, right) in enumerate(card.pairs)),
        right=[f"{i + 1}{answers.LETTERS[rights.index(r)]}  {left} -> {r}" for i, (left, r) in enumerate(card.pairs)],
    )


def fill_template(template: str, params: dict) -> str:
    """`{name}` placeholders replaced by the generator's values; other braces left alone."""
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), template)


def pose_numeric(card: content.NumericCard, seed: str) -> Posed:
    from studycli.grading import generators

    params, expected, tolerance = generators.generate_numeric(card.generator, seed)
    question = fill_template(card.question, params)
    return Posed(
        prompt="answer",
        show=lambda io: io.markdown(question),
        parse=answers.parse_number,
        grade=lambda given: answers.number_is_close(given, expected, tolerance),
        right=[f"{expected:.6g}" + (f" (within {tolerance:g})" if tolerance else "")],
    )


POSERS = {"mcq": pose_mcq, "ordering": pose_ordering, "matching": pose_matching, "numeric": pose_numeric}


def pose(card, seed: str) -> Posed:
    """An auto-graded card (mcq, ordering, matching, numeric) as shown with `seed`."""
    return POSERS[card.type](card, seed)


def ask_posed(card, posed: Posed, io) -> Outcome:
    """Show a posed card, take an answer it can read, grade it and show the verdict."""
    posed.show(io)
    picked, typed = ask_until_valid(io, posed.prompt, posed.parse)
    correct = posed.grade(picked)
    io.verdict(correct, posed.right, card.explanation)
    return Outcome(answers.quality_for(correct), typed)


def ask_mcq(card: content.McqCard, io, seed: str) -> Outcome:
    return ask_posed(card, pose_mcq(card, seed), io)


def ask_ordering(card: content.OrderingCard, io, seed: str) -> Outcome:
    return ask_posed(card, pose_ordering(card, seed), io)


def ask_matching(card: content.MatchingCard, io, seed: str) -> Outcome:
    return ask_posed(card, pose_matching(card, seed), io)


def ask_numeric(card: content.NumericCard, io, seed: str) -> Outcome:
    return ask_posed(card, pose_numeric(card, seed), io)


def ask_card(card, io, seed: str, code_runner=None) -> Outcome:
    """Show one card, take the answer, and grade it."""
    if card.type in ("basic", "cloze"):
        return ask_self_graded(card, io)
    if card.type == "mcq":
        return ask_mcq(card, io, seed)
    if card.type == "ordering":
        return ask_ordering(card, io, seed)
    if card.type == "matching":
        return ask_matching(card, io, seed)
    if card.type == "numeric":
        return ask_numeric(card, io, seed)
    if card.type == "code":
        return code_runner(card, io)
    raise AssertionError(f"unhandled card type {card.type}")


# ---------------------------------------------------------------- the session


@dataclass
class Summary:
    answered: int = 0          # scheduled answers (first time each card came up)
    repeats: int = 0           # same-day repeats of cards graded below 4
    correct: int = 0           # scheduled answers graded 3 or more
    qualities: list[int] = field(default_factory=list)
    seconds: float = 0.0
    remaining: int = 0         # cards still in the queue when the session ended
    interrupted: bool = False


def run_review(store: Store, cards: dict, queue: list[str], today: date, io, code_runner=None) -> Summary:
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
            io.card(card, shown, total, repeat=is_repeat)
            asked = time.monotonic()
            outcome = ask_card(card, io, seed=f"{card_id}:{today}:{shown}", code_runner=code_runner)
            elapsed_ms = int((time.monotonic() - asked) * 1000)
            reschedule = None if is_repeat else partial(scheduler.review, quality=outcome.quality, today=today)
            store.record(card_id, outcome.quality, reschedule, day=today,
                         mode="repeat" if is_repeat else "review", duration_ms=elapsed_ms, answer=outcome.answer)
            pending.pop(0)
            if is_repeat:
                summary.repeats += 1
            else:
                summary.answered += 1
                summary.correct += outcome.quality >= scheduler.PASSING_QUALITY
                summary.qualities.append(outcome.quality)
            if scheduler.needs_repeat(outcome.quality) and not outcome.skipped:
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


def card_rows(store: Store, cards: dict, today: date, topic: str | None = None, due_only: bool = False) -> list[dict]:
    """Every card (after the filters) with all its deck fields and its schedule."""
    states = store.states()
    rows = []
    selected = select_cards(cards, topic)
    cards.preload(selected)
    for card_id in selected:
        state = states[card_id]
        if due_only and (state.due is None or state.due > today):
            continue
        rows.append({**cards[card_id].model_dump(mode="json"), "state": _state_dict(state)})
    return rows


def card_details(store: Store, cards: dict, card_id: str) -> dict:
    """One card with its schedule, its full history and its related cards and topics."""
    card = cards.get(card_id)
    if card is None:
        close = [c for c in cards if card_id in c or c in card_id][:3]
        suggestion = f"; did you mean {', '.join(close)}?" if close else "; `study cards` lists them"
        raise UsageError(f"no card with id {card_id!r}{suggestion}")
    from studycli import content

    related = []
    for ref in card.related:
        if ref in cards:
            related.append({"id": ref, "kind": "card", "text": content.card_headline(cards[ref])})
        elif ref in cards.topics():
            related.append({"id": ref, "kind": "topic", "text": f"{len(select_cards(cards, ref))} cards"})
    history = [
        {"day": r.study_day.isoformat(), "at": r.reviewed_at, "quality": r.quality, "mode": r.mode,
         "interval_after": r.interval_after, "due_after": r.due_after.isoformat() if r.due_after else None,
         "answer": r.answer, "duration_ms": r.duration_ms}
        for r in store.history(card_id)
    ]
    return {"card": card.model_dump(mode="json"), "state": _state_dict(store.state(card_id)),
            "history": history, "related": related}
