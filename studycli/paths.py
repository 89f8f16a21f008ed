"""What the environment decides: the built-in and extra decks, the database, learners' answers, the study day."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from studycli.errors import UsageError

APP_NAME = "studycli"


def content_dir() -> Path:
    """The built-in deck folder: inside the wheel when installed, else the source tree's content/."""
    package_dir = Path(__file__).resolve().parent
    installed = package_dir / "decks"
    if installed.is_dir():
        return installed
    return package_dir.parent / "content"


def extra_content_dirs(option: list[Path] | None = None) -> list[Path]:
    """Deck folders given with --content, then those in STUDYCLI_CONTENT (':'-separated)."""
    dirs = list(option or [])
    env = os.environ.get("STUDYCLI_CONTENT", "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    return dirs


def data_dir() -> Path:
    """The user data directory (platformdirs), e.g. ~/.local/share/studycli."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def deck_dirs(extra: list[Path] | None = None) -> list[Path]:
    """Every deck folder: the built-in deck, then --content, then STUDYCLI_CONTENT."""
    return [content_dir(), *extra_content_dirs(extra)]


def db_path(option: Path | None = None) -> Path:
    """The SQLite file: --db, then STUDYCLI_DB, then the user data dir's study.db."""
    if option is not None:
        return option
    env = os.environ.get("STUDYCLI_DB")
    if env:
        return Path(env)
    return data_dir() / "study.db"


def answers_dir(db: Path) -> Path:
    """Where learners' code answers are kept: beside the database, so they travel together."""
    return db.parent / "answers"


def deck_files(places: list[Path]) -> list[Path]:
    """Every *.yaml / *.yml file under the given files and folders, sorted, each once."""
    files: list[Path] = []
    for path in places:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            files.append(path)
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


def study_day() -> date:
    """STUDYCLI_TODAY (YYYY-MM-DD) when set, else the local calendar date."""
    value = os.environ.get("STUDYCLI_TODAY")
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"STUDYCLI_TODAY={value!r} is not a date; use YYYY-MM-DD") from None


@dataclass
class Places:
    """Where this run works, resolved once at the edge (the CLI's ctx.obj) and passed down:
    the database file, every deck folder, and the study day (read when first needed, so a bad
    STUDYCLI_TODAY only stops the commands that use the day)."""

    db: Path
    decks: list[Path]
    extra_decks: list[Path] = field(default_factory=list)
    db_given: bool = True        # --db or STUDYCLI_DB named it (else the user data dir's default)
    _today: date | None = None

    @property
    def today(self) -> date:
        if self._today is None:
            self._today = study_day()
        return self._today


def resolve(db_option: Path | None = None, content_option: list[Path] | None = None) -> Places:
    """The places of this run from --db / --content and the environment."""
    extra = extra_content_dirs(content_option)
    given = db_option is not None or bool(os.environ.get("STUDYCLI_DB"))
    return Places(db_path(db_option), [content_dir(), *extra], extra, given)
