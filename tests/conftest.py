"""Shared fixtures: every test gets its own database and study day; decks come from fixtures."""

from __future__ import annotations

import os

# One BLAS / OpenMP thread in the test process, set before NumPy or PyTorch load: once the
# reference tests have started PyTorch's thread pool, its spinning threads and OpenBLAS's second
# thread fight over 2 cores and one-token decoding runs 30x slower (39 s instead of 1 s).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import shlex  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from studycli import paths  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
DECKS = FIXTURES / "decks"


@pytest.fixture
def study_env(tmp_path, monkeypatch):
    """A fresh database in tmp_path, the fixture decks as the built-in deck, day 2026-01-01."""
    db = tmp_path / "study.db"
    monkeypatch.setenv("STUDYCLI_DB", str(db))
    monkeypatch.setenv("STUDYCLI_TODAY", "2026-01-01")
    monkeypatch.delenv("STUDYCLI_CONTENT", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr(paths, "content_dir", lambda: DECKS)
    return db


class Result:
    def __init__(self, code: int, stdout: str, stderr: str):
        self.exit_code, self.stdout, self.stderr = code, stdout, stderr

    def __repr__(self) -> str:
        return f"Result(exit={self.exit_code}, stdout={self.stdout[-800:]!r}, stderr={self.stderr[-800:]!r})"


@pytest.fixture
def run(study_env):
    """Run `study ARGS` in-process with `input` as piped stdin; returns exit code and output."""
    from typer.testing import CliRunner

    from studycli import cli

    def invoke(args: str | list[str], input: str | None = None) -> Result:
        argv = shlex.split(args) if isinstance(args, str) else args
        runner = CliRunner()
        code = 0
        with runner.isolation(input=input) as (out, err, *_):
            try:
                cli.main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            sys.stdout.flush()
            sys.stderr.flush()
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        return Result(code, stdout, stderr)

    return invoke
