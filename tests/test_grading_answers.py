"""Every check against real answer files: correct and alternative ones pass, realistic wrong ones fail.

The files of one check share one child process (`grade_many`), and the checks are graded two
at a time, so the whole table costs a few seconds.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from studycli.grading import CHECKS
from studycli.grading.runner import grade_many

ANSWERS = Path(__file__).parent / "answers"
SEED = 20240601

# The hint a wrong answer must get (a fragment of it); wrong answers not listed need no hint.
HINTS = {
    ("softmax", "wrong_no_max"): "Subtract the maximum",
    ("softmax", "wrong_last_axis"): "along the `axis` argument",
    ("scaled_dot_product_attention", "wrong_no_scale"): "sqrt(d_k)",
    ("scaled_dot_product_attention", "wrong_mask_after_softmax"): "before the softmax",
    ("causal_mask", "wrong_upper"): "upper triangle",
    ("causal_mask", "wrong_floats"): "booleans",
    ("causal_mask", "wrong_no_diagonal"): "diagonal",
    ("split_heads", "wrong_reshape_only"): "Reshape within each token first",
    ("merge_heads", "wrong_reshape_only"): "Swap the head and time axes first",
    ("multi_head_attention", "wrong_no_mask"): "causal mask",
    ("multi_head_attention", "wrong_scale_by_width"): "head width",
    ("sinusoidal_positions", "wrong_concatenated"): "Interleave",
    ("layer_norm", "wrong_unbiased"): "biased variance",
    ("layer_norm", "wrong_eps_outside"): "inside the square root",
    ("layer_norm", "wrong_one_pass_variance"): "centred values",
    ("gelu", "wrong_erf"): "erf",
    ("feed_forward", "wrong_relu"): "ReLU",
    ("embed", "wrong_no_positions"): "position embeddings",
    ("logits_from_hidden", "wrong_softmax"): "raw logits",
    ("apply_temperature", "wrong_multiply"): "Divide",
    ("top_k_filter", "wrong_exactly_k"): "ties",
    ("top_k_filter", "wrong_zero_fill"): "-inf",
    ("top_p_filter", "wrong_drops_crossing"): "crosses p",
    ("greedy_next", "wrong_argmin"): "largest",
    ("train_classification_head", "wrong_gradient_ascent"): "sign of the step",
    ("train_classification_head", "wrong_untrained"): "all zeros",
}


def answer_files(check: str) -> list[Path]:
    return sorted((ANSWERS / check).glob("*.py"))


@pytest.fixture(scope="module")
def verdicts():
    """{(check, file stem): verdict} for every answer file, graded with a fixed seed."""

    def grade_check(check):
        files = answer_files(check)
        return check, files, grade_many(check, files, seed=SEED)

    table = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for check, files, results in pool.map(grade_check, CHECKS):
            for path, verdict in zip(files, results):
                table[check, path.stem] = verdict
    return table


@pytest.mark.parametrize("check", list(CHECKS))
def test_each_check_has_a_correct_answer_two_valid_alternatives_and_two_wrong_ones(check):
    stems = [p.stem for p in answer_files(check)]
    assert "correct" in stems
    assert sum(s.startswith("alt_") for s in stems) >= 2
    assert sum(s.startswith("wrong_") for s in stems) >= 2


@pytest.mark.parametrize("check", list(CHECKS))
def test_correct_and_alternative_answers_pass(check, verdicts):
    for path in answer_files(check):
        if path.stem == "correct" or path.stem.startswith("alt_"):
            verdict = verdicts[check, path.stem]
            assert verdict.status == "pass", f"{path.name}: {verdict.reason}"
            assert all(c.status == "pass" for c in verdict.cases)


@pytest.mark.parametrize("check", list(CHECKS))
def test_wrong_answers_fail_with_the_right_hint(check, verdicts):
    for path in answer_files(check):
        if not path.stem.startswith("wrong_"):
            continue
        verdict = verdicts[check, path.stem]
        assert verdict.status == "fail", f"{path.name}: {verdict.status}: {verdict.reason}"
        assert verdict.first_failure is not None and verdict.first_failure.message
        expected_hint = HINTS.get((check, path.stem))
        if expected_hint:
            assert verdict.hint and expected_hint in verdict.hint, f"{path.name}: hint {verdict.hint!r}"


def test_integration_cases_catch_a_wrong_function_inside_the_model(verdicts):
    """The attention without scaling also changes the GPT's logits, not only the direct cases."""
    verdict = verdicts["scaled_dot_product_attention", "wrong_no_scale"]
    inside = [c for c in verdict.cases if c.label.startswith("inside a GPT-2")]
    assert len(inside) == 2 and all(c.status == "fail" for c in inside)
    verdict = verdicts["top_p_filter", "wrong_drops_crossing"]
    assert [c.status for c in verdict.cases if c.label == "inside generate()"] == ["fail"]


def test_classification_head_reports_the_held_out_accuracy(verdicts):
    passed = verdicts["train_classification_head", "correct"].cases[0]
    assert "held-out accuracy" in passed.message and passed.got_at >= 0.85
    failed = verdicts["train_classification_head", "wrong_untrained"].cases[0]
    assert failed.status == "fail" and failed.got_at < 0.85 and "85%" in failed.message
    transposed = verdicts["train_classification_head", "wrong_transposed"].cases[0]
    assert "transposed" in transposed.message
