"""Settings kept in the database: what each one means, its default, and how a typed value is read.

Plain functions over a DB-API connection, so reading a setting costs no ORM import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from studycli.errors import UsageError


def _whole_number(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError("a whole number, 0 or more")
    value = int(text)
    if value > 10_000:
        raise ValueError("at most 10000")
    return value


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise ValueError("a date as YYYY-MM-DD") from None


def _scheduler_name(text: str) -> str:
    if text.strip() not in ("sm2", "fsrs"):
        raise ValueError("sm2 or fsrs")
    return text.strip()


def _retention(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("a number from 0.7 to 0.99") from None
    if not 0.7 <= value <= 0.99:
        raise ValueError("a number from 0.7 to 0.99")
    return f"{value:g}"


def _parameters(text: str) -> str:
    import math

    try:
        values = [float(v) for v in text.split(",")] if text.strip() else []
    except ValueError:
        raise ValueError("21 comma-separated numbers (study fit-fsrs writes them), or empty") from None
    if values and (len(values) != 21 or not all(math.isfinite(v) for v in values)):
        raise ValueError("21 comma-separated numbers (study fit-fsrs writes them), or empty")
    return ",".join(repr(v) for v in values)


@dataclass(frozen=True)
class Setting:
    key: str
    default: str
    meaning: str
    read: Callable[[str], object]   # typed text -> stored value; raises ValueError saying what is allowed


SETTINGS = {s.key: s for s in (
    Setting("new-per-day", "20", "new cards introduced per day at most (study review --new overrides it once)",
            _whole_number),
    Setting("exam-date", "", "the day of your exam (YYYY-MM-DD); study plan schedules toward it", _iso_date),
    Setting("scheduler", "sm2", "sm2 (SuperMemo 2) or fsrs", _scheduler_name),
    Setting("desired-retention", "0.9", "with fsrs: the share of cards you want to recall when they come due",
            _retention),
    Setting("fsrs-parameters", "", "with fsrs: FSRS's 21 parameters fitted to your log (study fit-fsrs); "
            "empty: FSRS-6's defaults", _parameters),
)}


def parse(key: str, text: str) -> str:
    """The value to store for `key`, or a usage error that names the allowed values."""
    setting = SETTINGS.get(key)
    if setting is None:
        raise UsageError(f"no setting {key!r}; settings: {', '.join(SETTINGS)}")
    try:
        return str(setting.read(text))
    except ValueError as exc:
        raise UsageError(f"{key} must be {exc}, not {text!r}") from None


def read_all(conn) -> dict[str, str]:
    """Every setting, stored or default ('' for an unset exam date)."""
    stored = dict(conn.execute("SELECT key, value FROM settings").fetchall())
    return {key: stored.get(key, s.default) for key, s in SETTINGS.items()}


def new_per_day(conn) -> int:
    return int(read_all(conn)["new-per-day"])


def policy(conn):
    """How to schedule, from the settings: algorithm, desired retention, exam date."""
    from studycli.scheduler import Policy

    values = read_all(conn)
    exam = date.fromisoformat(values["exam-date"]) if values["exam-date"] else None
    fitted = tuple(float(v) for v in values["fsrs-parameters"].split(",")) if values["fsrs-parameters"] else None
    return Policy(values["scheduler"], float(values["desired-retention"]), exam, fitted)
