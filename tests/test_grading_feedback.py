"""Feedback that teaches: the first failing case, expected against got, where, a hint, the
learner's own traceback lines and a little of their output; and the JSON verdict."""

import json
import textwrap

import pytest

from studycli.grading import render
from studycli.grading.feedback import render_plain
from studycli.grading.runner import grade_many
from studycli.grading.verdict import STATUSES, ArrayInfo, CaseResult, Verdict

ANSWERS = {
    "no_max": """
        import numpy as np


        def softmax(x, axis=-1):
            e = np.exp(x)
            return e / e.sum(axis=axis, keepdims=True)
    """,
    "raises_in_helper": """
        import numpy as np


        def normalise(e, axis):
            return e / e.sum(axis=axis)          # no keepdims: shapes clash


        def softmax(x, axis=-1):
            return normalise(np.exp(x - x.max(axis=axis, keepdims=True)), axis)
    """,
    "chatty": """
        import numpy as np


        def softmax(x, axis=-1):
            print("debugging " * 300)
            return np.zeros_like(x)
    """,
    "not_written": None,  # the starter file itself
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    from studycli.grading import starter_file

    folder = tmp_path_factory.mktemp("answers")
    paths = []
    for name, text in ANSWERS.items():
        path = folder / f"{name}.py"
        path.write_text(starter_file("softmax") if text is None else textwrap.dedent(text).lstrip())
        paths.append(path)
    return dict(zip(ANSWERS, grade_many("softmax", paths, seed=5)))


def test_a_failure_shows_the_case_inputs_expected_got_where_and_hint(verdicts):
    verdict = verdicts["no_max"]
    text = render_plain(verdict)
    assert text.startswith("softmax: fail:")
    assert "Case 5 of 10: huge logits" in text
    assert "softmax(x=float32 (3, 3) [[1000, 1001, 1002], [-1000, 0, 1000]" in text  # small inputs in full
    assert "expected  float32 (3, 3)" in text and "got       float32 (3, 3)" in text and "nan" in text
    assert "at index [0, 0]" in text
    assert "Hint: Subtract the maximum" in text


def test_large_inputs_are_summarised_not_printed(verdicts):
    case = verdicts["no_max"].cases[1]  # a batch of rows, 2 x 3 x 7
    assert "min" in case.inputs and "max" in case.inputs and case.inputs.count(",") < 10


def test_an_exception_shows_only_the_learners_lines(verdicts):
    verdict = verdicts["raises_in_helper"]
    assert verdict.status == "error"
    text = render_plain(verdict)
    assert "raises_in_helper.py\", line 5, in normalise" in text
    assert "raises_in_helper.py\", line 9, in softmax" in text
    assert "return e / e.sum(axis=axis)" in text
    assert "ValueError: operands could not be broadcast" in text
    for grader_file in ("harness.py", "runner.py", "suites.py", "numpy"):
        assert grader_file not in verdict.cases[verdict.cases.index(verdict.first_failure)].traceback


def test_printed_output_is_cut_to_about_500_characters(verdicts):
    verdict = verdicts["chatty"]
    assert verdict.status == "fail"
    shown = verdict.first_failure.output
    assert "debugging" in shown and len(shown) <= 550
    assert "What your code printed during this case:" in render_plain(verdict)


def test_an_unwritten_starter_says_so(verdicts):
    verdict = verdicts["not_written"]
    assert verdict.status == "error"
    assert "softmax is not written yet" in verdict.reason


def test_a_pass_is_one_short_line(verdicts, tmp_path):
    path = tmp_path / "good.py"
    path.write_text("import numpy as np\n\ndef softmax(x, axis=-1):\n    e = np.exp(x - x.max(axis=axis, keepdims=True))\n    return e / e.sum(axis=axis, keepdims=True)\n")
    verdict = grade_many("softmax", [path], seed=1)[0]
    assert verdict.passed
    assert render_plain(verdict).count("\n") == 0 and "all 10 cases pass" in render_plain(verdict)


def test_render_returns_styled_text_without_markup_surprises():
    verdict = Verdict("softmax", "fail", "1 of 1 cases wrong", [
        CaseResult(0, "brackets", "softmax(x=[nan, 1.0]) [bold]not markup[/bold]", "fail", "values differ",
                   ArrayInfo([2], "float32", "[0.5, 0.5]"), ArrayInfo([2], "float32", "[nan, 1.0]")),
    ])  # fmt: skip
    text = render(verdict)
    assert "[bold]not markup[/bold]" in str(text) and "[nan, 1.0]" in str(text)


def test_json_verdict_has_the_documented_fields(verdicts):
    for verdict in verdicts.values():
        data = json.loads(verdict.to_json())
        assert data["status"] in STATUSES
        assert {"check", "status", "reason", "cases", "duration_ms", "hint", "details"} <= set(data)
        for case in data["cases"]:
            assert {"inputs", "expected", "got", "max_abs_error", "traceback", "output"} <= set(case)
    failed = json.loads(verdicts["no_max"].to_json())["cases"][4]
    assert failed["expected"]["shape"] == [3, 3] and failed["got"]["dtype"] == "float32"
    assert failed["got_at"] == "nan"  # NaN is written as text: the JSON stays valid
