"""`study doctor`: what works on this machine, one row per concern, each with its details."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from studycli import __version__, paths
from studycli.errors import StudyError


def report(places: "paths.Places") -> list[tuple[str, bool, str]]:
    """(concern, ok, details) rows; never raises for a problem it can describe."""
    rows = [("studycli", True, f"{__version__} on Python {platform.python_version()} ({sys.executable})")]
    rows.append(_database(places.db))
    rows.append(_decks(places.decks))
    rows.append(_numpy())
    rows += _sandbox()
    return rows


def _database(path: Path) -> tuple[str, bool, str]:
    from studycli.dbfile import SCHEMA_VERSION, inspect_file

    try:
        version = inspect_file(path)
    except StudyError as exc:
        return "database", False, str(exc)
    state = "not created yet" if version == 0 else f"schema {version} of {SCHEMA_VERSION}"
    return "database", True, f"{path} ({state})"


def _decks(dirs: list[Path]) -> tuple[str, bool, str]:
    from studycli import content

    decks, problems = content.lint(dirs, dirs)
    cards = sum(len(d.cards) for d in decks)
    if problems:
        return "decks", False, f"{len(problems)} problem(s); run `study lint`"
    return "decks", True, f"{len(decks)} decks, {cards} cards from {', '.join(str(d) for d in dirs)}"


def _numpy() -> tuple[str, bool, str]:
    try:
        import numpy as np
    except ImportError as exc:
        return "numpy", False, str(exc)
    return "numpy", True, np.__version__


LAYER_MEANING = {
    "user namespace": "root inside cannot lift the limits",
    "PID, network and mount namespaces": "offline; nothing a check starts outlives it",
    "landlock": "reads only the system and installed packages, writes only its work dir",
    "seccomp": "no sockets, ptrace, mount or kill(-1)",
    "cgroup": "one memory and process cap for all processes of a check",
}


def _sandbox() -> list[tuple[str, bool, str]]:
    """The grading sandbox: one summary row (not ok when grading would refuse), one row per layer."""
    from studycli.grading import sandbox

    mode, _ = sandbox.isolation()
    refused = sandbox.refusal(mode)
    # The report's own "grading sandbox:" label is the row's name here; its lines are one paragraph.
    summary = " ".join(sandbox.report().removeprefix("grading sandbox:").split())
    rows = [("grading sandbox", refused is None, summary)]
    for layer, on in sandbox.layers(mode).items():
        rows.append((f"  {layer}", on, ("on: " if on else "off: without it, not ") + LAYER_MEANING[layer]))
    return rows
