"""Where things live: the built-in deck, extra decks, the database and learners' answers."""

from __future__ import annotations

import os
from pathlib import Path

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
