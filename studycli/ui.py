"""Everything that writes to the terminal: messages to stderr, data to stdout."""

from __future__ import annotations

import json
import os
import sys

from rich.console import Console

out = Console(highlight=False, no_color="NO_COLOR" in os.environ or None)
err = Console(stderr=True, highlight=False, no_color="NO_COLOR" in os.environ or None)


def error(message: str) -> None:
    """One clear line on stderr."""
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)


def note(message: str) -> None:
    err.print(message, soft_wrap=True)


def emit_json(data) -> None:
    """Data for scripts: plain JSON on stdout, no colour, no wrapping."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def lint_report(decks, problems: list[str]) -> None:
    for problem in problems:
        out.print(problem, markup=False, soft_wrap=True)
    cards = sum(len(d.cards) for d in decks)
    if problems:
        note(f"{len(problems)} problem(s) in {len(decks)} deck(s)")
    else:
        note(f"ok: {len(decks)} deck(s), {cards} card(s)")
