"""One home per card type: how a card is posed, graded, and shown as text to a person.

Every other module asks the registry (`KINDS`) instead of switching on `card.type`, so a new
card type is one new entry here (and its model in `content`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Callable

from studycli import answers

CLOZE_GAP = re.compile(r"\{\{c(\d+)::(.+?)(?:::(.+?))?\}\}", re.S)   # {{c1::answer}} or {{c1::answer::hint}}

WORDS = {2: "TWO", 3: "THREE", 4: "FOUR", 5: "FIVE"}


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


@dataclass(frozen=True)
class View:
    """A card as plain Markdown for a person: the terminal, `study show`, lists and Anki."""

    question: str          # what is asked (a numeric card: one example draw, never a template)
    options: list[str]     # labelled choices / items / pairs, one per line (empty for other types)
    answer: list[str]      # the right answer as lines
    asked_first: str       # what the review prints above the input line before posing

    @property
    def headline(self) -> str:
        """The question in one line, for lists."""
        first = (self.question.strip().splitlines() or [""])[0]
        return first if len(first) <= 90 else first[:87] + "..."


@dataclass(frozen=True)
class Kind:
    name: str
    graded_by: str                        # "self" (0-5 by the learner), "auto", or "code" (the grader)
    exam_style: bool                      # an AIF-C01 item type: mcq, ordering, matching
    view: Callable[[object, str], View]   # (card, seed) -> View
    pose: Callable[[object, str], Posed] | None = None
    anki_cloze: bool = False              # Anki's cloze note type reads the gaps itself


# ---------------------------------------------------------------- text of each type


def cloze_text(text: str, reveal: bool) -> str:
    """Cloze gaps filled in bold (revealed) or shown as [hint] / [...]."""
    def gap(match) -> str:
        answer, hint = match.group(2), match.group(3)
        return f"**{answer}**" if reveal else f"[{hint or '...'}]"

    return CLOZE_GAP.sub(gap, text)


def fill_template(template: str, params: dict) -> str:
    """`{name}` placeholders replaced by the generator's values; other braces left alone."""
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), template)


def _mcq_shown(card, seed: str) -> list[str]:
    return [card.choices[i] for i in answers.shuffled(card.choices, seed)]


def _ordering_shown(card, seed: str) -> list[str]:
    return [card.items[i] for i in answers.shuffled(card.items, seed, avoid_identity=True)]


def _matching_rights(card, seed: str) -> list[str]:
    rights = sorted({right for _, right in card.pairs}, key=str)
    return [rights[i] for i in answers.shuffled(rights, seed)]


def view_basic(card, seed: str) -> View:
    return View(card.front, [], [card.back], card.front)


def view_cloze(card, seed: str) -> View:
    hidden = cloze_text(card.text, reveal=False)
    return View(hidden, [], [cloze_text(card.text, reveal=True)], hidden)


def view_mcq(card, seed: str) -> View:
    shown = _mcq_shown(card, seed)
    options = [f"{answers.LETTERS[i]}) {text}" for i, text in enumerate(shown)]
    question = card.question
    if len(card.answers) > 1 and "choose" not in question.lower():
        question += f" (Choose {WORDS.get(len(card.answers), len(card.answers))}.)"
    return View(question, options, [o for o, text in zip(options, shown) if text in card.answers], card.question)


def view_ordering(card, seed: str) -> View:
    shown = _ordering_shown(card, seed)
    return View(card.question, [f"{i}. {item}" for i, item in enumerate(shown, 1)],
                [f"{shown.index(item) + 1}. {item}" for item in card.items], card.question)


def view_matching(card, seed: str) -> View:
    rights = _matching_rights(card, seed)
    options = [f"{i}. {left}" for i, (left, _) in enumerate(card.pairs, 1)]
    options += [f"{answers.LETTERS[i]}) {right}" for i, right in enumerate(rights)]
    return View(card.question, options, [f"{left} → {right}" for left, right in card.pairs], card.question)


def numeric_draw(card, seed: str) -> tuple[str, float, float]:
    """(question with drawn numbers, expected answer, tolerance) for one seed."""
    from studycli.grading import generators

    params, expected, tolerance = generators.generate_numeric(card.generator, seed)
    return fill_template(card.question, params), expected, tolerance


def view_numeric(card, seed: str) -> View:
    question, expected, tolerance = numeric_draw(card, seed)
    within = f" (within {tolerance:g})" if tolerance else ""
    return View(question, [], [f"{expected:.6g}", f"{within.strip()} for these numbers; each review draws new ones".strip()], "")


def view_code(card, seed: str) -> View:
    return View(card.prompt, [], [f"graded by the `{card.check}` check: `study stub {card.id}`, "
                                  f"then `study check {card.id} FILE`"], card.prompt)


# ---------------------------------------------------------------- posing auto-graded types


def pose_mcq(card, seed: str) -> Posed:
    shown = _mcq_shown(card, seed)
    wanted = len(card.answers)
    return Posed(
        prompt="answer",
        # exam-style questions say "(Choose TWO.)" themselves; the prompt says it for the others
        show=lambda io: io.choices(shown, choose=1 if "choose" in card.question.lower() else wanted),
        parse=partial(answers.parse_letters, n_choices=len(shown), wanted=wanted),
        grade=lambda picked: {shown[i] for i in picked} == set(card.answers),
        right=[f"{answers.LETTERS[i]}) {text}" for i, text in enumerate(shown) if text in card.answers],
    )


def pose_ordering(card, seed: str) -> Posed:
    shown = _ordering_shown(card, seed)
    return Posed(
        prompt="order",
        show=lambda io: io.numbered(shown),
        parse=partial(answers.parse_order, n_items=len(shown)),
        grade=lambda picked: [shown[i] for i in picked] == list(card.items),
        right=[f"{shown.index(item) + 1}. {item}" for item in card.items],
    )


def pose_matching(card, seed: str) -> Posed:
    lefts = [left for left, _ in card.pairs]
    rights = _matching_rights(card, seed)
    return Posed(
        prompt="pairs",
        show=lambda io: io.matching(lefts, rights),
        parse=partial(answers.parse_matching, n_left=len(lefts), n_right=len(rights)),
        grade=lambda picked: all(rights[picked[i]] == right for i, (_, right) in enumerate(card.pairs)),
        right=[f"{i + 1}{answers.LETTERS[rights.index(r)]}  {left} -> {r}" for i, (left, r) in enumerate(card.pairs)],
    )


def pose_numeric(card, seed: str) -> Posed:
    question, expected, tolerance = numeric_draw(card, seed)
    return Posed(
        prompt="answer",
        show=lambda io: io.markdown(question),
        parse=answers.parse_number,
        grade=lambda given: answers.number_is_close(given, expected, tolerance),
        right=[f"{expected:.6g}" + (f" (within {tolerance:g})" if tolerance else "")],
    )


KINDS: dict[str, Kind] = {
    "basic": Kind("basic", "self", False, view_basic),
    "cloze": Kind("cloze", "self", False, view_cloze, anki_cloze=True),
    "mcq": Kind("mcq", "auto", True, view_mcq, pose_mcq),
    "ordering": Kind("ordering", "auto", True, view_ordering, pose_ordering),
    "matching": Kind("matching", "auto", True, view_matching, pose_matching),
    "numeric": Kind("numeric", "auto", False, view_numeric, pose_numeric),
    "code": Kind("code", "code", False, view_code),
}
EXAM_STYLE = tuple(name for name, kind in KINDS.items() if kind.exam_style)


def kind_of(card) -> Kind:
    return KINDS[card.type]


def view(card, seed: str | None = None) -> View:
    """The card as text; `seed` fixes the shuffle and a numeric card's numbers (default: its id)."""
    return KINDS[card.type].view(card, seed if seed is not None else f"{card.id}:example")


def pose(card, seed: str) -> Posed:
    """An auto-graded card as shown with `seed`."""
    return KINDS[card.type].pose(card, seed)


def asked_first(card) -> str:
    """What the review prints above the input (a numeric card's question comes with its draw)."""
    return "" if KINDS[card.type].name == "numeric" else view(card).asked_first


def headline(card) -> str:
    return view(card).headline
