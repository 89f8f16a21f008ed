"""Errors a user can cause. The CLI turns each into one line and an exit code."""


class StudyError(Exception):
    """A problem the user can fix; `exit_code` is what the CLI exits with."""

    exit_code = 1


class UsageError(StudyError):
    """Bad arguments or input: exit 2, like click's usage errors."""

    exit_code = 2


class DeckError(UsageError):
    """One or more decks are invalid; `problems` holds every `FILE:LINE: message`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more; run `study lint`)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


class DatabaseError(UsageError):
    """The database file cannot be used as it is; it has not been modified."""
