"""Mock exams in the AIF-C01 form: draw a paper by domain weight, sit it against the clock, score it.

The paper and the scoring are pure functions; `sit` runs the prompt loop through an `io` object
(the terminal, or piped stdin) and a clock that tests can replace; `save` stores the attempt and
sends every missed question back to today's SM-2 queue.
"""

from __future__ import annotations

import math
import os
import random
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from studycli import answers, cardtypes, scheduler, session
from studycli.errors import UsageError

EXAM_TYPES = cardtypes.EXAM_STYLE   # the AIF-C01's item types: multiple choice/response, ordering, matching
DOMAIN_NAMES = {
    1: "Fundamentals of AI and ML",
    2: "Fundamentals of generative AI",
    3: "Applications of foundation models",
    4: "Guidelines for responsible AI",
    5: "Security, compliance and governance for AI solutions",
}


@dataclass(frozen=True)
class ExamForm:
    """An exam's shape: AWS Certified AI Practitioner (AIF-C01) by default."""

    name: str = "AIF-C01"
    questions: int = 65
    minutes: float = 90.0
    min_score: int = 100          # the scaled score of 0 correct
    max_score: int = 1000         # ... and of all correct
    pass_score: int = 700
    domain_weights: tuple[tuple[int, float], ...] = ((1, 0.20), (2, 0.24), (3, 0.28), (4, 0.14), (5, 0.14))


AIF_C01 = ExamForm()
MAX_MINUTES = 24 * 60
clock = time.monotonic      # seconds; tests replace it to run out of time at once


# ---------------------------------------------------------------- the paper


def apportion(n: int, weights: dict[int, float]) -> dict[int, int]:
    """`n` seats shared in proportion to `weights` (largest remainder; ties to the lower key)."""
    total = sum(weights.values())
    exact = {key: n * w / total for key, w in weights.items()}
    seats = {key: int(x) for key, x in exact.items()}
    by_remainder = sorted(weights, key=lambda key: (-(exact[key] - seats[key]), key))
    for key in by_remainder[: n - sum(seats.values())]:
        seats[key] += 1
    return seats


def shortfalls(domains: dict[str, int | None], n: int, weights: dict[int, float]) -> dict[int, tuple[int, int]]:
    """Domains whose cards cannot fill their seats in an `n`-question paper: domain -> (seats, cards)."""
    held: dict[int | None, int] = {}
    for domain in domains.values():
        held[domain] = held.get(domain, 0) + 1
    seats = apportion(n, weights)
    return {d: (k, held.get(d, 0)) for d, k in seats.items() if held.get(d, 0) < k}


def draw(domains: dict[str, int | None], n: int, weights: dict[int, float], rng: random.Random) -> list[str]:
    """`n` card ids (or all there are), spread over the domains by `weights`, in random order.

    Weights are renormalised over the domains that have cards; a domain that runs short gives its
    seats to the others; cards without a domain fill what the domains cannot.
    """
    pools: dict[int | None, list[str]] = {}
    for card_id in sorted(domains):
        pools.setdefault(domains[card_id], []).append(card_id)
    for pool in pools.values():
        rng.shuffle(pool)
    chosen: list[str] = []
    while len(chosen) < n:
        open_weights = {d: w for d, w in weights.items() if pools.get(d)}
        if not open_weights:
            break
        for d, seats in apportion(n - len(chosen), open_weights).items():
            chosen += pools[d][:seats]
            pools[d] = pools[d][seats:]
    leftovers = [card_id for d, pool in sorted(pools.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0))
                 if d not in weights for card_id in pool]   # no domain first, then domains without a weight
    chosen += leftovers[: n - len(chosen)]
    rng.shuffle(chosen)
    return chosen


@dataclass(frozen=True)
class Question:
    position: int           # 1-based, as shown
    card: object            # the card model
    seed: str               # fixes the shuffled choices
    posed: cardtypes.Posed
    text: str = ""          # the question as shown (Markdown)
    headline: str = ""      # the question in one line, for the review list


@dataclass(frozen=True)
class Paper:
    form: ExamForm
    questions: list[Question]
    minutes: float
    seed: str
    topic: str | None
    asked_for: int          # how many questions were asked for; more than len(questions) when short
    short: dict[int, tuple[int, int]] = field(default_factory=dict)   # domain -> (seats, cards) it lacks


def set_paper(cards, *, questions: int | None = None, minutes: float | None = None, topic: str | None = None,
              seed: str | None = None, form: ExamForm = AIF_C01) -> Paper:
    """A paper drawn from the exam-style cards (mcq, ordering, matching) by the form's domain weights.

    Without `minutes`, the time is the form's time per question times the questions drawn,
    rounded up to whole minutes.
    """
    if questions is not None and questions < 1:
        raise UsageError(f"--questions must be 1 or more, not {questions}")
    if minutes is not None and not 0 < minutes <= MAX_MINUTES:
        raise UsageError(f"--minutes must be more than 0 and at most {MAX_MINUTES}, not {minutes:g}")
    types = EXAM_TYPES
    candidates = [cid for cid in session.select_cards(cards, topic) if cards.type(cid) in types]
    if not candidates:
        where = f"topic {topic!r}" if topic else "the decks"
        raise UsageError(f"no exam questions ({', '.join(types)} cards) in {where}")
    cards.preload(candidates)
    seed = seed if seed is not None else os.urandom(4).hex()
    wanted = questions if questions is not None else form.questions
    domains = {cid: cards[cid].domain for cid in candidates}
    ids = draw(domains, wanted, dict(form.domain_weights), random.Random(f"exam:{seed}"))
    paper = []
    for position, card_id in enumerate(ids, 1):
        card, question_seed = cards[card_id], f"exam:{seed}:{position}:{card_id}"
        shown = cardtypes.view(card, question_seed)
        paper.append(Question(position, card, question_seed, cardtypes.pose(card, question_seed),
                              shown.asked_first, shown.headline))
    if minutes is None:
        minutes = math.ceil(form.minutes * len(paper) / form.questions)
    short = {} if topic else shortfalls(domains, wanted, dict(form.domain_weights))
    return Paper(form, paper, minutes, seed, topic, wanted, short)


# ---------------------------------------------------------------- sitting it


class TimeUp(Exception):
    """The exam's time ran out while the learner was at the prompt."""


@dataclass
class Sheet:
    """The learner's answers so far: what was typed and what it parsed to, by position."""

    typed: dict[int, str] = field(default_factory=dict)
    parsed: dict[int, object] = field(default_factory=dict)
    flagged: set[int] = field(default_factory=set)
    current: int = 1


@dataclass
class Sitting:
    sheet: Sheet
    ended_by: str           # "submitted", "time", "end of input" or "interrupted"
    seconds_used: float


HELP = [
    ("an answer", "b · a,c · 3 1 2 4 · 1b 2a 3c · 0.25 (typing again changes it)"),
    ("Enter or n", "next question"),
    ("p", "previous question"),
    ("g 12", "go to question 12"),
    ("f", "flag or unflag this question for review"),
    ("x", "clear this question's answer"),
    ("r", "review list: answered, unanswered and flagged questions"),
    ("s", "submit (so do q, Ctrl-C, end of input and the end of the time)"),
    ("?", "this help"),
]


def read_command(text: str, question: Question) -> tuple[str, object]:
    """What a line typed at the exam prompt asks for: (command, argument)."""
    word = text.strip().lower()
    if word in ("", "n", "next"):
        return "next", None
    if word in ("?", "h", "help"):
        return "help", None
    if word in ("p", "prev", "previous"):
        return "previous", None
    if word == "flag" or (word == "f" and not _f_is_an_answer(question)):
        return "flag", None
    if word in ("r", "review"):
        return "review", None
    if word in ("x", "clear"):
        return "clear", None
    if word in ("s", "submit", "q", "quit"):
        return "submit", None
    head, _, rest = word.partition(" ")
    if head in ("g", "go", "goto") and rest.strip().isdigit():
        return "go", int(rest)
    return "answer", text.strip()


def _f_is_an_answer(question: Question) -> bool:
    # `f` is choice f on an mcq with six or more choices; `flag` always flags.
    return len(getattr(question.card, "choices", ())) >= 6


def time_left(deadline: float) -> float:
    return max(0.0, deadline - clock())


def sit(paper: Paper, io, interrupt: bool = False) -> Sitting:
    """Run the exam prompt until the learner submits, input ends or the time runs out.

    With `interrupt` (a real terminal), a signal ends a prompt that is waiting when time is up;
    otherwise the clock is checked whenever a line arrives, and a line that arrives late is not
    taken as an answer.
    """
    questions = {q.position: q for q in paper.questions}
    total = len(questions)
    sheet = Sheet()
    started = clock()
    deadline = started + paper.minutes * 60
    confirm_submit = False
    ended_by = "submitted"
    io.question(questions[sheet.current], total, clock_face(time_left(deadline)), sheet)
    ctrl_c_armed = False
    while True:
        left = time_left(deadline)
        if left <= 0:
            ended_by = "time"
            break
        try:
            with _alarm(left if interrupt else None):
                text = io.ask(f"{clock_face(left)} left · answer, or ? for help")
        except TimeUp:
            text = ""
        except KeyboardInterrupt:          # asks first, as `s` does: a stray Ctrl-C must not end an exam
            if ctrl_c_armed:
                ended_by = "interrupted"
                break
            ctrl_c_armed = True
            io.hint("Ctrl-C again hands the paper in now; anything else carries on")
            continue
        ctrl_c_armed = False
        if time_left(deadline) <= 0:
            ended_by = "time"
            break
        if text is None:
            ended_by = "end of input"
            break
        question = questions[sheet.current]
        command, argument = read_command(text, question)
        if command != "submit":
            confirm_submit = False
        if command == "answer":
            try:
                sheet.parsed[sheet.current] = question.posed.parse(argument)
            except answers.AnswerFormatError as exc:
                io.hint(f"{exc} (? lists the commands)")
                continue
            sheet.typed[sheet.current] = argument
            if sheet.current < total:
                sheet.current += 1
            else:
                io.sheet(paper.questions, sheet)
                continue
        elif command == "next":
            if sheet.current == total:
                io.sheet(paper.questions, sheet)
                continue
            sheet.current += 1
        elif command == "previous":
            if sheet.current == 1:
                io.hint("this is the first question")
                continue
            sheet.current -= 1
        elif command == "go":
            if not 1 <= argument <= total:
                io.hint(f"there are questions 1 to {total}")
                continue
            sheet.current = argument
        elif command == "flag":
            sheet.flagged ^= {sheet.current}
            io.hint(f"question {sheet.current} {'flagged' if sheet.current in sheet.flagged else 'unflagged'}")
            continue
        elif command == "clear":
            cleared = sheet.typed.pop(sheet.current, None)
            sheet.parsed.pop(sheet.current, None)
            io.hint(f"question {sheet.current}: " + ("answer cleared" if cleared is not None else "no answer to clear"))
            continue
        elif command == "review":
            io.sheet(paper.questions, sheet)
            continue
        elif command == "help":
            io.exam_help(HELP)
            continue
        elif command == "submit":
            warning = submit_warning(total - len(sheet.typed), sorted(sheet.flagged))
            if warning and not confirm_submit:
                confirm_submit = True
                io.hint(f"{warning}; type s again to submit, or keep going")
                continue
            break
        io.question(questions[sheet.current], total, clock_face(time_left(deadline)), sheet)
    if ended_by == "time":
        io.hint("time is up: the exam is submitted with the answers given")
    return Sitting(sheet, ended_by, min(clock() - started, paper.minutes * 60))


def submit_warning(unanswered: int, flagged: list[int]) -> str:
    """What to say before handing in: unanswered and flagged questions ('' when there are none)."""
    parts = []
    if unanswered:
        parts.append(f"{unanswered} question(s) unanswered")
    if flagged:
        parts.append(f"{len(flagged)} flagged ({', '.join(map(str, flagged))})")
    return " and ".join(parts)


def clock_face(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@contextmanager
def _alarm(seconds: float | None):
    """Raise TimeUp in the prompt after `seconds` (None: no alarm)."""
    if seconds is None or not hasattr(signal, "SIGALRM"):
        yield
        return

    def ring(_signum, _frame):
        raise TimeUp

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Graded:
    question: Question
    typed: str | None       # None: not answered
    correct: bool
    flagged: bool = False


@dataclass(frozen=True)
class Result:
    paper: Paper
    graded: list[Graded]
    correct: int
    answered: int
    scaled_score: int
    passed: bool
    ended_by: str
    seconds_used: float

    @property
    def total(self) -> int:
        return len(self.graded)

    def breakdown(self, key) -> dict:
        """{group: {"questions", "correct"}} grouped by `key(question)`, in sorted order."""
        groups: dict = {}
        for g in self.graded:
            counts = groups.setdefault(key(g.question), {"questions": 0, "correct": 0})
            counts["questions"] += 1
            counts["correct"] += g.correct
        return dict(sorted(groups.items(), key=lambda kv: (kv[0] is None, str(kv[0]))))


def scaled_score(correct: int, total: int, form: ExamForm = AIF_C01) -> int:
    """min_score + (max_score - min_score) * correct / total, rounded half up (linear scaling)."""
    span = form.max_score - form.min_score
    return form.min_score + (2 * span * correct + total) // (2 * total)


def score(paper: Paper, sitting: Sitting) -> Result:
    """Grade every question; an unanswered one counts as wrong, as on the real exam."""
    graded = []
    for q in paper.questions:
        typed = sitting.sheet.typed.get(q.position)
        correct = typed is not None and bool(q.posed.grade(sitting.sheet.parsed[q.position]))
        graded.append(Graded(q, typed, correct, q.position in sitting.sheet.flagged))
    correct = sum(g.correct for g in graded)
    scaled = scaled_score(correct, len(graded), paper.form)
    return Result(paper, graded, correct, sum(g.typed is not None for g in graded), scaled,
                  scaled >= paper.form.pass_score, sitting.ended_by, sitting.seconds_used)


# ---------------------------------------------------------------- storing


def save(store, result: Result, today: date, started_at: str, policy: scheduler.Policy = scheduler.Policy()) -> int:
    """Store the attempt, its answers and each answer's log entry (mode `exam`) in one transaction.

    A right answer is logged without touching SM-2; a wrong one makes the card due today.
    Unanswered questions are stored with the exam but not logged: the card was not tried.
    """
    from studycli.store import Exam, ExamAnswer, utc_now

    paper = result.paper
    exam = Exam(started_at=started_at, finished_at=utc_now(), study_day=today, form=paper.form.name,
                seed=paper.seed, topic=paper.topic, questions=result.total, answered=result.answered,
                correct=result.correct, minutes=paper.minutes, seconds_used=round(result.seconds_used, 3),
                scaled_score=result.scaled_score, passed=result.passed, ended_by=result.ended_by)
    with store.transaction() as tx:
        exam_id = tx.add(exam).id
        for g in result.graded:
            q = g.question
            tx.add(ExamAnswer(exam_id=exam_id, position=q.position, card_id=q.card.id, topic=q.card.topic,
                              domain=q.card.domain, question_seed=q.seed, answer=g.typed, correct=g.correct,
                              flagged=g.flagged))
        for g in result.graded:
            if g.typed is None:
                continue
            card_id = g.question.card.id
            before = tx.state(card_id)
            quality = scheduler.EXAM_RIGHT if g.correct else scheduler.EXAM_WRONG
            after, fsrs = (None, None) if g.correct else scheduler.missed_states(before, before.fsrs, today, policy)
            tx.record(card_id, quality, before, after, day=today, mode="exam", answer=g.typed, fsrs=fsrs)
    return exam_id


def history(store) -> list[dict]:
    """Every stored attempt, oldest first, with its score."""
    from sqlmodel import select

    from studycli.store import Exam

    from studycli.store import CardRow, ExamAnswer

    with store.read() as db:
        rows = db.exec(select(Exam).order_by(Exam.id)).all()
        answered = db.exec(select(ExamAnswer.exam_id, ExamAnswer.card_id, CardRow.type, ExamAnswer.domain,
                                  ExamAnswer.answer, ExamAnswer.correct)
                           .join(CardRow, CardRow.id == ExamAnswer.card_id)
                           .order_by(ExamAnswer.exam_id, ExamAnswer.position)).all()
    items: dict[int, list[dict]] = {}
    for exam_id, card_id, kind, domain, typed, correct in answered:
        items.setdefault(exam_id, []).append(
            {"id": card_id, "type": kind, "domain": domain, "correct": None if typed is None else bool(correct)})
    return [
        {"id": e.id, "day": e.study_day.isoformat(), "form": e.form, "topic": e.topic, "questions": e.questions,
         "answered": e.answered, "correct": e.correct, "scaled_score": e.scaled_score, "passed": e.passed,
         "minutes": e.minutes, "seconds_used": e.seconds_used, "ended_by": e.ended_by, "seed": e.seed,
         "items": items.get(e.id, [])}
        for e in rows
    ]


def run(store, cards, io, today: date, *, questions=None, minutes=None, topic=None, seed=None,
        interrupt: bool = False, policy: scheduler.Policy = scheduler.Policy()) -> Result:
    """Draw a paper, sit it, score it and store it: `study exam`."""
    from studycli.store import utc_now

    paper = set_paper(cards, questions=questions, minutes=minutes, topic=topic, seed=seed)
    started_at = utc_now()
    io.exam_intro(paper)
    sitting = sit(paper, io, interrupt=interrupt)
    result = score(paper, sitting)
    save(store, result, today, started_at, policy)
    return result

