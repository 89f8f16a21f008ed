"""The result of grading one file: what the CLI prints, stores and turns into an exit code."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

STATUSES = ("pass", "fail", "error", "timeout", "memory")


@dataclass
class ArrayInfo:
    """One side of a comparison: what an array looked like."""

    shape: list[int]
    dtype: str
    preview: str  # the values when small, else a summary (min, max, mean)


@dataclass
class CaseResult:
    """How the learner's function did on one case."""

    index: int
    label: str  # what the case is about: "huge logits", "batch of 2 sequences"
    inputs: str  # the call, with small arrays printed and large ones summarised
    status: str  # pass, fail, error, timeout, memory, or "not run"
    message: str = ""  # one line: why it did not pass
    expected: ArrayInfo | None = None
    got: ArrayInfo | None = None
    max_abs_error: float | None = None
    where: list[int] | None = None  # index of the largest error
    expected_at: float | None = None  # the two values at `where`
    got_at: float | None = None
    traceback: str = ""  # the learner's own frames only
    output: str = ""  # what the learner's code printed during this case (trimmed)
    duration_ms: float | None = None


@dataclass
class Verdict:
    """The grade of one file: `status` is pass, fail, error, timeout or memory."""

    check: str
    status: str
    reason: str  # one clear line
    cases: list[CaseResult] = field(default_factory=list)
    duration_ms: int = 0
    hint: str | None = None  # set when the answer matches a known mistake
    traceback: str = ""  # for a failure outside any case (import, syntax)
    output: str = ""  # the learner's printed output, trimmed to about 500 characters
    details: dict = field(default_factory=dict)  # sandbox mode, seed, limits

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def first_failure(self) -> CaseResult | None:
        return next((c for c in self.cases if c.status not in ("pass", "not run")), None)

    def to_dict(self) -> dict:
        """The verdict as plain JSON-ready data (the format of DESIGN.md)."""
        data = asdict(self)
        data["passed_cases"] = sum(c.status == "pass" for c in self.cases)
        data["total_cases"] = len(self.cases)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False, default=_jsonable)

    def feedback(self):
        """What the learner reads: the first failing case explained, with hints (rich Text)."""
        from studycli.grading import feedback

        return feedback.render(self)


def _jsonable(value):
    return str(value)
