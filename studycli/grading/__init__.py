"""Grading learners' code against the engine, in a separate and limited process.

The API the CLI uses (nothing here imports NumPy until grading starts):

    check_names() -> list[str]                      the names code cards may use in `check:`
    get_check(name) -> Check                        UnknownCheck (a UsageError, a KeyError) if unknown
    starter_file(name) -> str                       what `study stub` writes ("CARD-ID" to fill in)
    grade(name, path, *, timeout_s=5.0, unsafe=None) -> Verdict
                                                    the verdict; AnswerFileError for a bad path,
                                                    SandboxRefused where no wall can be put up
                                                    (unsafe=True or STUDYCLI_UNSAFE_GRADING=1 opts in)
    render(verdict) -> rich Text                    the feedback a learner reads (str() for plain text)
    sandbox_report() -> str                         for `study doctor`

A Verdict has `status` (pass, fail, error, timeout, memory), `passed`, `reason` (one line),
`cases`, `hint`, `traceback`, `output`, `duration_ms`, `details` (sandbox, seed, limits) and
`to_json()`. `runner.grade_many` grades several trusted files in one child (tests, batches).
Numeric cards use `studycli.grading.generators` (GENERATORS, generate_numeric, generator_names).
"""

from studycli.grading.checks import CHECKS, Check, UnknownCheck, check_names, get_check, starter_file
from studycli.grading.verdict import CaseResult, Verdict

__all__ = [
    "CHECKS",
    "AnswerFileError",
    "SandboxRefused",
    "CaseResult",
    "Check",
    "UnknownCheck",
    "Verdict",
    "check_names",
    "get_check",
    "grade",
    "render",
    "sandbox_report",
    "starter_file",
]


def grade(check_name, path, *, timeout_s=5.0, seed=None, isolation=None, unsafe=None) -> Verdict:
    """Grades the learner's file at `path` with the check `check_name` (see runner.grade)."""
    from studycli.grading.runner import grade as run

    return run(check_name, path, timeout_s=timeout_s, seed=seed, isolation=isolation, unsafe=unsafe)


def render(verdict: Verdict) -> str:
    """The verdict as feedback a learner can act on (see feedback.render)."""
    from studycli.grading.feedback import render as text

    return text(verdict)


def sandbox_report() -> str:
    """Which isolation grading uses on this machine, for `study doctor`."""
    from studycli.grading.sandbox import report

    return report()


def __getattr__(name):
    if name in ("AnswerFileError", "SandboxRefused"):
        from studycli.grading import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
