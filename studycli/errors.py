"""Errors a user can cause. `cli.main` prints each as one line and exits with its code,
so nothing below the CLI calls `sys.exit`."""


class StudyError(Exception):
    """A problem the user can fix; `exit_code` is what the command exits with."""

    exit_code = 1


class UsageError(StudyError):
    """Bad arguments or input: exit 2, like click's own usage errors."""

    exit_code = 2


class DeckError(UsageError):
    """One or more decks are invalid; `problems` holds every `FILE:LINE: message`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more; run `study lint`)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


class DatabaseError(UsageError):
    """The database file cannot be used as it is; it has not been modified."""
