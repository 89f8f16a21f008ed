"""The building blocks of a GPT-2 transformer, as small pure NumPy functions.

Every function works on the last axes and broadcasts over any leading batch axes. Shapes in the
comments use B for batch, T for sequence length, C for model width, H for heads, D for head width,
V for vocabulary. Scalars are Python floats (or `math.sqrt`), so float32 inputs stay float32.
"""

from __future__ import annotations

import math

import numpy as np

GELU_COEF = 0.044715  # the cubic term of GPT-2's tanh approximation of GELU


def softmax(x, axis=-1):  # [..., n] -> [..., n]
    """Probabilities along `axis`: exp(x) / sum(exp(x)), computed without overflow.

    Subtracting the maximum first leaves the result unchanged and keeps exp() in range even for
    logits of 1e4; entries of -inf become probability 0 as long as their row has a finite value.
    """
    x = np.asarray(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, gamma, beta, eps=1e-5):  # [..., C], [C], [C] -> [..., C]
    """x normalised to mean 0 and variance 1 over the last axis, then scaled by gamma and shifted by beta.

    The variance is the biased one (divide by C), as in PyTorch's LayerNorm.
    """
    mean = x.mean(axis=-1, keepdims=True)  # [..., 1]
    var = x.var(axis=-1, keepdims=True)  # [..., 1]
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def gelu(x):
    """GELU activation in GPT-2's tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    `x * x * x` rather than `x ** 3`: NumPy's float32 power is hundreds of times slower.
    """
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + GELU_COEF * x * x * x)))


def causal_mask(n):  # -> [n, n] bool
    """Boolean (n, n) mask, True where query position i may attend to key position j (j <= i)."""
    return np.tril(np.ones((n, n), dtype=bool))


def scaled_dot_product_attention(q, k, v, mask=None):  # [..., Tq, D], [..., Tk, D], [..., Tk, Dv] -> [..., Tq, Dv]
    """softmax(q k^T / sqrt(D)) v, where `mask` (True = may attend) hides the other scores."""
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])  # [..., Tq, Tk]
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    return softmax(scores) @ v  # [..., Tq, Dv]


def split_heads(x, n_head):  # [..., T, C] -> [..., H, T, C // H]
    """The last axis cut into `n_head` equal slices, one per head, heads moved before time."""
    *batch, t, c = x.shape
    if c % n_head:
        raise ValueError(f"width {c} is not divisible by {n_head} heads")
    return x.reshape(*batch, t, n_head, c // n_head).swapaxes(-3, -2)


def merge_heads(x):  # [..., H, T, D] -> [..., T, H * D]
    """The heads put back side by side along the last axis (the inverse of split_heads)."""
    *batch, h, t, d = x.shape
    return x.swapaxes(-3, -2).reshape(*batch, t, h * d)


def qkv_heads(x, w_qkv, b_qkv, n_head):  # [..., T, C] -> 3 x [..., H, T, C // H]
    """The queries, keys and values of x, each cut into `n_head` heads (GPT-2's fused c_attn).

    w_qkv is (C, 3C) in GPT-2's Conv1D layout (x @ w + b): its columns are the query, key and
    value projections, in that order.
    """
    qkv = x @ w_qkv + b_qkv  # [..., T, 3C]
    q, k, v = np.split(qkv, 3, axis=-1)  # 3 x [..., T, C]
    return split_heads(q, n_head), split_heads(k, n_head), split_heads(v, n_head)  # 3 x [..., H, T, D]


def multi_head_attention(x, w_qkv, b_qkv, w_out, b_out, n_head):  # [..., T, C] -> [..., T, C]
    """Causal self-attention with `n_head` heads; weights in GPT-2's Conv1D layout (x @ w + b)."""
    q, k, v = qkv_heads(x, w_qkv, b_qkv, n_head)  # 3 x [..., H, T, D]
    out = scaled_dot_product_attention(q, k, v, causal_mask(x.shape[-2]))  # [..., H, T, D]
    return merge_heads(out) @ w_out + b_out  # [..., T, C]


def sinusoidal_positions(n_positions, d_model):  # -> [n_positions, d_model]
    """Fixed positional encodings of "Attention Is All You Need" (float32).

    PE[pos, 2i] = sin(pos / 10000^(2i / d_model)) and PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model)).
    GPT-2 learns its positions instead (`wpe`); this is the original transformer's choice.
    """
    pos = np.arange(n_positions, dtype=np.float64)[:, None]  # [P, 1]
    two_i = np.arange(0, d_model, 2, dtype=np.float64)  # [ceil(d / 2)]
    angles = pos / 10000.0 ** (two_i / d_model)  # [P, ceil(d / 2)]
    pe = np.empty((n_positions, d_model), dtype=np.float64)
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return pe.astype(np.float32)


def feed_forward(x, w1, b1, w2, b2):  # [..., C], [C, F], [F], [F, C], [C] -> [..., C]
    """The position-wise MLP: gelu(x @ w1 + b1) @ w2 + b2 (GPT-2's c_fc then c_proj)."""
    return gelu(x @ w1 + b1) @ w2 + b2


def embed(ids, wte, wpe):  # [..., T] ints, [V, C], [P, C] -> [..., T, C]
    """Token embeddings plus learned position embeddings for positions 0 .. T-1."""
    ids = np.asarray(ids)
    return wte[ids] + wpe[: ids.shape[-1]]


def logits_from_hidden(h, wte):  # [..., C], [V, C] -> [..., V]
    """Next-token logits from hidden states, through the token embedding (GPT-2 ties the two)."""
    return h @ wte.T
