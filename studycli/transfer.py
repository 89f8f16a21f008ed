"""Progress in and out: a lossless JSON file of everything learnt, and the deck as an Anki package.

The JSON file holds the cards table's rows (so retired cards travel with their history), every
SM-2 state, the review log, code submissions and mock exams, column by column as stored, plus a
format version and a checksum. Import checks all of it before writing, then writes in one
transaction: a file is taken whole or not at all.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

from studycli.errors import StudyError, UsageError

FORMAT = "studycli-progress"
VERSION = 1

# Columns of `cards` that belong to this database's deck sync, not to the learner's progress.
SYNC_ONLY_COLUMNS = {"content_hash", "added_at", "updated_at"}
OBJECT_COLUMNS = {("cards", "data")}   # JSON text in the database, an object in the file


def _kind(annotation) -> str:
    """A column's kind for the file: str, int, float, bool, date or object; "?" allows null."""
    import typing
    from datetime import date as date_type

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    optional = len(args) < len(typing.get_args(annotation))
    base = args[0] if optional else annotation
    name = {str: "str", int: "int", float: "float", bool: "bool", date_type: "date"}[base]
    return name + ("?" if optional else "")


def _section(model, order: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(table, order, [(column, kind)]) of a SQLModel table, read off its fields."""
    table = model.__tablename__
    columns = [(name, "object" if (table, name) in OBJECT_COLUMNS else _kind(field.annotation))
               for name, field in model.model_fields.items()
               if not (table == "cards" and name in SYNC_ONLY_COLUMNS)]
    return table, order, columns


def _sections() -> dict[str, tuple[str, str, list[tuple[str, str]]]]:
    """Every section of the file, in order: the store's models are the one description of the tables."""
    from studycli import store

    return {
        "cards": _section(store.CardRow, "position, id"),
        "states": _section(store.CardState, "card_id"),
        "reviews": _section(store.Review, "id"),
        "submissions": _section(store.Submission, "id"),
        "exams": _section(store.Exam, "id"),
        "exam_answers": _section(store.ExamAnswer, "exam_id, position"),
        "settings": _section(store.SettingRow, "key"),
    }


SECTIONS = _sections()


# ---------------------------------------------------------------- export


def progress(store) -> dict:
    """Everything the learner has done, as plain JSON values, in a fixed order."""
    out: dict = {"format": FORMAT, "version": VERSION}
    with store.read() as session:
        conn = session.connection()
        for section, (table, order, columns) in SECTIONS.items():
            _check_columns(conn, table, columns)
            names = [name for name, _ in columns]
            rows = conn.exec_driver_sql(f"SELECT {', '.join(names)} FROM {table} ORDER BY {order}").fetchall()
            out[section] = [{name: _to_json(value, kind) for (name, kind), value in zip(columns, row)} for row in rows]
    out["checksum"] = checksum(out)
    return out


def _check_columns(conn, table: str, columns: list[tuple[str, str]]) -> None:
    # A column added by a later migration must be added here too, or export would lose it.
    stored = {r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")}
    expected = {name for name, _ in columns} | (SYNC_ONLY_COLUMNS if table == "cards" else set())
    if stored != expected:
        raise AssertionError(f"export of {table} is out of date: columns {sorted(stored ^ expected)}")


def _to_json(value, kind: str):
    if value is None:
        return None
    base = kind.rstrip("?")
    if base == "bool":
        return bool(value)
    if base == "float":
        return float(value)
    if base == "object":
        return json.loads(value)
    return value


def checksum(data: dict) -> str:
    """sha256 of the canonical JSON of everything but the checksum itself."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def dumps(data: dict) -> str:
    """The file's text: the header, then one record per line, so a diff shows what changed."""
    lines = ["{"]
    header = [k for k in data if k not in SECTIONS]
    for key in header:
        lines.append(f"  {json.dumps(key)}: {json.dumps(data[key], ensure_ascii=False)},")
    for i, section in enumerate(SECTIONS):
        records = data[section]
        end = "" if i == len(SECTIONS) - 1 else ","
        if not records:
            lines.append(f"  {json.dumps(section)}: []{end}")
            continue
        lines.append(f"  {json.dumps(section)}: [")
        lines += [f"    {json.dumps(r, ensure_ascii=False)}{',' if j < len(records) - 1 else ''}"
                  for j, r in enumerate(records)]
        lines.append(f"  ]{end}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_progress(store, target: str) -> dict:
    """Write the progress file to `target` (`-` for stdout); returns the counts written."""
    data = progress(store)
    write_text(target, dumps(data))
    return {section: len(data[section]) for section in SECTIONS}


def write_text(target: str, text: str | bytes) -> None:
    """Write a whole file, or nothing: a temporary file beside it is renamed into place."""
    data = text.encode() if isinstance(text, str) else text
    if target == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(target)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)      # as an ordinary new file, not mkstemp's private 0600
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


# ---------------------------------------------------------------- import


class Damaged(UsageError):
    """The file is not something import can take; nothing was written."""


def read_progress(source: str) -> dict:
    """The file's data, checked through: format, version, checksum and every value's type."""
    name = "standard input" if source == "-" else source
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{name} is a folder, not a progress file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise Damaged(f"{name} is {len(raw) / 2**20:.0f} MB, more than a progress file can be "
                      f"({MAX_FILE_BYTES // 2**20} MB); nothing was imported")
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise Damaged(f"{name} is damaged: nested too deeply; nothing was imported") from None
    except UnicodeDecodeError:
        raise Damaged(f"{name} is not a studycli progress file (not UTF-8 text); nothing was imported") from None
    except json.JSONDecodeError as exc:
        raise Damaged(f"{name} is not a studycli progress file or is damaged (invalid JSON at line {exc.lineno}, "
                      f"column {exc.colno}: {exc.msg}); nothing was imported") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise Damaged(f"{name} is not a studycli progress file (no \"format\": \"{FORMAT}\"); nothing was imported")
    version = data.get("version")
    if version != VERSION:
        raise Damaged(f"{name} is progress format version {version!r}; this studycli reads version {VERSION} only; "
                      "nothing was imported")
    if data.get("checksum") != checksum(data):
        raise Damaged(f"{name} is damaged: its checksum does not match its contents; nothing was imported")
    data.setdefault("settings", [])   # files written before settings existed hold none
    for record in data.get("states") or []:
        if isinstance(record, dict):
            record.setdefault("fsrs", None)   # ... and before FSRS was an option
    unknown = set(data) - set(SECTIONS) - {"format", "version", "checksum"}
    if unknown:
        raise Damaged(f"{name} is damaged: unknown field(s) {', '.join(sorted(unknown))}; nothing was imported")
    for section, (_, _, columns) in SECTIONS.items():
        records = data.get(section)
        if not isinstance(records, list):
            raise Damaged(f"{name} is damaged: {section!r} is missing or not a list; nothing was imported")
        for i, record in enumerate(records):
            problem = _record_problem(record, columns) or _value_problem(section, record)
            if problem:
                raise Damaged(f"{name} is damaged: {section}[{i}]{problem}; nothing was imported")
    return data


def _record_problem(record, columns: list[tuple[str, str]]) -> str | None:
    if not isinstance(record, dict):
        return " is not an object"
    names = [name for name, _ in columns]
    if set(record) != set(names):
        missing, extra = set(names) - set(record), set(record) - set(names)
        return f": {'missing ' + ', '.join(sorted(missing)) if missing else 'unknown ' + ', '.join(sorted(extra))}"
    for name, kind in columns:
        if not _is_kind(record[name], kind):
            return f".{name} = {json.dumps(record[name])[:40]} is not {KIND_WORDS[kind.rstrip('?')]}"
    return None


MAX_FILE_BYTES = 256 * 2**20
# Ranges a stored value must lie in, or a review of that card would fail later.
BOUNDS = {"ef": (1.3, 10.0), "interval": (0, 36_500), "repetitions": (0, 100_000), "lapses": (0, 100_000),
          "quality": (0, 5), "position": (0, 10_000_000), "duration_ms": (0, 10**10), "questions": (0, 10_000),
          "answered": (0, 10_000), "correct": (0, 10_000), "scaled_score": (0, 1000), "minutes": (0, 100_000),
          "seconds_used": (0, 10**8), "domain": (1, 5)}
DATE_RANGE = (date(1970, 1, 1), date(2200, 12, 31))


def _value_problem(section: str, record: dict) -> str | None:
    """A value outside what studycli could have written (an EF of Infinity, a negative interval)."""
    import math

    for name, value in record.items():
        base = name.removesuffix("_before").removesuffix("_after")
        if base in BOUNDS and value is not None:
            low, high = BOUNDS[base]
            if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
                return f".{name} = {json.dumps(value)[:40]} is outside {low}..{high}"
        if isinstance(value, str) and (name == "due" or name.startswith(("due_", "study_day"))):
            if not DATE_RANGE[0] <= date.fromisoformat(value) <= DATE_RANGE[1]:
                return f".{name} = {value} is not a plausible date"
    if section == "settings":
        from studycli import settings

        try:
            settings.parse(record["key"], record["value"])
        except UsageError as exc:
            return f": {exc}"
    return None


KIND_WORDS = {"str": "text", "int": "an integer", "float": "a number", "bool": "true or false",
              "date": "a date (YYYY-MM-DD)", "object": "an object"}


def _is_kind(value, kind: str) -> bool:
    if value is None:
        return kind.endswith("?")
    base = kind.rstrip("?")
    if base == "bool":
        return isinstance(value, bool)
    if base == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base == "date":
        try:
            return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
        except ValueError:
            return False
    if base == "object":
        return isinstance(value, dict)
    return isinstance(value, str)


def held_progress(conn) -> dict[str, int]:
    """How many answers, code submissions and exams the database holds."""
    return {name: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
            for name, table in (("answers", "reviews"), ("code submissions", "submissions"), ("exams", "exams"))}


def import_progress(store, source: str, replace: bool = False) -> dict:
    """Load a progress file into `store` in one transaction; returns the counts read.

    Refuses a database that already holds progress unless `replace`, which clears that progress
    first, in the same transaction.
    """
    from sqlalchemy import exc as sa_exc

    from studycli.store import utc_now

    data = read_progress(source)
    name = "standard input" if source == "-" else source
    with store.write() as session:
        conn = session.connection()
        held = held_progress(conn)
        if any(held.values()) and not replace:
            counts = ", ".join(f"{n} {name}" for name, n in held.items())
            raise UsageError(f"{store.path} already holds progress ({counts}); import into a new database "
                             "(study --db NEW.db import FILE) or pass --replace")
        try:
            if replace:
                for table in ("exam_answers", "exams", "submissions", "reviews"):
                    conn.exec_driver_sql(f"DELETE FROM {table}")
                conn.exec_driver_sql("UPDATE card_states SET ef = 2.5, repetitions = 0, interval = 0, due = NULL, "
                                     "lapses = 0")
            known = {r[0] for r in conn.exec_driver_sql("SELECT id FROM cards")}
            now = utc_now()
            for card in data["cards"]:
                if card["id"] in known:
                    continue
                # Not in this database's decks: kept as a retired card, with its history.
                text = json.dumps(card["data"], ensure_ascii=False)
                conn.exec_driver_sql(
                    "INSERT INTO cards (id, topic, type, data, content_hash, position, retired, added_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
                    (card["id"], card["topic"], card["type"], text, hashlib.sha256(text.encode()).hexdigest()[:16],
                     card["position"], now, now))
            for section in ("states", "reviews", "submissions", "exams", "exam_answers", "settings"):
                table, _, columns = SECTIONS[section]
                names = [n for n, _ in columns]
                verb = "INSERT OR REPLACE" if section in ("states", "settings") else "INSERT"
                sql = f"{verb} INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
                if data[section]:
                    conn.exec_driver_sql(sql, [tuple(_to_sql(r[n], k) for n, k in columns) for r in data[section]])
        except sa_exc.IntegrityError as exc:
            raise Damaged(f"{name} does not fit this database ({exc.orig}); nothing was imported") from None
    return {section: len(data[section]) for section in SECTIONS}


def _to_sql(value, kind: str):
    if value is None:
        return None
    base = kind.rstrip("?")
    if base == "bool":
        return int(value)
    if base == "float":
        return float(value)
    return value


# ---------------------------------------------------------------- Anki


ANKI_CSS = """.card { font-family: sans-serif; font-size: 20px; text-align: left; max-width: 46em; margin: auto; }
.explanation { margin-top: 1em; color: #555; font-size: 17px; }
.studycli-note { margin-top: 1em; color: #888; font-size: 15px; font-style: italic; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; }"""
PRACTISE_NOTE = {
    "numeric": "In studycli the numbers are drawn afresh every time: practise this card with <code>study review</code>.",
    "code": "A code card: write the function and have it graded in studycli with <code>study stub {id}</code>, then "
            "<code>study check {id} FILE</code>.",
}
ANKI_ROOT_DECK = "studycli"


def stable_id(*parts: str, low: int = 1 << 30, high: int = 1 << 31) -> int:
    """An id in [low, high) from a hash of `parts`: the same every export."""
    digest = int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:15], 16)
    return low + digest % (high - low)


def note_id(card_id: str) -> int:
    # Anki's own note ids are epoch milliseconds; these sit in the same range and leave room for
    # each note's cards (one per cloze gap) right after the note id.
    return stable_id("studycli-note", card_id, low=10**12, high=2 * 10**12) // 1000 * 1000


def anki_fields(card) -> tuple[str, list[str]]:
    """(note type, fields) of a card as Anki shows it: the registry's text, Markdown rendered to HTML."""
    from studycli import cardtypes

    explanation = html(card.explanation) if card.explanation else ""
    if cardtypes.kind_of(card).anki_cloze:
        return card.type, [html(card.text), explanation, card.id]
    try:
        shown = cardtypes.view(card, card.id)
    except (ImportError, StudyError):     # a numeric card whose generator cannot run here
        shown = cardtypes.View(card.question, [], [f"computed by the `{card.generator}` generator"], "")
    front = html(shown.question) + (_list(shown.options) if shown.options else "")
    front += "".join(f"<details><summary>hint {i}</summary>{html(h)}</details>"
                     for i, h in enumerate(getattr(card, "hints", []), 1))
    back = _list(shown.answer, bold=True)
    if card.type in PRACTISE_NOTE:
        front += f'<div class="studycli-note">{PRACTISE_NOTE[card.type].format(id=card.id)}</div>'
    return card.type, [front, back, explanation, card.id]


def html(markdown_text: str) -> str:
    from markdown_it import MarkdownIt   # rich's Markdown parser, already installed with it

    return MarkdownIt("commonmark").enable("table").render(markdown_text).strip()


def _escape(text: str) -> str:
    import html as html_lib

    return html_lib.escape(text, quote=False)


def _list(lines: list[str], bold: bool = False) -> str:
    cell = "<li><b>{}</b></li>" if bold else "<li>{}</li>"
    return "<ul style=\"list-style: none; padding-left: 0\">" + "".join(cell.format(_escape(x)) for x in lines) + "</ul>"


def _table(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><td>{_escape(a)}</td><td>{_escape(b)}</td></tr>" for a, b in rows) + "</table>"


def anki_models() -> dict:
    """One Anki note type per card type, with ids that never change."""
    import genanki

    answer = '{{FrontSide}}<hr id="answer">{{Back}}<div class="explanation">{{Explanation}}</div>'
    models = {}
    from studycli.cardtypes import KINDS

    for kind in (name for name, k in KINDS.items() if not k.anki_cloze):
        models[kind] = genanki.Model(
            stable_id("studycli-model", kind), f"studycli {kind}",
            fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Explanation"}, {"name": "CardId"}],
            templates=[{"name": kind, "qfmt": "{{Front}}", "afmt": answer}], css=ANKI_CSS)
    models["cloze"] = genanki.Model(
        stable_id("studycli-model", "cloze"), "studycli cloze",
        fields=[{"name": "Text"}, {"name": "Explanation"}, {"name": "CardId"}],
        templates=[{"name": "cloze", "qfmt": "{{cloze:Text}}",
                    "afmt": '{{cloze:Text}}<div class="explanation">{{Explanation}}</div>'}],
        css=ANKI_CSS, model_type=genanki.Model.CLOZE)
    return models


def anki_tags(card) -> list[str]:
    """The topic, the card type, the exam domain and the card's own tags, as Anki tags (no spaces)."""
    tags = [card.topic, f"studycli::{card.type}"]
    if card.domain:
        tags.append(f"aif-c01::domain-{card.domain}")
    tags += [t.replace(" ", "_") for t in card.tags]
    return list(dict.fromkeys(tags))


def export_anki(cards, target: str, topic: str | None = None) -> int:
    """Write every card (of `topic`) as an Anki package; returns the number of notes."""
    import genanki

    from studycli import session

    ids = session.select_cards(cards, topic)
    if hasattr(cards, "preload"):
        cards.preload(ids)

    class StableNote(genanki.Note):
        # genanki numbers notes from the export time; a fixed id per card keeps re-exports stable.
        def write_to_db(self, cursor, timestamp, deck_id, id_gen):
            return super().write_to_db(cursor, timestamp, deck_id, iter(range(self.stable_id, self.stable_id + 1000)))

    models = anki_models()
    decks: dict[str, genanki.Deck] = {}
    for card_id in ids:
        card = cards[card_id]
        kind, fields = anki_fields(card)
        deck = decks.get(card.topic)
        if deck is None:
            deck = decks[card.topic] = genanki.Deck(stable_id("studycli-deck", card.topic),
                                                    f"{ANKI_ROOT_DECK}::{card.topic}")
        note = StableNote(model=models[kind], fields=fields, tags=anki_tags(card),
                          guid=genanki.guid_for("studycli", card.id))
        note.stable_id = note_id(card.id)
        deck.add_note(note)
    if not decks:
        raise UsageError("no cards to export")
    buffer = io.BytesIO()
    genanki.Package(list(decks.values())).write_to_file(buffer)
    write_text(target, buffer.getvalue())
    return len(ids)
