"""Typed answers: parse what the learner typed and decide if it is right. Pure functions.

Each parser raises `AnswerFormatError` with a hint for input it cannot read, so the session
can re-prompt instead of grading a typo as a wrong answer.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction

LETTERS = "abcdefgh"


class AnswerFormatError(ValueError):
    """The input is not an answer of the expected form; the message says what is."""


def shuffled(items: list, seed: str, avoid_identity: bool = False) -> list[int]:
    """A permutation of range(len(items)), the same for the same seed.

    With `avoid_identity`, the correct order is never shown as is (an ordering card would be
    answered by reading it).
    """
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    if avoid_identity and order == sorted(order) and len(order) > 1:
        order = order[1:] + order[:1]
    return order


def parse_grade(text: str) -> int:
    text = text.strip()
    if len(text) == 1 and text in "012345":
        return int(text)
    raise AnswerFormatError("type a grade from 0 (blackout) to 5 (perfect)")


def parse_letters(text: str, n_choices: int, wanted: int | None = None) -> set[int]:
    """`b` or `a,c` or `a c` or `AC` -> {0, 2}: indexes of the chosen letters.

    With `wanted`, a different number of letters is a format error, not a wrong answer: the
    question says how many to choose, as the real exam does.
    """
    letters = re.sub(r"[\s,;]+", "", text.strip().lower())
    valid = LETTERS[:n_choices]
    if not letters or any(ch not in valid for ch in letters):
        raise AnswerFormatError(f"type one or more letters from a to {valid[-1]}, e.g. b or a,c")
    if len(set(letters)) != len(letters):
        raise AnswerFormatError("each letter once, please")
    if wanted == 1 and len(letters) > 1:
        raise AnswerFormatError("this question has one answer: type one letter")
    if wanted is not None and wanted > 1 and len(letters) != wanted:
        raise AnswerFormatError(f"choose {wanted} letters, e.g. {','.join(valid[:wanted])}")
    return {valid.index(ch) for ch in letters}


def parse_order(text: str, n_items: int) -> list[int]:
    """`3 1 2 4` (or `3,1,2,4`, or `3124` when there are fewer than 10 items) -> [2, 0, 1, 3]."""
    parts = re.split(r"[\s,;]+", text.strip())
    if len(parts) == 1 and n_items < 10 and parts[0].isdigit():
        parts = list(parts[0])
    example = " ".join(str(i) for i in range(n_items, 0, -1))
    try:
        numbers = [int(p) for p in parts if p]
    except ValueError:
        raise AnswerFormatError(f"type the item numbers in order, e.g. {example}") from None
    if sorted(numbers) != list(range(1, n_items + 1)):
        raise AnswerFormatError(f"use each number from 1 to {n_items} once, e.g. {example}")
    return [n - 1 for n in numbers]


def parse_matching(text: str, n_left: int, n_right: int) -> dict[int, int]:
    """`1b 2a 3c` -> {0: 1, 1: 0, 2: 2}: each left index to the chosen right index."""
    pairs = re.findall(r"(\d+)\s*-?\s*([a-z])", text.lower())
    leftover = re.sub(r"(\d+)\s*-?\s*([a-z])|[\s,;]", "", text.lower())
    hint = f"pair every number 1-{n_left} with a letter a-{LETTERS[n_right - 1]}, e.g. 1b 2a"
    if leftover or not pairs:
        raise AnswerFormatError(hint)
    chosen: dict[int, int] = {}
    for number, letter in pairs:
        left, right = int(number) - 1, LETTERS.find(letter)
        if not 0 <= left < n_left or not 0 <= right < n_right or left in chosen:
            raise AnswerFormatError(hint)
        chosen[left] = right
    if len(chosen) != n_left:
        raise AnswerFormatError(hint)
    return chosen


def parse_number(text: str) -> float:
    """`0.25`, `.25`, `25%`, `1/4`, `1e-3`, `1,024` -> a float."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        if cleaned.endswith("%"):
            return float(cleaned[:-1]) / 100
        if "/" in cleaned:
            return float(Fraction(cleaned))
        return float(cleaned)
    except (ValueError, ZeroDivisionError):
        raise AnswerFormatError("type a number, e.g. 0.25, 25% or 1/4") from None


def number_is_close(given: float, expected: float, tolerance: float) -> bool:
    """Right within the absolute `tolerance` (the generator sets it from the answer's precision)."""
    return abs(given - expected) <= tolerance

