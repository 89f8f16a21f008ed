"""Decks: load YAML files, validate every card, and report each problem as FILE:LINE: message."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from studycli.cardtypes import CLOZE_GAP  # noqa: F401 - the gap syntax lives with the card types
from studycli.errors import DeckError
from studycli.paths import deck_files

CARD_TYPES = ("basic", "cloze", "mcq", "ordering", "matching", "numeric", "code")
KEBAB = r"^[a-z0-9]+(-[a-z0-9]+)*$"    # card ids and topics
SNAKE = r"^[a-z_][a-z0-9_]*$"           # checks and generators: Python function names

Id = Annotated[str, StringConstraints(pattern=KEBAB, max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


# ---------------------------------------------------------------- card models


class CardBase(BaseModel):
    """Fields every card may carry; unknown fields are errors so typos are caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Id
    domain: Annotated[int, Field(ge=1, le=5)] | None = None
    tags: list[Text] = []
    related: list[Text] = []
    explanation: str = ""
    source: str = ""  # the AWS documentation URL, exam-guide task statement, or "notes: <heading>"
    topic: str = ""  # filled from the deck, never written in a card

    def content_hash(self) -> str:
        """A digest of everything the learner sees: detects edits without changing identity."""
        data = json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()[:16]


class BasicCard(CardBase):
    type: Literal["basic"]
    front: Text
    back: Text


class ClozeCard(CardBase):
    type: Literal["cloze"]
    text: Text

    @model_validator(mode="after")
    def _has_gaps(self):
        if not CLOZE_GAP.search(self.text):
            raise ValueError("cloze text has no gap; write {{c1::answer}}")
        return self


class McqCard(CardBase):
    type: Literal["mcq"]
    question: Text
    choices: Annotated[list[Text], Field(min_length=2, max_length=8)]
    answer: Text | Annotated[list[Text], Field(min_length=1)]

    @field_validator("choices")
    @classmethod
    def _unique_choices(cls, choices: list[str]) -> list[str]:
        if len(set(choices)) != len(choices):
            raise ValueError("choices repeat")
        return choices

    @field_validator("answer")
    @classmethod
    def _answers_are_choices(cls, answer, info: ValidationInfo):
        answers = [answer] if isinstance(answer, str) else answer
        for one in answers:
            if one not in info.data.get("choices", [one]):
                raise ValueError(f"{one!r} is not one of the choices")
        if len(set(answers)) != len(answers):
            raise ValueError("the same choice is listed twice")
        return answer

    @property
    def answers(self) -> list[str]:
        return [self.answer] if isinstance(self.answer, str) else list(self.answer)


class OrderingCard(CardBase):
    type: Literal["ordering"]
    question: Text
    items: Annotated[list[Text], Field(min_length=3, max_length=8)]

    @model_validator(mode="after")
    def _unique(self):
        if len(set(self.items)) != len(self.items):
            raise ValueError("items repeat, so the order would be ambiguous")
        return self


class MatchingCard(CardBase):
    type: Literal["matching"]
    question: Text
    pairs: Annotated[list[tuple[Text, Text]], Field(min_length=2, max_length=8)]

    @model_validator(mode="after")
    def _unique_lefts(self):
        lefts = [left for left, _ in self.pairs]
        if len(set(lefts)) != len(lefts):
            raise ValueError("a left-hand item appears twice")
        return self


class NumericCard(CardBase):
    type: Literal["numeric"]
    question: Text
    generator: Annotated[str, StringConstraints(pattern=SNAKE)]


class CodeCard(CardBase):
    type: Literal["code"]
    prompt: Text
    check: Annotated[str, StringConstraints(pattern=SNAKE)]
    hints: list[Text] = []


Card = Union[BasicCard, ClozeCard, McqCard, OrderingCard, MatchingCard, NumericCard, CodeCard]
MODELS: dict[str, type[CardBase]] = {
    "basic": BasicCard,
    "cloze": ClozeCard,
    "mcq": McqCard,
    "ordering": OrderingCard,
    "matching": MatchingCard,
    "numeric": NumericCard,
    "code": CodeCard,
}


def card_from_dict(data: dict) -> Card:
    """A card from its stored dict (as `model_dump` wrote it), validated again."""
    return MODELS[data["type"]].model_validate(data)


@dataclass
class Deck:
    topic: str
    title: str
    path: Path
    order: int = 100          # decks with a lower order introduce their new cards first
    cards: list[Card] = field(default_factory=list)


# ---------------------------------------------------------------- YAML with line numbers


class _LineDict(dict):
    """A mapping that remembers the line it starts on and the line of each key."""

    line: int = 0
    key_lines: dict


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):
    """yaml's safe loader, recording line numbers and duplicate keys for error messages."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, str]] = []


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode):
    data = _LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "a key must be plain text, not a list or mapping",
                                                    key_node.start_mark)
        if key in data.key_lines:
            loader.duplicate_keys.append((key_node.start_mark.line + 1, str(key)))
        data.key_lines[key] = key_node.start_mark.line + 1
    data.update(loader.construct_mapping(node))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


MAX_DECK_BYTES = 4 * 2**20       # a deck of 2,000 well-explained cards is about 2 MB
MAX_CARDS_PER_DECK = 2_000


def _read_yaml(path: Path, problems: list[str]):
    """The parsed document, or None after adding the reason to `problems`."""
    try:
        size = path.stat().st_size
        if size > MAX_DECK_BYTES:
            problems.append(f"{path}:1: {size / 2**20:.1f} MB is more than a deck may be "
                            f"({MAX_DECK_BYTES // 2**20} MB); split it into several decks")
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}:1: cannot read: {exc}")
        return None
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(f"{path}:{line}: invalid YAML: {reason}")
        return None
    finally:
        loader.dispose()
    for line, key in loader.duplicate_keys:
        problems.append(f"{path}:{line}: key {key!r} appears twice in the same mapping")
    return data


# ---------------------------------------------------------------- validation


def _line_of(card: dict, loc: tuple) -> int:
    """The line of the field an error points at, falling back to the card's first line."""
    node = card
    line = getattr(card, "line", 1)
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = getattr(node, "key_lines", {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
    return line


def _describe(error: dict) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"missing field {loc!r}"
    if kind == "extra_forbidden":
        return f"unknown field {loc!r}"
    if kind == "string_pattern_mismatch":
        form = "kebab-case (lowercase words joined by '-')" if error["ctx"]["pattern"] == KEBAB else "a Python name"
        return f"{loc} {error['input']!r} must be {form}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{loc}: {message}" if loc else message


def _parse_card(raw, topic: str, path: Path, problems: list[str]) -> Card | None:
    line = getattr(raw, "line", 1)
    if not isinstance(raw, dict):
        problems.append(f"{path}:{line}: a card must be a mapping with id and type")
        return None
    kind = raw.get("type")
    if kind not in MODELS:
        where = raw.key_lines.get("type", line) if isinstance(raw, _LineDict) else line
        what = "missing field 'type'" if kind is None else f"unknown card type {kind!r}"
        problems.append(f"{path}:{where}: {what} (one of: {', '.join(CARD_TYPES)})")
        return None
    if "topic" in raw:
        problems.append(f"{path}:{raw.key_lines['topic']}: unknown field 'topic' (set by the deck)")
        return None
    try:
        return MODELS[kind].model_validate({**raw, "topic": topic})
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(f"{path}:{_line_of(raw, error['loc'])}: {_describe(error)}")
        return None


def parse_deck(path: Path, problems: list[str]) -> Deck | None:
    """One deck file, validated on its own; problems are appended, never raised."""
    data = _read_yaml(path, problems)
    if data is None:
        return None
    if not isinstance(data, dict):
        problems.append(f"{path}:1: a deck must be a mapping with topic, title and cards")
        return None
    deck_problems_before = len(problems)
    for key in ("topic", "title", "cards"):
        if key not in data:
            problems.append(f"{path}:1: missing deck field {key!r}")
    for key in data:
        if key not in ("topic", "title", "order", "cards"):
            problems.append(f"{path}:{data.key_lines[key]}: unknown deck field {key!r}")
    topic, title, cards = data.get("topic"), data.get("title"), data.get("cards")
    if topic is not None and not (isinstance(topic, str) and re.match(KEBAB, topic)):
        problems.append(f"{path}:{data.key_lines['topic']}: topic must be kebab-case text")
    order = data.get("order", Deck.order)
    if isinstance(order, bool) or not isinstance(order, int):
        problems.append(f"{path}:{data.key_lines['order']}: order must be a whole number")
    if cards is not None and not isinstance(cards, list):
        problems.append(f"{path}:{data.key_lines['cards']}: cards must be a list")
    elif cards is not None and len(cards) > MAX_CARDS_PER_DECK:
        problems.append(f"{path}:{data.key_lines['cards']}: {len(cards)} cards; a deck holds at most "
                        f"{MAX_CARDS_PER_DECK}: split it into several decks")
    if len(problems) > deck_problems_before:
        return None
    deck = Deck(topic=topic, title=str(title), path=path, order=order)
    for raw in cards:
        card = _parse_card(raw, topic, path, problems)
        if card is not None:
            deck.cards.append(card)
    return deck


def _card_lines(deck: Deck) -> dict[str, int]:
    """Line of each card id in its file, re-read only when an error needs it."""
    data = _read_yaml(deck.path, [])
    lines = {}
    for raw in (data or {}).get("cards") or []:
        if isinstance(raw, _LineDict) and isinstance(raw.get("id"), str):
            lines.setdefault(raw["id"], raw.line)
    return lines


def _known_checks() -> set[str] | None:
    try:
        from studycli.grading import check_names
    except ImportError:
        return None
    return set(check_names())


def _known_generators() -> set[str] | None:
    try:
        from studycli.grading.generators import generator_names
    except ImportError:
        return None
    return set(generator_names())


def cross_check(decks: list[Deck], problems: list[str], known_names: dict[str, Path] | None = None) -> None:
    """Checks that span decks: unique topics and ids (also against `known_names`, the ids and
    topics of decks that load beside these), related links, checks and generators."""
    known_names = known_names or {}
    seen_topics: dict[str, Path] = {}
    seen_ids: dict[str, Path] = {}
    names = set(known_names)
    for deck in decks:
        names.add(deck.topic)
        names.update(card.id for card in deck.cards)
    checks, generators = _known_checks(), _known_generators()
    for deck in decks:
        lines: dict[str, int] | None = None

        def report(card_id: str, message: str) -> None:
            nonlocal lines
            lines = lines if lines is not None else _card_lines(deck)
            problems.append(f"{deck.path}:{lines.get(card_id, 1)}: {message}")

        if deck.topic in seen_topics or deck.topic in known_names:
            other = seen_topics.get(deck.topic) or known_names[deck.topic]
            problems.append(f"{deck.path}:1: topic {deck.topic!r} is also used by {other}")
        seen_topics.setdefault(deck.topic, deck.path)
        for card in deck.cards:
            if card.id in seen_ids or card.id in known_names:
                report(card.id, f"duplicate card id {card.id!r} (also in {seen_ids.get(card.id) or known_names[card.id]})")
            seen_ids.setdefault(card.id, deck.path)
            for ref in card.related:
                if ref not in names:
                    report(card.id, f"{card.id}: related {ref!r} is not a card id or topic")
            if isinstance(card, CodeCard) and checks is not None and card.check not in checks:
                report(card.id, f"{card.id}: unknown check {card.check!r} (see docs/cards.md)")
            if isinstance(card, NumericCard) and generators is not None and card.generator not in generators:
                report(card.id, f"{card.id}: unknown generator {card.generator!r} (see docs/cards.md)")


# ---------------------------------------------------------------- exam-writing faults

EXAM_STYLE_TYPES = ("mcq", "ordering", "matching")
MIN_MULTIPLE_RESPONSE_CHOICES = 5
MAX_KEY_RATIO = 1.3        # the key may be at most this much longer than the longest distractor
CITES_MATERIAL = re.compile(r"\b(?:the|these|study|this) (?:notes|table|deck)\b|\baccording to the (?:notes|table|deck|text)\b",
                            re.I)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")   # escapes and controls; tab and newline allowed
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _texts(value):
    """Every string inside a card's field values."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)


def exam_writing_faults(card: Card, placeholders: set[str] | None = None) -> list[str]:
    """What keeps a card from reading like the real exam (or from being shown safely).

    `placeholders` are the names a numeric card's generator fills (None: not checked).
    """
    faults = []
    if any(CONTROL_CHARS.search(text) for text in _texts(list(card.model_dump().values()))):
        faults.append("contains a control or terminal escape character")
    stem = getattr(card, "question", None) or getattr(card, "front", None) or getattr(card, "text", "")
    if CITES_MATERIAL.search(stem):
        faults.append("the stem cites the notes, a table or the deck; write a self-contained question")
    if card.type in EXAM_STYLE_TYPES and not card.source:
        faults.append("an exam-style card needs a source (an AWS documentation URL or 'notes: <heading>')")
    if isinstance(card, McqCard):
        keys = card.answers
        distractors = [c for c in card.choices if c not in keys]
        if len(keys) > 1 and len(card.choices) < MIN_MULTIPLE_RESPONSE_CHOICES:
            faults.append(f"multiple response needs at least {MIN_MULTIPLE_RESPONSE_CHOICES} choices, "
                          f"not {len(card.choices)}")
        if distractors and max(map(len, keys)) > MAX_KEY_RATIO * max(map(len, distractors)):
            faults.append(f"the key is more than {MAX_KEY_RATIO}x longer than the longest distractor, "
                          "so it gives itself away")
    if isinstance(card, NumericCard) and placeholders is not None:
        unknown = sorted(set(PLACEHOLDER.findall(card.question)) - placeholders)
        if unknown:
            faults.append(f"the question names {', '.join('{' + u + '}' for u in unknown)}, which generator "
                          f"{card.generator!r} does not make (it makes: {', '.join(sorted(placeholders))})")
    return faults


def _generator_placeholders(name: str) -> set[str] | None:
    try:
        from studycli.grading.generators import generate_numeric
    except ImportError:
        return None
    try:
        params, _, _ = generate_numeric(name, "lint")
    except Exception:   # an unknown generator is reported by cross_check
        return None
    return set(params)


def writing_check(decks: list[Deck], problems: list[str]) -> None:
    """Add every exam-writing fault of `decks` to `problems` as FILE:LINE: message."""
    for deck in decks:
        lines = None
        for card in deck.cards:
            placeholders = _generator_placeholders(card.generator) if isinstance(card, NumericCard) else None
            faults = exam_writing_faults(card, placeholders)
            if faults:
                lines = lines if lines is not None else _card_lines(deck)
                problems.extend(f"{deck.path}:{lines.get(card.id, 1)}: {card.id}: {fault}" for fault in faults)


# ---------------------------------------------------------------- entry points


def load_decks(dirs: list[Path]) -> list[Deck]:
    """Every deck in `dirs`, validated together; raises DeckError listing every problem."""
    problems: list[str] = []
    for folder in dirs:
        if not folder.is_dir():
            problems.append(f"{folder}:1: deck folder not found")
    decks = [d for f in deck_files([d for d in dirs if d.is_dir()]) if (d := parse_deck(f, problems))]
    cross_check(decks, problems)
    if problems:
        raise DeckError(problems)
    return sorted(decks, key=lambda d: (d.order, d.topic))


def lint(paths: list[Path], context_dirs: list[Path]) -> tuple[list[Deck], list[str]]:
    """Validate the decks at `paths`; related links may also point into `context_dirs`."""
    problems: list[str] = []
    for path in paths:
        if not path.exists():
            problems.append(f"{path}:1: no such file or folder")
    files = deck_files([p for p in paths if p.exists()])
    decks = [d for f in files if (d := parse_deck(f, problems))]
    linted = {f.resolve() for f in files}
    context: dict[str, Path] = {}     # ids and topics of the other decks that load beside these
    for file in deck_files([d for d in context_dirs if d.is_dir()]):
        if file.resolve() not in linted:
            other = parse_deck(file, [])
            if other:
                context[other.topic] = file
                context.update({card.id: file for card in other.cards})
    cross_check(decks, problems, context)
    writing_check(decks, problems)
    return decks, sorted(problems, key=_file_and_line)


def _file_and_line(problem: str) -> tuple[str, int]:
    file, _, rest = problem.partition(":")
    line = rest.partition(":")[0]
    return file, int(line) if line.isdigit() else 0
