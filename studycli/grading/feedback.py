"""Turning a verdict into feedback a learner can act on, the way a teacher would give it.

The first failing case with its inputs, what was expected against what came back, the largest
error and where it is, the learner's own traceback lines (never the grader's), a one-line hint
when the answer matches a known mistake, and at most about 500 characters of their output.
"""

from __future__ import annotations

import re

from rich.text import Text

from studycli.grading.verdict import CaseResult, Verdict

INDENT = "  "


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # escape codes from the learner's output stay inert


def render(verdict: Verdict) -> Text:
    """The feedback as rich Text (styled; `str()` of it is the plain text)."""
    text = Text()
    for line, style in _lines(verdict):
        text.append(CONTROL.sub("?", line), style=style)
        text.append("\n")
    text.rstrip()
    return text


def render_plain(verdict: Verdict) -> str:
    """The same feedback as plain text."""
    return str(render(verdict))


def _lines(verdict: Verdict):
    total = len(verdict.cases)
    if verdict.passed:
        yield f"{verdict.check}: all {total} cases pass ({verdict.duration_ms} ms).", "bold green"
        return
    yield f"{verdict.check}: {verdict.status}: {verdict.reason}", "bold red"
    case = _case_to_show(verdict)
    if case is not None:
        yield "", ""
        yield from _case_lines(case, total)
    if verdict.traceback and (case is None or not case.traceback):
        yield "", ""
        yield "Your code (only your own lines):", "bold"
        yield from _indented(verdict.traceback)
    if verdict.hint:
        yield "", ""
        yield f"Hint: {verdict.hint}", "yellow"
    if case is not None and case.output:
        yield "", ""
        yield "What your code printed during this case:", "bold"
        yield from _indented(case.output)
    elif verdict.output and (case is None or verdict.status not in ("fail",)):
        yield "", ""
        yield "What your code printed:", "bold"
        yield from _indented(verdict.output)


def _case_to_show(verdict: Verdict) -> CaseResult | None:
    """The first case that went wrong in the way the verdict is about."""
    wanted = {"fail": ("fail",), "error": ("error",), "timeout": ("timeout", "error"), "memory": ("memory", "error")}.get(verdict.status, ())
    for case in verdict.cases:
        if case.status in wanted:
            return case
    return None


def _case_lines(case: CaseResult, total: int):
    yield f"Case {case.index + 1} of {total}: {case.label}", "bold"
    yield from _indented(case.inputs)
    if case.expected is not None and case.got is not None:
        yield f"{INDENT}expected  {case.expected.dtype} {_shape(case.expected.shape)}  {case.expected.preview}", "green"
        yield f"{INDENT}got       {case.got.dtype} {_shape(case.got.shape)}  {case.got.preview}", "red"
    if case.message:
        yield f"{INDENT}{case.message}", ""
    if case.where is not None and case.where != [] or case.max_abs_error not in (None, 0.0):
        at = f" at index {list(case.where)}" if case.where else ""
        values = ""
        if case.expected_at is not None and case.got_at is not None:
            values = f" (expected {_number(case.expected_at)}, got {_number(case.got_at)})"
        error = f"largest error {_number(case.max_abs_error)}" if case.max_abs_error not in (None, 0.0) else "first difference"
        yield f"{INDENT}{error}{at}{values}", ""
    if case.traceback:
        yield "", ""
        yield "Your code (only your own lines):", "bold"
        yield from _indented(case.traceback)


MAX_LINES = 16  # of printed output or traceback shown: the head and the tail


def _indented(text: str):
    lines = str(text).rstrip().splitlines()
    if len(lines) > MAX_LINES:
        half = MAX_LINES // 2
        lines = [*lines[:half], f"[... {len(lines) - 2 * half} more lines ...]", *lines[-half:]]
    for line in lines:
        yield INDENT + line, ""


def _shape(shape) -> str:
    return "scalar" if not shape else str(tuple(shape))


def _number(x) -> str:
    if isinstance(x, bool) or isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)
