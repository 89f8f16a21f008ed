"""The check registry, the starter files, and each check's suite (cases, comparators, mistakes)."""

import doctest
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import classification_head, layers, sampling
from studycli.errors import UsageError
from studycli.grading import CHECKS, UnknownCheck, check_names, get_check, starter_file
from studycli.grading.compare import allclose, same
from studycli.grading.suites import SUITES, Case, _ln_one_pass, compare_filter, compare_nucleus

ROOT = Path(__file__).resolve().parents[1]


def documented_checks() -> list[str]:
    """The check names of the table in docs/cards.md."""
    text = (ROOT / "docs" / "cards.md").read_text()
    section = text.split("## Checks", 1)[1].split("## Generators", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.M)


def test_every_documented_check_exists_with_its_signature():
    text = (ROOT / "docs" / "cards.md").read_text()
    assert check_names() == documented_checks()
    for name in check_names():
        signature = re.search(rf"^\| `{name}` \| `{name}\((.*?)\)`", text, flags=re.M).group(1)
        if signature.endswith("..."):  # train_classification_head(features, labels, ...)
            assert CHECKS[name].signature.startswith(signature[:-3])
        else:
            assert CHECKS[name].signature == signature


def test_every_check_has_a_suite():
    assert set(SUITES) == set(CHECKS)


def test_listing_checks_does_not_import_numpy():
    code = (
        "import sys; from studycli.grading import check_names, get_check, starter_file; "
        "from studycli.grading.generators import generator_names; "
        "check_names(); generator_names(); starter_file('softmax'); "
        "assert 'numpy' not in sys.modules, 'numpy imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_unknown_check_is_a_usage_error_and_a_key_error_with_a_suggestion():
    with pytest.raises(UnknownCheck) as info:
        get_check("sofmax")
    assert isinstance(info.value, UsageError) and isinstance(info.value, KeyError)
    assert "unknown check 'sofmax'" in str(info.value) and "softmax" in str(info.value)
    with pytest.raises(KeyError):
        starter_file("no_such_thing")


@pytest.mark.parametrize("name", list(CHECKS))
def test_starter_file_is_valid_python_that_raises_not_implemented(name, tmp_path):
    text = starter_file(name)
    assert "CARD-ID" in text  # the CLI puts the card id there
    namespace = {}
    exec(compile(text, f"{name}.py", "exec"), namespace)
    fn = namespace[name]
    check = CHECKS[name]
    assert check.summary in fn.__doc__ and "Example:" in fn.__doc__
    with pytest.raises(NotImplementedError):
        fn(*([None] * fn.__code__.co_argcount))


ENGINE = {
    "greedy_next": sampling.greedy,
    "train_classification_head": classification_head.train_classification_head,
    "apply_temperature": sampling.apply_temperature,
    "top_k_filter": sampling.top_k_filter,
    "top_p_filter": sampling.top_p_filter,
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_worked_example_in_the_starter_holds_for_the_engine(name):
    """The example a learner reads is checked against the answer key, as a doctest."""
    reference = ENGINE.get(name) or getattr(layers, name)
    globs = {"np": np, "math": math, name: reference}
    test = doctest.DocTestParser().get_doctest(CHECKS[name].example, globs, name, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"the worked example of {name} does not match the engine"


@pytest.mark.parametrize("name", list(SUITES))
def test_the_reference_passes_its_own_cases_for_several_seeds(name):
    suite = SUITES[name]
    for seed in (0, 1):
        for case in suite.cases(seed):
            expected = suite.expected(case, name)
            got = list(expected) if isinstance(expected, tuple) else [expected]
            assert suite.compare(case, expected, got).ok, case.label


@pytest.mark.parametrize("name", [n for n in SUITES if SUITES[n].mistakes])
def test_every_known_mistake_fails_and_is_recognised(name):
    suite = SUITES[name]
    cases = [c for c in suite.cases(2) if not c.integration]
    expected = [suite.expected(c, name) for c in cases]
    hints = set()
    for mistake in suite.mistakes:
        failures = []
        for case, want in zip(cases, expected):
            try:
                with np.errstate(all="ignore"):
                    got = [mistake.answer(*case.args, **case.kwargs)]
            except Exception:  # noqa: BLE001 - an answer that raises is an error, not a failure
                continue
            if not suite.compare(case, want, got).ok:
                failures.append((case, want, got))
        assert failures, f"no case catches the mistake: {mistake.hint}"
        hints.add(suite.recognise(failures))
    assert None not in hints


def test_cases_cover_edge_cases_and_the_engine():
    labels = {name: " / ".join(c.label for c in SUITES[name].cases(0)) for name in SUITES}
    assert "huge logits" in labels["softmax"] and "ties" in labels["softmax"]
    assert "single position" in labels["scaled_dot_product_attention"]
    assert "batch" in labels["scaled_dot_product_attention"]
    for name in ("scaled_dot_product_attention", "softmax", "layer_norm", "gelu", "embed", "multi_head_attention"):
        assert "inside a GPT-2" in labels[name], name
    for name in ("top_p_filter", "top_k_filter", "apply_temperature", "greedy_next"):
        assert "inside generate()" in labels[name], name


def test_cases_are_reproducible_from_the_seed():
    a, b = SUITES["softmax"].cases(7), SUITES["softmax"].cases(7)
    assert all(np.array_equal(x.args[0], y.args[0]) for x, y in zip(a[:4], b[:4]))
    assert not np.array_equal(a[0].args[0], SUITES["softmax"].cases(8)[0].args[0])


# Comparators, against hand-written values


def test_allclose_reports_the_largest_error_and_where():
    expected = np.array([[0.1, 0.2], [0.3, 0.4]], dtype=np.float32)
    got = np.array([[0.1, 0.2], [0.3, 0.7]])
    result = allclose(expected, got, rtol=1e-5, atol=1e-6)
    assert not result.ok and result.where == [1, 1]
    assert result.max_abs_error == pytest.approx(0.3, abs=1e-6)
    assert result.expected_at == pytest.approx(0.4) and result.got_at == pytest.approx(0.7)
    assert "1 of 4 values" in result.message


def test_allclose_accepts_float64_for_float32_and_matching_infinities():
    expected = np.array([0.5, -np.inf], dtype=np.float32)
    assert allclose(expected, np.array([0.5 + 1e-9, -np.inf]), 1e-5, 1e-6).ok
    assert not allclose(expected, np.array([0.5, 0.0]), 1e-5, 1e-6).ok


def test_allclose_checks_shape_dtype_family_and_nan():
    expected = np.ones((2, 3), dtype=np.float32)
    assert "transposed" in allclose(expected, np.ones((3, 2)), 1e-5, 1e-6).message
    assert "instead of" in allclose(expected, np.ones(6), 1e-5, 1e-6).message
    assert "bool" in allclose(np.ones(2, dtype=bool), np.ones(2), 0, 0).message
    nan = allclose(expected, np.full((2, 3), np.nan), 1e-5, 1e-6)
    assert not nan.ok and "NaN" in nan.message and nan.max_abs_error is None


def test_same_treats_nan_as_matching_nan():
    assert same(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), 1e-5, 1e-5)
    assert not same(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), 1e-5, 1e-5)


def test_top_p_comparator_accepts_any_order_of_tied_tokens():
    logits = np.zeros(4, dtype=np.float32)  # four tokens of probability 1/4; p = 0.4 keeps two
    case = Case("ties", (logits, 0.4))
    expected = sampling.top_p_filter(logits, 0.4)
    for kept in ([0, 1], [2, 3], [0, 3]):
        got = np.full(4, -np.inf, dtype=np.float32)
        got[kept] = 0.0
        assert compare_nucleus(case, expected, [got], None).ok, kept
    for kept in ([0], [0, 1, 2]):  # too few (mass 0.25 < 0.4) or too many (not the smallest set)
        got = np.full(4, -np.inf, dtype=np.float32)
        got[kept] = 0.0
        assert not compare_nucleus(case, expected, [got], None).ok, kept


def test_top_p_comparator_requires_the_crossing_token():
    logits = np.log(np.array([0.5, 0.3, 0.2])).astype(np.float32)  # p = 0.6: 0.5 < 0.6 <= 0.8
    case = Case("crossing", (logits, 0.6))
    expected = sampling.top_p_filter(logits, 0.6)
    only_first = np.array([logits[0], -np.inf, -np.inf], dtype=np.float32)
    assert not compare_nucleus(case, expected, [only_first], None).ok
    assert compare_nucleus(case, expected, [expected.copy()], None).ok


def test_filter_comparator_explains_zero_filled_and_changed_logits():
    logits = np.array([1.0, 3.0, 2.0, 0.5], dtype=np.float32)
    case = Case("k = 2", (logits, 2))
    expected = sampling.top_k_filter(logits, 2)
    zero = compare_filter(case, expected, [np.array([0.0, 3.0, 2.0, 0.0])], None)
    assert not zero.ok and "must be -inf" in zero.message
    changed = compare_filter(case, expected, [np.array([-np.inf, 3.5, 2.0, -np.inf])], None)
    assert not changed.ok and "unchanged" in changed.message


# The tolerance: it follows the conditioning of each case (compare.rounding_tolerance)

ANSWERS = ROOT / "tests" / "answers"


def load_answer(path: Path, name: str):
    """The function `name` of a trusted answer file, run in this process."""
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace[name]


def grade_in_process(name: str, fn, seed: int) -> list:
    """(case label, Comparison) of every plain and integration case of one seed."""
    from studycli.grading import harness

    suite, results = SUITES[name], []
    for case in suite.cases(seed):
        expected = suite.expected(case, name)
        with np.errstate(all="ignore"):
            got = harness.INTEGRATIONS[case.integration](fn, name, *case.args, **case.kwargs) if case.integration else fn(*case.args, **case.kwargs)
        results.append((case.label, suite.compare(case, expected, list(got) if isinstance(got, tuple) else [got])))
    return results


def log_sum_exp_softmax(x, axis=-1):  # issue 13: right and stable, and its float32 error is the inputs' own
    m = np.max(x, axis=axis, keepdims=True)
    return np.exp(x - (m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))))


def test_a_float32_log_sum_exp_softmax_passes_even_for_huge_logits():
    for seed in range(5):
        for label, result in grade_in_process("softmax", log_sum_exp_softmax, seed):
            assert result.ok, f"seed {seed}, {label}: {result.message}"


def test_a_float32_log_sum_exp_softmax_passes_where_one_huge_logit_dominates():
    """Where one probability is near 1 the softmax hardly moves with its inputs, yet the log-sum-exp
    form rounds its log-normaliser (near 1e4, so ~1e-3): the normaliser's own term M allows that."""
    x = np.array([[1e4, 1e4 - 12, 1e4 - 30], [-1e4, -1e4 - 15, 0.0]], np.float32)
    case = Case("dominant huge logit", (x,))
    suite = SUITES["softmax"]
    expected = suite.expected(case, "softmax")
    assert suite.compare(case, expected, [log_sum_exp_softmax(x)]).ok
    assert not suite.compare(case, expected, [expected * np.float32(1.01)]).ok


def test_the_allowed_error_grows_with_the_inputs_magnitude():
    """Logits near 1e4 carry ~1e-3 of rounding in float32; logits near 1, ~1e-7: the allowed error
    of the same probabilities differs by about that ratio."""
    from studycli.grading.compare import EPS32, rounding_tolerance

    small = np.array([1.0, 2.0, 0.5], np.float32)
    huge = small + np.float32(1e4)  # the same differences, so the same probabilities
    tol_small = rounding_tolerance(layers.softmax, (small,), {})
    tol_huge = rounding_tolerance(layers.softmax, (huge,), {})
    ratio = tol_huge.allowed / tol_small.allowed
    assert (ratio > 1e3).all() and (ratio < 1e5).all(), ratio
    assert (tol_small.allowed < 1e-5).all() and (tol_small.allowed > EPS32 * tol_small.center).all()


def test_masked_entries_must_be_exact_zeros_and_moves_of_values_exact():
    suite = SUITES["softmax"]
    x = np.array([[0.0, -np.inf, 1.0]], np.float32)
    case = Case("masked", (x,))
    expected = suite.expected(case, "softmax")
    nearly = expected.copy()
    nearly[0, 1] = 1e-30
    assert not suite.compare(case, expected, [nearly]).ok
    split = SUITES["split_heads"]
    case = Case("split", (np.linspace(0.1, 1.0, 16, dtype=np.float32).reshape(2, 8), 2))
    expected = split.expected(case, "split_heads")
    assert split.compare(case, expected, [expected.astype(np.float64)]).ok
    assert not split.compare(case, expected, [expected.astype(np.float16).astype(np.float32)]).ok


@pytest.mark.parametrize("name", list(CHECKS))
def test_every_valid_answer_file_passes_several_seeds_in_process(name):
    """The answer files graded in this process (they are trusted) on more seeds than the sandboxed
    run can afford: float32 alternatives must never meet an unfair tolerance."""
    files = [p for p in sorted((ANSWERS / name).glob("*.py")) if p.stem == "correct" or p.stem.startswith("alt_")]
    assert sum(p.stem.startswith("alt_") for p in files) >= 2
    for path in files:
        fn = load_answer(path, name)
        for seed in (3, 4, 5):
            for label, result in grade_in_process(name, fn, seed):
                assert result.ok, f"{path.name}, seed {seed}, {label}: {result.message}"


@pytest.mark.parametrize("name", [n for n in SUITES if SUITES[n].mistakes and not SUITES[n].exact and SUITES[n].comparator is None])
def test_known_mistakes_fail_by_far_more_than_the_tolerance(name):
    """Each mistake misses by at least 50 times the allowed error on some case: the tolerance is
    nowhere near wide enough to let one through. (A mistake of precision, such as the one-pass
    variance, misses by what float32 loses: see the test below.)"""
    suite = SUITES[name]
    for mistake in suite.mistakes:
        if mistake.answer is _ln_one_pass:
            continue
        worst = 0.0
        for case in suite.cases(2):
            if case.integration:
                continue
            expected = suite.expected(case, name)
            try:
                with np.errstate(all="ignore"):
                    wrong = np.asarray(mistake.answer(*case.args, **case.kwargs), dtype=np.float64)
            except Exception:  # noqa: BLE001
                continue
            if case.tolerance is None or wrong.shape != expected.shape:
                worst = math.inf
                continue
            with np.errstate(all="ignore"):
                miss = np.abs(wrong - case.tolerance.center) / case.tolerance.allowed
            worst = max(worst, float(np.nan_to_num(miss, nan=np.inf).max()))
        assert worst > 50, f"{mistake.hint[:60]}: misses by only {worst:.3g} times the tolerance"


def test_the_one_pass_variance_fails_for_values_far_from_zero_whatever_the_seed():
    suite = SUITES["layer_norm"]
    for seed in range(10):
        case = next(c for c in suite.cases(seed) if c.label == "values far from 0")
        expected = suite.expected(case, "layer_norm")
        result = suite.compare(case, expected, [_ln_one_pass(*case.args)])
        assert not result.ok, seed
        assert "centred values" in suite.recognise([(case, expected, [_ln_one_pass(*case.args)])])
