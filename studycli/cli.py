"""The `study` command: parse, call one function that does the work, print. Nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from studycli.errors import StudyError

app = typer.Typer(
    help="Spaced-repetition exam prep for transformers, LLM sampling and AWS generative AI.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context) -> None:
    """Spaced-repetition exam prep for transformers, LLM sampling and AWS generative AI."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


@app.command()
def lint(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Deck files or folders (default: every deck).")] = None,
) -> None:
    """Check decks for errors; print every one as FILE:LINE: message.

    Example: study lint content/self-attention.yaml
    """
    from studycli import content, paths as where, ui

    context = [where.content_dir(), *where.extra_content_dirs()]
    decks, problems = content.lint(paths or context, context)
    ui.lint_report(decks, problems)
    if problems:
        raise typer.Exit(2)


def main() -> None:
    """Entry point: run the app, turning our own errors into one line and an exit code."""
    try:
        app()
    except StudyError as exc:
        from studycli import ui

        ui.error(str(exc))
        raise SystemExit(exc.exit_code) from None
