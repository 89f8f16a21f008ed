"""engine.sampling: the warpers against hand-computed cases and their definitions, and generate()."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.model import GPT, GPTConfig
from engine.sampling import apply_temperature, generate, greedy, sample, top_k_filter, top_p_filter

TINY = GPTConfig(vocab_size=29, n_positions=16, n_embd=16, n_layer=2, n_head=2)
logit_rows = arrays(np.float32, st.integers(1, 12), elements=st.floats(-20, 20, width=32))


def kept(filtered):
    return set(np.flatnonzero(np.isfinite(filtered)).tolist())


@pytest.fixture(scope="module")
def model():
    m = GPT.init(TINY, seed=0)
    m.params["transformer.wte.weight"] *= 50  # peaked distributions, so greedy decoding is not a coin toss
    return m


# temperature


def test_temperature_divides_the_logits():
    x = np.array([1.0, -2.0, 4.0], dtype=np.float32)
    np.testing.assert_array_equal(apply_temperature(x, 2.0), [0.5, -1.0, 2.0])
    np.testing.assert_array_equal(apply_temperature(x, 1.0), x)
    assert apply_temperature(x, 0.7).dtype == np.float32


def test_low_temperature_sharpens_high_temperature_flattens():
    from engine.layers import softmax

    x = np.array([2.0, 1.0, 0.0])
    top = [softmax(apply_temperature(x, t))[0] for t in (0.25, 1.0, 4.0)]
    assert top[0] > top[1] > top[2] > 1 / 3


@pytest.mark.parametrize("t", [-1.0, 0.0, float("nan")])
def test_temperature_must_be_positive(t):
    with pytest.raises(ValueError, match="temperature"):
        apply_temperature(np.zeros(3), t)


# top-k


def test_top_k_keeps_the_k_largest():
    x = np.array([0.1, 3.0, -1.0, 2.0, 0.5], dtype=np.float32)
    y = top_k_filter(x, 2)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [-np.inf, 3.0, -np.inf, 2.0, -np.inf])
    assert kept(top_k_filter(x, 1)) == {1}


def test_top_k_keeps_ties_with_the_kth_value():
    x = np.array([1.0, 2.0, 2.0, 2.0, 0.0])
    assert kept(top_k_filter(x, 2)) == {1, 2, 3}


def test_top_k_zero_or_beyond_the_vocabulary_keeps_everything():
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]])
    np.testing.assert_array_equal(top_k_filter(x, 0), x)
    np.testing.assert_array_equal(top_k_filter(x, 3), x)
    np.testing.assert_array_equal(top_k_filter(x, 1000), x)


def test_top_k_works_row_by_row():
    x = np.array([[1.0, 2.0, 3.0], [9.0, -1.0, 5.0]])
    assert np.isfinite(top_k_filter(x, 2)).tolist() == [[False, True, True], [True, False, True]]


@pytest.mark.parametrize("k", [-1, 1.5])
def test_top_k_rejects_bad_k(k):
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(np.zeros(3), k)


@settings(max_examples=60, deadline=None)
@given(logit_rows, st.integers(1, 15))
def test_top_k_properties(x, k):
    y = top_k_filter(x, k)
    survivors = kept(y)
    assert len(survivors) >= min(k, x.size)
    np.testing.assert_array_equal(y[list(survivors)], x[list(survivors)])
    dropped = [i for i in range(x.size) if i not in survivors]
    if dropped:
        assert x[dropped].max() < x[list(survivors)].min()
        # the survivors are exactly the tokens at least as large as the k-th largest
        assert len(survivors) == np.sum(x >= np.sort(x)[-k])


# top-p


PROBS = np.log(np.array([0.05, 0.5, 0.15, 0.3]))


@pytest.mark.parametrize(
    "p, expected",
    [(0.3, {1}), (0.5001, {1, 3}), (0.7, {1, 3}), (0.85, {1, 3, 2}), (0.9, {1, 3, 2}), (0.99, {0, 1, 2, 3})],
)
def test_top_p_keeps_the_smallest_set_reaching_p(p, expected):
    assert kept(top_p_filter(PROBS, p)) == expected


def test_top_p_keeps_values_and_dtype():
    x = np.array([3.0, 1.0, 2.9, -4.0], dtype=np.float32)
    y = top_p_filter(x, 0.6)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.array([3.0, -np.inf, 2.9, -np.inf], dtype=np.float32))


def test_top_p_always_keeps_the_most_likely_token():
    x = np.array([[0.0, 0.1, 0.2], [5.0, 5.0, -1.0]])
    assert [kept(row) for row in top_p_filter(x, 1e-9)] == [{2}, {1}]


def test_top_p_one_switches_it_off_and_minus_infinity_stays():
    x = np.array([-np.inf, 1.0, 0.0, -30.0])
    np.testing.assert_array_equal(top_p_filter(x, 1.0), x)
    assert kept(top_p_filter(x, 0.999)) == {1, 2}


@pytest.mark.parametrize("p", [0.0, -0.1, 1.01, float("nan")])
def test_top_p_rejects_p_outside_0_1(p):
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(np.zeros(3), p)


@settings(max_examples=100, deadline=None)
@given(logit_rows, st.floats(0.01, 0.99))
def test_top_p_matches_its_definition(x, p):
    probs = np.exp(x.astype(np.float64) - x.max())
    probs /= probs.sum()
    order = np.argsort(-x, kind="stable")  # most likely first (by logit: tiny gaps can vanish in exp)
    before = np.concatenate([[0.0], np.cumsum(probs[order])[:-1]])  # mass of the more likely tokens
    assume(np.all(np.abs(before - p) > 1e-4))  # float32 rounding decides exact boundary cases
    assume(len(set(x.tolist())) == x.size)  # which of two tied tokens is kept is not defined
    expected = set(order[before < p].tolist())
    assert kept(top_p_filter(x, p)) == expected


# greedy and sample


def test_greedy_is_argmax_first_on_ties():
    assert greedy(np.array([1.0, 5.0, 5.0, 2.0])) == 1
    assert greedy(np.array([[0.0, 1.0], [3.0, -np.inf]])).tolist() == [1, 0]


def test_sample_follows_the_probabilities():
    probs = np.array([0.1, 0.6, 0.0, 0.3])
    with np.errstate(divide="ignore"):
        logits = np.log(probs)
    draws = sample(np.broadcast_to(logits, (40_000, 4)), np.random.default_rng(0))
    freq = np.bincount(draws, minlength=4) / draws.size
    assert freq[2] == 0  # probability 0 (logit -inf) is never drawn
    np.testing.assert_allclose(freq, probs, atol=0.01)  # ~4 standard errors


def test_sample_is_reproducible_by_seed():
    logits = np.random.default_rng(1).standard_normal((50, 10)).astype(np.float32)
    a = sample(logits, np.random.default_rng(7))
    assert a.shape == (50,)
    np.testing.assert_array_equal(a, sample(logits, np.random.default_rng(7)))
    np.testing.assert_array_equal(a, sample(logits, 7))
    assert not np.array_equal(a, sample(logits, 8))
    assert 0 <= int(sample(logits[0], 3)) < 10


# generate


def greedy_without_cache(model, ids, n):
    """nanoGPT's loop: run the whole (cropped) sequence every step and take the argmax."""
    tokens = list(ids)
    for _ in range(n):
        tokens.append(int(np.argmax(model(np.array(tokens[-model.config.n_positions :]))[-1])))
    return tokens[len(ids) :]


def test_greedy_generation_with_cache_equals_recomputing(model):
    prompt = [3, 1, 4, 1, 5]
    out = generate(model, prompt, 8, temperature=0)
    assert out == greedy_without_cache(model, prompt, 8)
    assert all(isinstance(t, int) for t in out)


def test_generation_beyond_the_context_window_slides_like_nanogpt(model):
    prompt = list(np.random.default_rng(2).integers(0, TINY.vocab_size, 20))  # longer than the window of 16
    assert generate(model, prompt, 12, temperature=0) == greedy_without_cache(model, prompt, 12)


def test_same_seed_same_tokens(model):
    kwargs = dict(temperature=1.5, top_k=10, top_p=0.95)
    a = generate(model, [1, 2], 10, seed=42, **kwargs)
    assert a == generate(model, [1, 2], 10, seed=42, **kwargs)
    assert any(generate(model, [1, 2], 10, seed=s, **kwargs) != a for s in range(43, 48))


def test_top_k_one_and_tiny_top_p_are_greedy(model):
    expected = generate(model, [7, 8], 6, temperature=0)
    assert generate(model, [7, 8], 6, temperature=3.0, top_k=1, seed=1) == expected
    assert generate(model, [7, 8], 6, temperature=3.0, top_p=1e-6, seed=1) == expected


def test_top_k_limits_what_generate_can_sample(model):
    logits = model(np.array([4, 5]))[-1]
    top2 = set(np.argsort(logits)[-2:].tolist())
    firsts = {generate(model, [4, 5], 1, temperature=5.0, top_k=2, seed=s)[0] for s in range(60)}
    assert firsts == top2


def test_stop_token_ends_generation_and_is_included(model):
    full = generate(model, [9], 10, temperature=0)
    stop = full[3]
    out = generate(model, [9], 10, temperature=0, stop=stop)
    assert out == full[: full.index(stop) + 1]
    assert generate(model, [9], 10, temperature=0, stop={stop, 10_000}) == out


def test_zero_new_tokens(model):
    assert generate(model, [1], 0) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(temperature=-0.5), "temperature"),
        (dict(top_k=-1), "top_k"),
        (dict(top_p=0.0), "top_p"),
        (dict(top_p=1.5), "top_p"),
        (dict(max_new_tokens=-1), "max_new_tokens"),
        (dict(ids=[]), "ids"),
    ],
)
def test_generate_rejects_bad_arguments(model, kwargs, message):
    args = dict(ids=[1, 2], max_new_tokens=3) | kwargs
    with pytest.raises(ValueError, match=message):
        generate(model, **args)


@pytest.mark.parametrize("name, bad, warper", [("top_k", 1.5, top_k_filter), ("top_p", 1.5, top_p_filter)])
def test_generate_refuses_a_bad_filter_argument_as_the_filter_does(model, name, bad, warper):
    with pytest.raises(ValueError, match=name) as by_warper:
        warper(np.zeros(3), bad)
    with pytest.raises(ValueError, match=name) as by_generate:
        generate(model, [1, 2], 3, **{name: bad})
    assert str(by_generate.value) == str(by_warper.value)


def test_generate_rejects_tokens_outside_the_vocabulary(model):
    with pytest.raises(ValueError, match="vocabulary"):
        generate(model, [1, TINY.vocab_size], 2)


def test_sampled_first_token_frequencies_follow_the_model(model):
    from engine.layers import softmax

    probs = softmax(model(np.array([2, 3]))[-1].astype(np.float64) / 8.0)
    rng = np.random.default_rng(0)
    counts = np.bincount(
        [generate(model, [2, 3], 1, temperature=8.0, seed=rng)[0] for _ in range(1500)], minlength=TINY.vocab_size
    )
    expected = probs * 1500
    chi2 = ((counts - expected) ** 2 / np.maximum(expected, 1e-9)).sum()
    assert chi2 < 3 * TINY.vocab_size  # expectation ~ vocab_size - 1 when the frequencies match
    assert not math.isnan(chi2)


# the data behind `study sampler`, computed with these functions


def test_sampler_stages_by_hand():
    from studycli.sampler import stages

    probs = [0.5, 0.3, 0.15, 0.05]
    data = stages(np.log(probs), labels=list("abcd"), temperature=1.0, top_k=3, top_p=0.7, top_n=3)
    assert [s["name"] for s in data["stages"]] == ["raw", "temperature", "top_k", "top_p"]
    assert [s["survivors"] for s in data["stages"]] == [4, 4, 3, 2]
    np.testing.assert_allclose([s["mass_kept"] for s in data["stages"]], [1, 1, 0.95, 0.8 / 0.95])
    assert [t["label"] for t in data["tokens"]] == ["a", "b", "c"]
    np.testing.assert_allclose(data["tokens"][0]["probs"], [0.5, 0.5, 0.5 / 0.95, 0.5 / 0.8])
    np.testing.assert_allclose(data["tokens"][2]["probs"], [0.15, 0.15, 0.15 / 0.95, 0.0])
    np.testing.assert_allclose([s["other"] for s in data["stages"]], [0.05, 0.05, 0.0, 0.0], atol=1e-12)


def test_sampler_temperature_and_greedy():
    from studycli.sampler import stages

    data = stages([1.0, 3.0, 2.0], temperature=0.5)
    probs = np.exp(np.array([1.0, 3.0, 2.0]) / 0.5)
    assert data["tokens"][0]["label"] == "#1"
    np.testing.assert_allclose(data["tokens"][0]["probs"][1], probs[1] / probs.sum())
    greedy_data = stages([1.0, 3.0, 2.0], temperature=0)
    assert [s["survivors"] for s in greedy_data["stages"]] == [3, 1, 1, 1]
    assert greedy_data["tokens"][0]["probs"][1:] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(temperature=-1), "temperature"),
        (dict(top_p=0), "top_p"),
        (dict(top_k=-2), "top_k"),
        (dict(labels=["a"]), "labels"),
        (dict(logits=[1.0, float("nan")]), "finite"),
    ],
)
def test_sampler_reports_bad_settings_as_usage_errors(kwargs, message):
    from studycli.errors import UsageError
    from studycli.sampler import stages

    args = dict(logits=[1.0, 2.0]) | kwargs
    with pytest.raises(UsageError, match=message):
        stages(**args)


def test_sampler_parses_logits_and_renders_bars():
    import json

    from rich.console import Console

    from studycli.errors import UsageError
    from studycli.sampler import demo, parse_logits
    from studycli.ui import sampler_bars as render

    assert parse_logits("2.0, 1,-0.5") == [2.0, 1.0, -0.5]
    with pytest.raises(UsageError, match="comma-separated"):
        parse_logits("1,two")
    data = demo(temperature=0.8, top_k=8, top_p=0.9)
    json.dumps(data)  # plain data, ready for --json
    console = Console(width=90, record=True, color_system=None)
    render(data, console)
    text = console.export_text()
    assert "mat" in text and "filtered" in text and "top-p 0.9" in text and "mass kept" in text


def test_generate_stream_yields_the_tokens_of_generate_and_checks_arguments_at_once(model):
    from engine.sampling import generate_stream

    kwargs = dict(temperature=0.9, top_k=5, seed=3)
    stream = generate_stream(model, [4, 2], 7, **kwargs)
    assert next(stream) == generate(model, [4, 2], 1, **kwargs)[0]
    assert [next(stream)] + list(stream) == generate(model, [4, 2], 7, **kwargs)[1:]
    with pytest.raises(ValueError, match="top_p"):
        generate_stream(model, [4, 2], 7, top_p=2.0)  # raised on the call, before any iteration
