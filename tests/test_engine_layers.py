"""engine.layers checked against the mathematical definition of each layer."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.layers import (
    causal_mask,
    embed,
    feed_forward,
    gelu,
    layer_norm,
    logits_from_hidden,
    merge_heads,
    multi_head_attention,
    qkv_heads,
    scaled_dot_product_attention,
    sinusoidal_positions,
    softmax,
    split_heads,
)

RNG = np.random.default_rng(1234)


def randn(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


finite_floats = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32)


# softmax


@settings(max_examples=50, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(1, 9)), elements=finite_floats))
def test_softmax_rows_are_distributions(x):
    p = softmax(x)
    assert p.dtype == np.float32
    assert np.all(np.isfinite(p))
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-5)


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 8), elements=st.floats(-30, 30)),
    st.floats(-1e3, 1e3),
)
def test_softmax_matches_definition_and_ignores_shifts(x, shift):
    expected = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(softmax(x), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(softmax(x + shift), expected, rtol=1e-9, atol=1e-12)


def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 1e4 - 1.0], [-1e4, -1e4, -1e4]], dtype=np.float32)
    p = softmax(x)
    assert np.all(np.isfinite(p))
    e = math.exp(-1.0)
    np.testing.assert_allclose(p[0], [1 / (1 + e), 0.0, e / (1 + e)], rtol=1e-6)
    np.testing.assert_allclose(p[1], [1 / 3] * 3, rtol=1e-6)


def test_softmax_gives_zero_to_minus_infinity():
    x = np.array([[-np.inf, 0.0, math.log(3.0)], [-np.inf, -np.inf, 5.0]], dtype=np.float32)
    p = softmax(x)
    np.testing.assert_allclose(p, [[0.0, 0.25, 0.75], [0.0, 0.0, 1.0]], rtol=1e-6)


def test_softmax_along_another_axis():
    x = randn(3, 4, 5)
    np.testing.assert_allclose(softmax(x, axis=1), np.moveaxis(softmax(np.moveaxis(x, 1, -1)), -1, 1))
    np.testing.assert_allclose(softmax(x, axis=0).sum(axis=0), 1.0, rtol=1e-6)


# layer norm


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(2, 16)), elements=st.floats(-100, 100)))
def test_layer_norm_gives_mean_zero_variance_one(x):
    assume(x.std(axis=-1).min() > 1e-3)  # a constant row has no variance to normalise
    c = x.shape[-1]
    y = layer_norm(x, np.ones(c), np.zeros(c), eps=0.0)
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=-1), 1.0, rtol=1e-9)


def test_layer_norm_uses_biased_variance_eps_gamma_and_beta():
    x, gamma, beta = randn(2, 3, 8), randn(8), randn(8)
    x64 = x.astype(np.float64)
    mu = x64.mean(-1, keepdims=True)
    biased_var = ((x64 - mu) ** 2).sum(-1, keepdims=True) / 8
    expected = (x64 - mu) / np.sqrt(biased_var + 1e-5) * gamma + beta
    y = layer_norm(x, gamma, beta)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_layer_norm_of_a_constant_row_is_beta():
    beta = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    y = layer_norm(np.full((1, 3), 7.0, np.float32), np.full(3, 5.0, np.float32), beta)
    np.testing.assert_allclose(y[0], beta)


# gelu


def gelu_by_formula(x):
    return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def test_gelu_matches_the_tanh_formula():
    x = np.linspace(-8, 8, 1001).astype(np.float32)
    expected = [gelu_by_formula(float(v)) for v in x]
    y = gelu(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_gelu_is_close_to_the_exact_erf_form_but_not_equal():
    x = np.linspace(-5, 5, 2001)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    diff = np.abs(gelu(x) - exact).max()
    assert 1e-5 < diff < 1e-3  # the tanh form is an approximation, a close one


def test_gelu_limits():
    y = gelu(np.array([0.0, 50.0, -50.0], dtype=np.float32))
    np.testing.assert_allclose(y, [0.0, 50.0, 0.0], atol=1e-6)


# causal mask and attention


@pytest.mark.parametrize("n", [1, 2, 5, 17])
def test_causal_mask_allows_only_the_past_and_present(n):
    m = causal_mask(n)
    assert m.shape == (n, n) and m.dtype == bool
    for i in range(n):
        for j in range(n):
            assert m[i, j] == (j <= i)
    assert m.sum() == n * (n + 1) // 2


def attention_by_loops(q, k, v, mask=None):
    """One query at a time, in float64, straight from the definition."""
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    out = np.zeros(q.shape[:-1] + v.shape[-1:])
    for i in range(q.shape[-2]):
        scores = np.array([q[i] @ k[j] / math.sqrt(q.shape[-1]) for j in range(k.shape[-2])])
        if mask is not None:
            scores = np.where(mask[i], scores, -np.inf)
        w = np.exp(scores - scores.max())
        out[i] = (w / w.sum()) @ v
    return out


@pytest.mark.parametrize("masked", [False, True])
def test_attention_matches_definition(masked):
    q, k, v = randn(5, 4), randn(5, 4), randn(5, 3)
    mask = causal_mask(5) if masked else None
    out = scaled_dot_product_attention(q, k, v, mask)
    assert out.shape == (5, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, attention_by_loops(q, k, v, mask), rtol=1e-5, atol=1e-6)


def test_attention_with_more_keys_than_queries_and_batch_axes():
    q, k, v = randn(2, 3, 2, 8), randn(2, 3, 6, 8), randn(2, 3, 6, 5)
    mask = causal_mask(6)[4:]  # the last two positions of six
    out = scaled_dot_product_attention(q, k, v, mask)
    assert out.shape == (2, 3, 2, 5)
    for b in range(2):
        for h in range(3):
            expected = attention_by_loops(q[b, h], k[b, h], v[b, h], mask)
            np.testing.assert_allclose(out[b, h], expected, rtol=1e-5, atol=1e-6)


def test_causal_attention_never_looks_ahead():
    q, k, v = randn(2, 7, 4), randn(2, 7, 4), randn(2, 7, 4)
    out = scaled_dot_product_attention(q, k, v, causal_mask(7))
    for t in range(7):
        k2, v2 = k.copy(), v.copy()
        k2[:, t + 1 :] += randn(2, 6 - t, 4, scale=10.0)
        v2[:, t + 1 :] += randn(2, 6 - t, 4, scale=10.0)
        out2 = scaled_dot_product_attention(q, k2, v2, causal_mask(7))
        np.testing.assert_array_equal(out2[:, : t + 1], out[:, : t + 1])
        if t < 6:
            assert not np.allclose(out2[:, t + 1 :], out[:, t + 1 :])


def test_attention_with_zero_query_averages_the_values():
    v = randn(4, 3)
    out = scaled_dot_product_attention(np.zeros((1, 2), np.float32), randn(4, 2), v)
    np.testing.assert_allclose(out[0], v.mean(axis=0), rtol=1e-5)


def test_attention_scale_is_one_over_sqrt_d():
    # two keys whose dot products with q are 0 and d: weights softmax([0, sqrt(d)])
    d = 16
    q = np.ones((1, d), np.float32)
    k = np.stack([np.zeros(d), np.ones(d)]).astype(np.float32)
    v = np.array([[0.0], [1.0]], np.float32)
    out = scaled_dot_product_attention(q, k, v)
    w = math.exp(math.sqrt(d)) / (1 + math.exp(math.sqrt(d)))
    np.testing.assert_allclose(out[0, 0], w, rtol=1e-6)


# heads


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4), st.integers(1, 4))
def test_split_merge_round_trip(b, t, n_head, d):
    x = randn(b, t, n_head * d)
    heads = split_heads(x, n_head)
    assert heads.shape == (b, n_head, t, d)
    for h in range(n_head):
        np.testing.assert_array_equal(heads[:, h], x[..., h * d : (h + 1) * d])
    np.testing.assert_array_equal(merge_heads(heads), x)


def test_split_heads_works_without_batch_axis():
    x = randn(3, 8)
    assert split_heads(x, 2).shape == (2, 3, 4)
    np.testing.assert_array_equal(merge_heads(split_heads(x, 2)), x)


def test_split_heads_rejects_an_uneven_split():
    with pytest.raises(ValueError, match="divisible"):
        split_heads(randn(3, 10), 4)


def test_qkv_heads_are_the_three_projections_cut_into_heads():
    x = randn(2, 5, 12)  # [B, T, C]
    w_qkv, b_qkv = randn(12, 36), randn(36)
    q, k, v = qkv_heads(x, w_qkv, b_qkv, n_head=3)
    projected = x.astype(np.float64) @ w_qkv + b_qkv  # [B, T, 3C]
    for i, heads in enumerate((q, k, v)):
        assert heads.shape == (2, 3, 5, 4) and heads.dtype == np.float32
        for h in range(3):
            want = projected[..., i * 12 + h * 4 : i * 12 + (h + 1) * 4]  # [B, T, D]
            np.testing.assert_allclose(heads[:, h], want, rtol=1e-5, atol=1e-5)


def mha_by_loops(x, w_qkv, b_qkv, w_out, b_out, n_head):
    t, c = x.shape
    d = c // n_head
    q, k, v = np.split(x.astype(np.float64) @ w_qkv + b_qkv, 3, axis=-1)
    heads = [
        attention_by_loops(q[:, h * d : (h + 1) * d], k[:, h * d : (h + 1) * d], v[:, h * d : (h + 1) * d], causal_mask(t))
        for h in range(n_head)
    ]
    return np.concatenate(heads, axis=-1) @ w_out + b_out


def mha_weights(c):
    return randn(c, 3 * c, scale=0.3), randn(3 * c, scale=0.1), randn(c, c, scale=0.3), randn(c, scale=0.1)


def test_multi_head_attention_matches_per_head_loops():
    x = randn(6, 8)
    w = mha_weights(8)
    out = multi_head_attention(x, *w, n_head=2)
    assert out.shape == (6, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out, mha_by_loops(x, *w, n_head=2), rtol=1e-4, atol=1e-5)


def test_multi_head_attention_batch_rows_are_independent_and_causal():
    x = randn(3, 5, 12)
    w = mha_weights(12)
    out = multi_head_attention(x, *w, n_head=3)
    for b in range(3):
        np.testing.assert_allclose(out[b], multi_head_attention(x[b], *w, n_head=3), rtol=1e-5, atol=1e-6)
    x2 = x.copy()
    x2[:, 3:] = randn(3, 2, 12)
    out2 = multi_head_attention(x2, *w, n_head=3)
    np.testing.assert_allclose(out2[:, :3], out[:, :3], rtol=1e-6, atol=1e-7)


# positions, feed-forward, embeddings, head


@pytest.mark.parametrize("n, d", [(10, 8), (50, 16), (7, 5)])
def test_sinusoidal_positions_match_the_paper(n, d):
    pe = sinusoidal_positions(n, d)
    assert pe.shape == (n, d) and pe.dtype == np.float32
    for pos in range(n):
        for i in range(d):
            angle = pos / 10000 ** ((i - i % 2) / d)
            expected = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert abs(pe[pos, i] - expected) < 1e-6


def test_sinusoidal_position_zero_is_sin0_cos0():
    pe = sinusoidal_positions(3, 6)
    np.testing.assert_array_equal(pe[0], [0, 1, 0, 1, 0, 1])


def test_feed_forward_matches_definition():
    x, w1, b1, w2, b2 = randn(2, 3, 4), randn(4, 16), randn(16), randn(16, 4), randn(4)
    hidden = x.astype(np.float64) @ w1 + b1
    expected = np.vectorize(gelu_by_formula)(hidden) @ w2 + b2
    y = feed_forward(x, w1, b1, w2, b2)
    assert y.shape == (2, 3, 4) and y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def test_embed_adds_token_and_position_rows():
    wte, wpe = randn(11, 4), randn(8, 4)
    ids = np.array([[3, 3, 10], [0, 5, 1]])
    x = embed(ids, wte, wpe)
    assert x.shape == (2, 3, 4)
    for b in range(2):
        for t in range(3):
            np.testing.assert_array_equal(x[b, t], wte[ids[b, t]] + wpe[t])
    np.testing.assert_array_equal(embed([7], wte, wpe), (wte[7] + wpe[0])[None])


def test_logits_from_hidden_are_dot_products_with_token_embeddings():
    h, wte = randn(2, 3, 4), randn(9, 4)
    logits = logits_from_hidden(h, wte)
    assert logits.shape == (2, 3, 9) and logits.dtype == np.float32
    for v in range(9):
        np.testing.assert_allclose(logits[..., v], (h * wte[v]).sum(-1), rtol=1e-5, atol=1e-6)
