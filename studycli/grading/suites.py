"""What each check runs: its cases, the engine's reference, how answers are compared, known mistakes.

Loaded only when grading (it imports NumPy and the engine). Every suite draws seeded random cases
and adds fixed edge cases (huge logits, length-1 sequences, batch axes, ties); most also plug the
learner's function into a small GPT-2 from `engine.model` (the same logits) or into
`engine.sampling.generate` (the same tokens for the same seed). A known mistake is a wrong
version of the function: when the learner's output matches it on every failing case, its hint
says what went wrong, in a teacher's words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from engine import classification_head, layers, sampling
from studycli.grading import harness
from studycli.grading.checks import HEAD_ACCURACY
from studycli.grading.compare import Comparison, Tolerance, allclose, check_form, rounding_tolerance, same, within

F32 = np.float32
NEG_INF = -np.inf


@dataclass
class Case:
    """One call of the learner's function (or one integration run)."""

    label: str  # what the case is about, for the feedback
    args: tuple  # positional values: arrays or plain Python scalars
    kwargs: dict = field(default_factory=dict)
    integration: str | None = None  # a procedure of harness.INTEGRATIONS, or None for a plain call
    summary: str | None = None  # how to show the inputs, when printing them would not help
    secret: dict = field(default_factory=dict)  # parent-only data (held-out examples): never sent
    tolerance: Tolerance | None = None  # parent-only: set with the expected answer (compare.rounding_tolerance)


@dataclass(frozen=True)
class Mistake:
    hint: str
    answer: Callable  # the mistaken function, with the learner's signature


@dataclass
class Suite:
    """The numeric side of one check."""

    reference: Callable  # the engine's function: the answer key
    make_cases: Callable[[np.random.Generator], list]
    mistakes: tuple = ()
    exact: bool = False  # the answer only moves or compares values (no arithmetic): it must be exact
    magnitude: Callable | None = None  # (*args, **kwargs) -> M, the intermediate terms' magnitudes (compare.py)
    comparator: Callable | None = None  # (case, expected, got, suite) -> Comparison; default: within the tolerance
    diagnose: Callable | None = None  # (case, expected, got) -> hint or None, for what no Mistake shows

    def cases(self, seed: int) -> list[Case]:
        return self.make_cases(np.random.default_rng(seed))

    def expected(self, case: Case, name: str):
        """The engine's answer for `case`; also sets `case.tolerance` for a float answer."""
        if case.integration:
            value = harness.INTEGRATIONS[case.integration](None, name, *case.args, **case.kwargs)
        else:
            value = self.reference(*case.args, **case.kwargs)
        self.tolerance(case, value)
        return value

    def tolerance(self, case: Case, value) -> Tolerance | None:
        """How far a float answer to `case` may be from the exact one (compare.rounding_tolerance)."""
        if case.tolerance is not None or not case.integration and (self.exact or self.comparator):
            return case.tolerance
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            return None  # integers, booleans (tokens, masks): compared exactly
        if case.integration:
            procedure = harness.INTEGRATIONS[case.integration]
            model = lambda *args, **kwargs: procedure(None, "", *args, **kwargs)  # noqa: E731 - the engine's own functions
            case.tolerance = rounding_tolerance(model, case.args, case.kwargs)  # float64 weights: a float64 GPT
        else:
            terms = self.magnitude(*case.args, **case.kwargs) if self.magnitude else None
            case.tolerance = rounding_tolerance(self.reference, case.args, case.kwargs, magnitude=terms)
        return case.tolerance

    def compare(self, case: Case, expected, got) -> Comparison:
        if case.integration or self.comparator is None:
            tolerance = self.tolerance(case, expected)
            if tolerance is None:
                return allclose(expected, got[0], 0.0, 0.0)
            return within(tolerance, got[0])
        return self.comparator(case, expected, got, self)

    def recognise(self, failures: list[tuple[Case, Any, list]]) -> str | None:
        """The hint of the first known mistake that explains every failing plain case."""
        plain = [(case, expected, got) for case, expected, got in failures if not case.integration and got is not None]
        if not plain:
            return None
        for mistake in self.mistakes:
            if all(_matches(mistake, case, expected, got, self) for case, expected, got in plain):
                return mistake.hint
        if self.diagnose is not None:
            for case, expected, got in plain:
                hint = self.diagnose(case, expected, got)
                if hint:
                    return hint
        return None


def _matches(mistake: Mistake, case: Case, expected, got: list, suite: Suite) -> bool:
    """True when the learner's failing answer to `case` is the mistake's, and the mistake is wrong
    there too (a mistake that gets this case right cannot explain why the answer does not)."""
    try:
        with np.errstate(all="ignore"):
            wrong = mistake.answer(*case.args, **case.kwargs)
            if len(got) != 1 or suite.compare(case, expected, [wrong]).ok:
                return False
    except Exception:  # noqa: BLE001 - a mistaken answer may well raise on some inputs
        return False
    # the learner's version of the mistake and ours round differently: twice the case's tolerance
    allowed = 0.0
    if case.tolerance is not None:
        allowed = 2 * case.tolerance.allowed
        allowed = allowed if np.shape(got[0]) == allowed.shape else allowed.max(initial=0.0)
    return same(wrong, got[0], rtol=MISTAKE_RTOL, atol=MISTAKE_ATOL + allowed)


MISTAKE_RTOL = 1e-5  # a mistake's output is matched a little more loosely than a right answer
MISTAKE_ATOL = 1e-5


# Helpers for building cases


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(F32)


GPT_CONFIG = {"vocab_size": 64, "n_positions": 16, "n_embd": 32, "n_layer": 2, "n_head": 4}


def gpt_params(rng) -> dict:
    """A small GPT-2's parameters, with weights large enough for attention to be far from uniform
    and non-trivial biases and layer-norm weights, so that every part of the model matters."""
    from engine.model import GPTConfig, parameter_shapes

    params = {}
    for name, shape in parameter_shapes(GPTConfig(**GPT_CONFIG)).items():
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            params[name] = 1.0 + randn(rng, *shape, scale=0.1)
        elif name.endswith(".bias"):
            params[name] = randn(rng, *shape, scale=0.1)
        else:
            params[name] = randn(rng, *shape, scale=0.2)
    return params


def gpt_case(rng, what: str, split: bool = False) -> Case:
    """Your function inside every layer of a small GPT-2: its logits must match the engine's."""
    ids = rng.integers(0, GPT_CONFIG["vocab_size"], size=8)
    cfg = GPT_CONFIG
    how = "fed in two pieces through the KV cache" if split else "in one pass"
    summary = (
        f"a GPT-2 with {cfg['n_layer']} layers, width {cfg['n_embd']}, {cfg['n_head']} heads, "
        f"vocabulary {cfg['vocab_size']}, using your {what}; token ids {ids.tolist()} {how}"
    )
    return Case(
        f"inside a GPT-2 ({how})",
        (dict(cfg), gpt_params(rng), ids),
        {"split": 5 if split else 0},
        integration="gpt_logits",
        summary=summary,
    )


def generate_case(rng, what: str, **options) -> Case:
    """Your sampling step inside `generate`: the same seed must give the same tokens."""
    params = gpt_params(rng)
    params["transformer.wte.weight"] *= 2.0  # larger logits: a peaked distribution, where filters matter
    prompt = rng.integers(0, GPT_CONFIG["vocab_size"], size=4)
    options = {"max_new_tokens": 12, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": int(rng.integers(1 << 30)), **options}
    shown = ", ".join(f"{k}={v}" for k, v in options.items() if k != "seed")
    summary = f"generate() on a small GPT-2 using your {what}: prompt {prompt.tolist()}, {shown}, seed {options['seed']}"
    return Case("inside generate()", (dict(GPT_CONFIG), params, prompt, options), integration="gpt_generate", summary=summary)


# softmax


def softmax_cases(rng):
    return [
        Case("a vector of logits", (randn(rng, 6, scale=2.0),)),
        Case("a batch of rows", (randn(rng, 2, 3, 7, scale=3.0),)),
        Case("axis=0 of a matrix", (randn(rng, 4, 3),), {"axis": 0}),
        Case("axis=1 of a 3-D array", (randn(rng, 2, 5, 3),), {"axis": 1}),
        Case("huge logits", (np.array([[1000, 1001, 1002], [-1000, 0, 1000], [1e4, 1e4 - 1, -1e4]], F32),)),
        Case("rows on very different scales", (np.array([[0, 1, 2], [-1000, -999, -1001]], F32),)),
        Case("one logit per row", (np.array([[3.5], [-2.0]], F32),)),
        Case("ties: all logits equal", (np.full((2, 5), 7.25, F32),)),
        Case("masked (-inf) entries", (np.array([[0, NEG_INF, math.log(3.0)], [NEG_INF, NEG_INF, 5]], F32),)),
        gpt_case(rng, "softmax (in every attention layer)"),
    ]


def _softmax_terms(x, axis=-1):
    """M of a softmax: y_i (|x_i| + max |x|), as exp(x_i - log-normaliser) is relatively off by the
    rounding of x_i and of the log-normaliser (about the largest logit), whichever shift is used."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    size = np.where(finite, np.abs(x), 0.0)
    return layers.softmax(x, axis=axis) * (size + size.max(axis=axis, keepdims=True))


def _softmax_no_max(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_global_max(x, axis=-1):
    e = np.exp(x - np.max(x))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_last_axis(x, axis=-1):
    return layers.softmax(x, axis=-1)


def _softmax_total(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum()


SOFTMAX = Suite(
    layers.softmax,
    softmax_cases,
    (
        Mistake(
            "Subtract the maximum along `axis` before np.exp: exp(1000) overflows to inf and inf / inf "
            "is NaN, while softmax(x - c) == softmax(x) for any constant c.",
            _softmax_no_max,
        ),
        Mistake(
            "Subtract each slice's own maximum (x.max(axis=axis, keepdims=True)), not the maximum of the "
            "whole array: a row far below it underflows to 0 / 0.",
            _softmax_global_max,
        ),
        Mistake("Normalise along the `axis` argument, not always along the last axis.", _softmax_last_axis),
        Mistake(
            "Divide by the sum along `axis` (with keepdims=True), not by the sum of the whole array: "
            "each slice must sum to 1 on its own.",
            _softmax_total,
        ),
    ),
    magnitude=_softmax_terms,
)


# scaled_dot_product_attention


def _qkv(rng, *shape_q, n_k=None, d_v=None, scale=1.0):
    *batch, n_q, d = shape_q
    n_k = n_q if n_k is None else n_k
    d_v = d if d_v is None else d_v
    return (randn(rng, *batch, n_q, d, scale=scale), randn(rng, *batch, n_k, d, scale=scale), randn(rng, *batch, n_k, d_v))


def _random_mask(rng, *shape):
    mask = rng.random(shape) < 0.6
    mask[..., 0] = True  # every query may attend to at least one key
    return mask


def attention_cases(rng):
    return [
        Case("one head, no mask", _qkv(rng, 4, 8, n_k=6, d_v=5)),
        Case("a causal mask", (*_qkv(rng, 5, 4), layers.causal_mask(5))),
        Case("batch and head axes, causal mask", (*_qkv(rng, 2, 3, 5, 8), layers.causal_mask(5))),
        Case("a single position", (*_qkv(rng, 1, 4, d_v=3), np.ones((1, 1), dtype=bool))),
        Case("large scores", _qkv(rng, 3, 16, scale=30.0)),
        Case("a different mask for each example", (*_qkv(rng, 2, 3, 4, n_k=5, d_v=2), _random_mask(rng, 2, 3, 5))),
        Case("more keys than queries (as with a KV cache)", (*_qkv(rng, 2, 8, n_k=7), layers.causal_mask(7)[5:])),
        gpt_case(rng, "attention (in every layer)"),
        gpt_case(rng, "attention (in every layer)", split=True),
    ]


def _attention_terms(q, k, v, mask=None):
    """M of attention: the softmax's terms (see _softmax_terms) for the scores, carried through the
    weighted sum of the values: (P * (|S| + max |S|)) @ |v|."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, NEG_INF)
    return _softmax_terms(scores) @ np.abs(v)


def _scores(q, k, scale):
    return q @ k.swapaxes(-1, -2) / scale


def _attn_no_scale(q, k, v, mask=None):
    s = _scores(q, k, 1.0)
    return layers.softmax(s if mask is None else np.where(mask, s, NEG_INF)) @ v


def _attn_by_dk(q, k, v, mask=None):
    s = _scores(q, k, q.shape[-1])
    return layers.softmax(s if mask is None else np.where(mask, s, NEG_INF)) @ v


def _attn_mask_after(q, k, v, mask=None):
    w = layers.softmax(_scores(q, k, math.sqrt(q.shape[-1])))
    return (w if mask is None else np.where(mask, w, 0.0)) @ v


def _attn_mask_inverted(q, k, v, mask=None):
    s = _scores(q, k, math.sqrt(q.shape[-1]))
    return layers.softmax(s if mask is None else np.where(mask, NEG_INF, s)) @ v


def _attn_wrong_axis(q, k, v, mask=None):
    s = _scores(q, k, math.sqrt(q.shape[-1]))
    return layers.softmax(s if mask is None else np.where(mask, s, NEG_INF), axis=-2) @ v


ATTENTION = Suite(
    layers.scaled_dot_product_attention,
    attention_cases,
    (
        Mistake(
            "Divide the scores q @ kᵀ by sqrt(d_k) (d_k = q.shape[-1]) before the softmax: without it, "
            "large dot products push the softmax towards one-hot weights.",
            _attn_no_scale,
        ),
        Mistake("Divide the scores by the square root of d_k, not by d_k itself.", _attn_by_dk),
        Mistake(
            "Apply the mask to the scores before the softmax (np.where(mask, scores, -np.inf)); zeroing "
            "weights after it leaves rows that no longer sum to 1.",
            _attn_mask_after,
        ),
        Mistake(
            "The mask is True where attending is allowed: keep the scores where it is True and set the "
            "others to -inf.",
            _attn_mask_inverted,
        ),
        Mistake(
            "Take the softmax over the keys (the last axis of the scores), so that each query's weights sum to 1.",
            _attn_wrong_axis,
        ),
    ),
    magnitude=_attention_terms,
)


# causal_mask


def mask_cases(rng):
    return [
        *(Case(f"n = {n}", (n,)) for n in (1, 2, 3, 5, 8, 16)),
        gpt_case(rng, "causal mask (in every layer)"),
        gpt_case(rng, "causal mask (in every layer)", split=True),
    ]


CAUSAL_MASK = Suite(
    layers.causal_mask,
    mask_cases,
    (
        Mistake("That is the upper triangle, the future: position i may attend to j <= i (np.tril).", lambda n: np.triu(np.ones((n, n), dtype=bool), k=1)),
        Mistake("Include the diagonal: a position may attend to itself (j <= i, not j < i).", lambda n: np.tril(np.ones((n, n), dtype=bool), k=-1)),
        Mistake("Transposed: row i is the query and column j the key, so row i is True up to column i (np.tril, not np.triu).", lambda n: np.triu(np.ones((n, n), dtype=bool))),
        Mistake("Return booleans, not 0/1 numbers: np.tril(np.ones((n, n), dtype=bool)).", lambda n: np.tril(np.ones((n, n)))),
        Mistake(
            "This card's mask is boolean, True where attending is allowed; an additive mask of 0 and -inf "
            "is the other convention.",
            lambda n: np.where(np.tril(np.ones((n, n), dtype=bool)), 0.0, NEG_INF),
        ),
    ),
)


# split_heads and merge_heads


def split_cases(rng):
    return [
        Case("4 tokens of width 8, 2 heads", (randn(rng, 4, 8), 2)),
        Case("a batch, 3 heads", (randn(rng, 2, 5, 12), 3)),
        Case("one head", (randn(rng, 3, 6), 1)),
        Case("a single token", (randn(rng, 1, 8), 4)),
        Case("two batch axes", (randn(rng, 2, 3, 4, 8), 4)),
        Case("heads of width 1", (randn(rng, 5, 4), 4)),
        gpt_case(rng, "split_heads (in every layer)"),
        gpt_case(rng, "split_heads (in every layer)", split=True),
    ]


def _split_straight(x, n_head):
    *batch, t, c = x.shape
    return x.reshape(*batch, n_head, t, c // n_head)


def _split_no_swap(x, n_head):
    *batch, t, c = x.shape
    return x.reshape(*batch, t, n_head, c // n_head)


def _split_interleaved(x, n_head):
    *batch, t, c = x.shape
    return np.moveaxis(x.reshape(*batch, t, c // n_head, n_head), -1, -3)


SPLIT_HEADS = Suite(
    layers.split_heads,
    split_cases,
    (
        Mistake(
            "Reshape within each token first, (..., T, C) -> (..., T, n_head, D), then swap the T and head "
            "axes; reshaping straight to (..., n_head, T, D) fills each head with whole tokens.",
            _split_straight,
        ),
        Mistake("Move the head axis in front of the time axis: (..., T, n_head, D) -> (..., n_head, T, D) with swapaxes(-3, -2).", _split_no_swap),
        Mistake("Head h holds the contiguous columns h*D .. (h+1)*D - 1, not every n_head-th column.", _split_interleaved),
    ),
    exact=True,
)


def merge_cases(rng):
    return [
        Case("2 heads, 4 tokens", (randn(rng, 2, 4, 3),)),
        Case("a batch of 3 heads", (randn(rng, 2, 3, 5, 4),)),
        Case("one head", (randn(rng, 1, 6, 8),)),
        Case("a single token", (randn(rng, 4, 1, 2),)),
        Case("two batch axes", (randn(rng, 2, 2, 2, 3, 2),)),
        gpt_case(rng, "merge_heads (in every layer)"),
        gpt_case(rng, "merge_heads (in every layer)", split=True),
    ]


def _merge_straight(x):
    *batch, h, t, d = x.shape
    return x.reshape(*batch, t, h * d)


def _merge_interleaved(x):
    *batch, h, t, d = x.shape
    return np.moveaxis(x, -3, -1).reshape(*batch, t, h * d)


MERGE_HEADS = Suite(
    layers.merge_heads,
    merge_cases,
    (
        Mistake(
            "Swap the head and time axes first, (..., n_head, T, D) -> (..., T, n_head, D), then reshape; "
            "reshaping straight away mixes tokens and heads.",
            _merge_straight,
        ),
        Mistake("Put each head's D values side by side (head 0's first, then head 1's), not interleaved value by value.", _merge_interleaved),
    ),
    exact=True,
)


# multi_head_attention


def _mha_args(rng, *shape_x, n_head):
    c = shape_x[-1]
    return (
        randn(rng, *shape_x),
        randn(rng, c, 3 * c, scale=0.5),
        randn(rng, 3 * c, scale=0.1),
        randn(rng, c, c, scale=0.5),
        randn(rng, c, scale=0.1),
        n_head,
    )


def mha_cases(rng):
    return [
        Case("5 tokens of width 8, 2 heads", _mha_args(rng, 5, 8, n_head=2)),
        Case("a batch, 3 heads", _mha_args(rng, 2, 4, 12, n_head=3)),
        Case("a single token", _mha_args(rng, 1, 8, n_head=4)),
        Case("one head", _mha_args(rng, 6, 6, n_head=1)),
        Case("heads of width 1", _mha_args(rng, 3, 4, n_head=4)),
        gpt_case(rng, "multi_head_attention (in every layer)"),
    ]


def _mha_terms(x, w_qkv, b_qkv, w_out, b_out, n_head):
    """M of multi-head attention: each head's attention terms, merged, through |w_out|."""
    x = np.asarray(x, dtype=np.float64)
    q, k, v = (layers.split_heads(a, n_head) for a in np.split(x @ w_qkv + b_qkv, 3, axis=-1))
    return layers.merge_heads(_attention_terms(q, k, v, layers.causal_mask(x.shape[-2]))) @ np.abs(w_out)


def _mha_variant(x, w_qkv, b_qkv, w_out, b_out, n_head, *, causal=True, order=(0, 1, 2), heads=True, project=True, scale_width=False):
    parts = np.split(x @ w_qkv + b_qkv, 3, axis=-1)
    q, k, v = (parts[i] for i in order)
    h = n_head if heads else 1
    q, k, v = (layers.split_heads(a, h) for a in (q, k, v))
    if scale_width:  # scores divided by sqrt(C) instead of sqrt(C // n_head)
        q = q * (math.sqrt(q.shape[-1]) / math.sqrt(x.shape[-1]))
    mask = layers.causal_mask(x.shape[-2]) if causal else None
    out = layers.merge_heads(layers.scaled_dot_product_attention(q, k, v, mask))
    return out @ w_out + b_out if project else out


MULTI_HEAD_ATTENTION = Suite(
    layers.multi_head_attention,
    mha_cases,
    (
        Mistake("Use a causal mask (causal_mask(T)) in every head: without it each token sees the future.", lambda *a: _mha_variant(*a, causal=False)),
        Mistake("The columns of w_qkv are the query, then the key, then the value projection: split them in that order.", lambda *a: _mha_variant(*a, order=(1, 0, 2))),
        Mistake("The columns of w_qkv are the query, then the key, then the value projection: split them in that order.", lambda *a: _mha_variant(*a, order=(2, 1, 0))),
        Mistake(
            "Split q, k and v into n_head heads and attend in each head separately (scaling by sqrt of the "
            "head width, C // n_head), then merge them.",
            lambda *a: _mha_variant(*a, heads=False),
        ),
        Mistake("Finish with the output projection: merge_heads(...) @ w_out + b_out.", lambda *a: _mha_variant(*a, project=False)),
        Mistake(
            "Scale each head's scores by the square root of the head width, C // n_head (q.shape[-1] after "
            "splitting), not of the model width C.",
            lambda *a: _mha_variant(*a, scale_width=True),
        ),
    ),
    magnitude=_mha_terms,
)


# sinusoidal_positions


def positions_cases(rng):
    return [Case(f"{n} position{'s' * (n != 1)}, d_model = {d}", (n, d))
            for n, d in ((1, 4), (8, 16), (3, 2), (50, 64), (6, 7), (128, 10))]


def _positions_from(angles_for, n, d, layout="interleaved"):
    pos = np.arange(n, dtype=np.float64)[:, None]
    half = (d + 1) // 2
    s, c = np.sin(angles_for(pos, np.arange(half), d)), np.cos(angles_for(pos, np.arange(half), d))
    pe = np.empty((n, d))
    if layout == "interleaved":
        pe[:, 0::2], pe[:, 1::2] = s, c[:, : d // 2]
    elif layout == "swapped":
        pe[:, 0::2], pe[:, 1::2] = c, s[:, : d // 2]
    else:  # all sines, then all cosines
        pe[:, :half], pe[:, half:] = s, c[:, : d - half]
    return pe.astype(F32)


def _positions_per_column(n, d):
    pos, col = np.arange(n, dtype=np.float64)[:, None], np.arange(d)
    angles = pos / 10000.0 ** (col / d)
    return np.where(col % 2 == 0, np.sin(angles), np.cos(angles)).astype(F32)


def _angles(pos, i, d):
    return pos / 10000.0 ** (2 * i / d)


def _position_angles(n, d):
    """M of a sinusoidal encoding: the angle whose sine or cosine each value is (float32 rounds the
    angle, and sin moves by as much as its argument's error)."""
    return np.abs(_angles(np.arange(n, dtype=np.float64)[:, None], np.arange(d) // 2, d))


SINUSOIDAL_POSITIONS = Suite(
    layers.sinusoidal_positions,
    positions_cases,
    (
        Mistake(
            "Interleave the two: even columns hold the sines and odd columns the cosines (PE[pos, 2i] and "
            "PE[pos, 2i+1]), not all sines followed by all cosines.",
            lambda n, d: _positions_from(_angles, n, d, layout="blocks"),
        ),
        Mistake("Sines go in the even columns (2i) and cosines in the odd ones (2i + 1).", lambda n, d: _positions_from(_angles, n, d, layout="swapped")),
        Mistake(
            "The exponent is 2i / d_model, where 2i is the even column index of the pair: both columns of a "
            "pair share one frequency.",
            lambda n, d: _positions_from(lambda pos, i, d: pos / 10000.0 ** (i / d), n, d),
        ),
        Mistake(
            "The exponent is 2i / d_model for both columns of a pair: column 2i + 1 (a cosine) uses the same "
            "frequency as column 2i, not (2i + 1) / d_model.",
            _positions_per_column,
        ),
        Mistake("Positions count from 0: the first row is sin(0) = 0 and cos(0) = 1.", lambda n, d: _positions_from(lambda pos, i, d: _angles(pos + 1, i, d), n, d)),
    ),
    magnitude=_position_angles,
)


# layer_norm


def _ln_args(rng, *shape, offset=0.0):
    d = shape[-1]
    return randn(rng, *shape, scale=2.0) + F32(offset), 1.0 + randn(rng, d, scale=0.3), randn(rng, d, scale=0.5)


def layer_norm_cases(rng):
    d = 8
    flat = (F32(1.5) + randn(rng, 3, d, scale=1e-3), 1.0 + randn(rng, d, scale=0.3), randn(rng, d, scale=0.5))
    return [
        Case("a few tokens", _ln_args(rng, 4, 8)),
        Case("batch axes", _ln_args(rng, 2, 3, 16)),
        Case("a single token", _ln_args(rng, 1, 8)),
        Case("nearly constant vectors, eps = 1e-3", flat, {"eps": 1e-3}),
        Case("constant vectors", (np.full((2, 6), 3.0, F32), 1.0 + randn(rng, 6, scale=0.3), randn(rng, 6, scale=0.5))),
        Case("values far from 0", _ln_args(rng, 3, 8, offset=100.0)),
        gpt_case(rng, "layer_norm (in every layer)"),
    ]


def _ln_variant(x, gamma, beta, eps=1e-5, *, ddof=0, eps_inside=True, affine=True, axis=-1, own_eps=True):
    eps = eps if own_eps else 1e-5
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    y = (x - mean) / (np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps)
    return y * gamma + beta if affine else y


def _ln_one_pass(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = (x * x).mean(axis=-1, keepdims=True) - mean * mean  # in the inputs' float32: cancels
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


LAYER_NORM = Suite(
    layers.layer_norm,
    layer_norm_cases,
    (
        Mistake("Use the biased variance (divide by d, np.var's default ddof=0), as GPT-2 and PyTorch do.", lambda *a, **k: _ln_variant(*a, **k, ddof=1)),
        Mistake("Add eps inside the square root: (x - mean) / sqrt(var + eps).", lambda *a, **k: _ln_variant(*a, **k, eps_inside=False)),
        Mistake("After normalising, scale by gamma and shift by beta.", lambda *a, **k: _ln_variant(*a, **k, affine=False)),
        Mistake("Normalise each vector over its own features: the mean and variance along the last axis (axis=-1, keepdims=True).", lambda *a, **k: _ln_variant(*a, **k, axis=None)),
        Mistake("Use the `eps` argument: one case passes eps=1e-3.", lambda *a, **k: _ln_variant(*a, **k, own_eps=False)),
        Mistake(
            "Compute the variance from the centred values, mean((x - mean)**2) (np.var does): E[x^2] - E[x]^2 "
            "subtracts two numbers near 10^4 for values near 100, and float32 loses the variance in between.",
            _ln_one_pass,
        ),
    ),
)


# gelu


def gelu_cases(rng):
    return [
        Case("from -6 to 6", (np.linspace(-6, 6, 25, dtype=F32),)),
        Case("a 3-D array", (randn(rng, 3, 4, 5, scale=3.0),)),
        Case("large inputs", (np.array([-1000, -50, -10, 10, 50, 1000], F32),)),
        Case("zeros", (np.zeros(4, F32),)),
        gpt_case(rng, "gelu (in every feed-forward layer)"),
    ]


_erf = np.frompyfunc(math.erf, 1, 1)


def _gelu_erf(x):
    return (0.5 * x * (1.0 + _erf(np.asarray(x, dtype=np.float64) / math.sqrt(2.0)).astype(np.float64))).astype(F32)


def _gelu_no_cube(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * x))


def _gelu_no_sqrt(x):
    return 0.5 * x * (1.0 + np.tanh(2.0 / math.pi * (x + 0.044715 * x * x * x)))


GELU = Suite(
    layers.gelu,
    gelu_cases,
    (
        Mistake(
            "That is the exact GELU, with erf; GPT-2 uses the tanh approximation "
            "0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).",
            _gelu_erf,
        ),
        Mistake("Keep the cubic term: tanh(sqrt(2 / pi) * (x + 0.044715 * x * x * x)).", _gelu_no_cube),
        Mistake("The constant is sqrt(2 / pi) ≈ 0.798 (math.sqrt(2 / math.pi)), not 2 / pi.", _gelu_no_sqrt),
        Mistake("That is ReLU; GELU is smooth and slightly negative for small negative inputs.", lambda x: np.maximum(x, 0)),
        Mistake("That is the sigmoid approximation x * sigmoid(1.702 x); GPT-2 uses the tanh form.", lambda x: x / (1.0 + np.exp(-1.702 * x))),
    ),
    magnitude=lambda x: x,  # 0.5 x + 0.5 x tanh(...): two terms of size |x| / 2 that cancel for x < 0
)


# feed_forward


def _ff_args(rng, *shape_x, d_ff=None):
    c = shape_x[-1]
    d_ff = 4 * c if d_ff is None else d_ff
    return (randn(rng, *shape_x), randn(rng, c, d_ff, scale=0.5), randn(rng, d_ff, scale=0.1), randn(rng, d_ff, c, scale=0.5), randn(rng, c, scale=0.1))


def ff_cases(rng):
    return [
        Case("4 tokens of width 8", _ff_args(rng, 4, 8)),
        Case("a batch", _ff_args(rng, 2, 3, 8)),
        Case("a single token", _ff_args(rng, 1, 8)),
        Case("a hidden layer of another width", _ff_args(rng, 5, 6, d_ff=10)),
        gpt_case(rng, "feed_forward (in every layer)"),
    ]


def _ff_terms(x, w1, b1, w2, b2):
    """M of the MLP: GELU's two halves of size |h| / 2 (see GELU) carried through |w2|."""
    return np.abs(np.asarray(x, dtype=np.float64) @ w1 + b1) @ np.abs(w2)


FEED_FORWARD = Suite(
    layers.feed_forward,
    ff_cases,
    (
        Mistake("Use GPT-2's tanh GELU between the two layers, not ReLU.", lambda x, w1, b1, w2, b2: np.maximum(x @ w1 + b1, 0) @ w2 + b2),
        Mistake("Apply GELU between the two layers: without it the network is a single linear map.", lambda x, w1, b1, w2, b2: (x @ w1 + b1) @ w2 + b2),
        Mistake("Use GPT-2's tanh form of GELU, not the exact erf form.", lambda x, w1, b1, w2, b2: _gelu_erf(x @ w1 + b1) @ w2 + b2),
        Mistake("Add the first bias before the GELU: gelu(x @ w1 + b1).", lambda x, w1, b1, w2, b2: layers.gelu(x @ w1) @ w2 + b2),
        Mistake("Add the output bias b2 at the end.", lambda x, w1, b1, w2, b2: layers.gelu(x @ w1 + b1) @ w2),
        Mistake("Only the hidden layer has an activation: return gelu(x @ w1 + b1) @ w2 + b2.", lambda x, w1, b1, w2, b2: layers.gelu(layers.gelu(x @ w1 + b1) @ w2 + b2)),
    ),
    magnitude=_ff_terms,
)


# embed


def _tables(rng, vocab=20, positions=24, d=8):
    return randn(rng, vocab, d), randn(rng, positions, d, scale=0.5)


def embed_cases(rng):
    wte, wpe = _tables(rng)
    return [
        Case("a sequence of 5 tokens", (rng.integers(0, 20, size=5), wte, wpe)),
        Case("a batch of 2 sequences", (rng.integers(0, 20, size=(2, 4)), wte, wpe)),
        Case("a single token", (np.array([7]), wte, wpe)),
        Case("a repeated token", (np.array([3, 3, 3]), wte, wpe)),
        Case("int32 ids filling the context window", (rng.integers(0, 20, size=24).astype(np.int32), wte, wpe)),
        gpt_case(rng, "embed"),
        gpt_case(rng, "embed", split=True),
    ]


def _embed_variant(ids, wte, wpe, how):
    ids = np.asarray(ids)
    t = ids.shape[-1]
    if how == "none":
        return wte[ids]
    if how == "ids":
        return wte[ids] + wpe[ids]
    return wte[ids] + wpe[1 : t + 1]


EMBED = Suite(
    layers.embed,
    embed_cases,
    (
        Mistake("Add the position embeddings too: wte[ids] + wpe[:T].", lambda *a: _embed_variant(*a, "none")),
        Mistake("Position embeddings are indexed by position (0 .. T-1), not by token id: wpe[:T].", lambda *a: _embed_variant(*a, "ids")),
        Mistake("Positions count from 0: the first token uses wpe[0].", lambda *a: _embed_variant(*a, "from1")),
    ),
)


# logits_from_hidden


def logits_cases(rng):
    wte = randn(rng, 20, 8)
    return [
        Case("4 positions", (randn(rng, 4, 8), wte)),
        Case("a batch", (randn(rng, 2, 3, 8), wte)),
        Case("a single vector", (randn(rng, 8), wte)),
        Case("a single position", (randn(rng, 1, 8), wte)),
        gpt_case(rng, "logits_from_hidden"),
    ]


LOGITS_FROM_HIDDEN = Suite(
    layers.logits_from_hidden,
    logits_cases,
    (
        Mistake("Return the raw logits; the softmax comes later, when a token is sampled.", lambda h, wte: layers.softmax(h @ wte.T)),
        Mistake("No scaling here: the logits are plain dot products h @ wte.T.", lambda h, wte: h @ wte.T / math.sqrt(h.shape[-1])),
    ),
)


# apply_temperature


def temperature_cases(rng):
    return [
        Case("T = 0.5", (randn(rng, 6, scale=2.0), 0.5)),
        Case("T = 2 on a batch", (randn(rng, 2, 5, scale=2.0), 2.0)),
        Case("T = 1 changes nothing", (randn(rng, 7), 1.0)),
        Case("a tiny temperature", (randn(rng, 5), 0.05)),
        Case("huge logits", (np.array([1000, -1000, 10, 0], F32), 0.7)),
        Case("batch axes, T = 1.5", (randn(rng, 2, 3, 4), 1.5)),
        generate_case(rng, "apply_temperature", temperature=0.7),
    ]


APPLY_TEMPERATURE = Suite(
    sampling.apply_temperature,
    temperature_cases,
    (
        Mistake("Divide the logits by the temperature: a temperature below 1 must sharpen the distribution.", lambda logits, t: logits * t),
        Mistake("Return the scaled logits, not probabilities: no softmax here.", lambda logits, t: layers.softmax(logits / t)),
        Mistake("Scale the logits, not the probabilities: divide the logits by the temperature.", lambda logits, t: layers.softmax(logits) / t),
    ),
)


# top_k_filter and top_p_filter: filtered logits are -inf, kept ones unchanged


def compare_filter(case: Case, expected, got, suite: Suite, nucleus: bool = False) -> Comparison:
    """Kept logits unchanged, the others -inf, and the right tokens kept: exactly the expected ones,
    or with `nucleus` (top-p) any smallest most-likely set reaching p, whatever the order of ties."""
    logits = np.asarray(case.args[0])
    expected, answer = np.asarray(expected), np.asarray(got[0])
    bad = check_form(expected, answer)
    if bad:
        return bad
    if np.isnan(answer).any():
        return allclose(expected, answer, 0.0, 0.0)
    kept = ~np.isneginf(answer)
    with np.errstate(invalid="ignore"):
        stray = kept & (np.isneginf(logits) | ~np.isclose(answer, logits, rtol=1e-6, atol=1e-6))
    if stray.any():
        at = tuple(np.argwhere(stray)[0])
        why = "filtered logits must be -inf" if np.isneginf(expected[at]) else "kept logits must stay unchanged"
        return Comparison(
            False,
            f"got {float(answer[at]):.4g} where the logit is {float(logits[at]):.4g}: {why}",
            where=[int(i) for i in at],
            expected_at=float(expected[at]),
            got_at=float(answer[at]),
        )
    vocab = logits.shape[-1]
    rows = zip(logits.reshape(-1, vocab), kept.reshape(-1, vocab), ~np.isneginf(expected.reshape(-1, vocab)))
    for r, (row, keep, want) in enumerate(rows):
        if nucleus and _valid_nucleus(row, keep, case.args[1]) or not nucleus and np.array_equal(keep, want):
            continue
        where = [int(i) for i in np.unravel_index(r, logits.shape[:-1])] if logits.ndim > 1 else []
        place = f" in row {where}" if where else ""
        return Comparison(False, f"kept tokens {np.flatnonzero(keep).tolist()}{place}; expected {np.flatnonzero(want).tolist()}", where=where)
    return Comparison(True, max_abs_error=0.0)


def compare_nucleus(case: Case, expected, got, suite: Suite) -> Comparison:
    return compare_filter(case, expected, got, suite, nucleus=True)


def _valid_nucleus(row, keep, p, slack=1e-6) -> bool:
    """True when `keep` is a smallest most-likely set reaching p (ties in any order), never empty."""
    if not keep.any():
        return False
    finite = np.isfinite(row)
    if (keep & ~finite).any():
        return False
    if keep.any() and (~keep & finite).any() and row[~keep & finite].max() > row[keep].min():
        return False  # a more likely token was dropped while a less likely one was kept
    probs = layers.softmax(row.astype(np.float64))
    mass = probs[keep].sum()
    smallest = probs[keep].min()
    reaches = mass >= p - slack or keep.sum() == finite.sum()
    minimal = mass - smallest < p + slack
    return bool(reaches and (minimal or keep.sum() == 1))


def _logits_from_probs(probs):
    return np.log(np.asarray(probs, dtype=np.float64)).astype(F32)


def top_k_cases(rng):
    return [
        Case("k = 3 of 10", (randn(rng, 10, scale=2.0), 3)),
        Case("k = 1 on a batch", (randn(rng, 2, 8, scale=2.0), 1)),
        Case("k equal to the vocabulary size", (randn(rng, 6), 6)),
        Case("k = 0 switches the filter off", (randn(rng, 5), 0)),
        Case("a tie with the k-th largest", (np.array([1, 2, 2, 3, 0], F32), 2)),
        Case("all logits equal", (np.full(6, 5.0, F32), 2)),
        Case("-inf already present", (np.array([1, NEG_INF, 3, 2], F32), 3)),
        Case("batch axes, k = 4", (randn(rng, 2, 3, 6, scale=2.0), 4)),
        generate_case(rng, "top_k_filter", top_k=5),
    ]


def _top_k_exact(logits, k):
    if k == 0:
        return logits.copy()
    order = np.argsort(-logits, axis=-1, kind="stable")
    keep = np.zeros(logits.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :k], True, axis=-1)
    return np.where(keep, logits, NEG_INF)


def _top_k_shifted(logits, k, shift):
    if k == 0 or k + shift >= logits.shape[-1] or k + shift < 1:
        return logits.copy()
    kth = np.sort(logits, axis=-1)[..., -(k + shift), None]
    return np.where(logits < kth, NEG_INF, logits)


def _top_k_zero(logits, k):
    return np.where(np.isneginf(sampling.top_k_filter(logits, k)), 0.0, logits)


TOP_K_FILTER = Suite(
    sampling.top_k_filter,
    top_k_cases,
    (
        Mistake(
            "Keep every logit equal to the k-th largest: ties at the boundary survive (np.where(logits < kth, "
            "-np.inf, logits)), so more than k tokens may stay.",
            _top_k_exact,
        ),
        Mistake("Off by one: keep the k largest, with the k-th largest being np.sort(logits, axis=-1)[..., -k].", lambda l, k: _top_k_shifted(l, k, 1)),
        Mistake("Off by one: keep the k largest, with the k-th largest being np.sort(logits, axis=-1)[..., -k].", lambda l, k: _top_k_shifted(l, k, -1)),
        Mistake("Set the filtered logits to -inf, not 0: a logit of 0 is still a likely token.", _top_k_zero),
        Mistake("Return the filtered logits, not probabilities.", lambda l, k: layers.softmax(sampling.top_k_filter(l, k))),
    ),
    comparator=compare_filter,
)


def _nucleus_probs(rng, n, p, margin=0.01):
    """Random probabilities of n tokens whose running mass stays clear of p (no rounding ambiguity)."""
    while True:
        probs = rng.dirichlet(np.ones(n))
        running = np.cumsum(np.sort(probs)[::-1])
        if np.abs(running - p).min() > margin:
            return probs


def top_p_cases(rng):
    batch = np.stack([_logits_from_probs(_nucleus_probs(rng, 6, 0.75)) for _ in range(6)]).reshape(2, 3, 6)
    return [
        Case("p = 0.9 over 8 tokens", (_logits_from_probs(_nucleus_probs(rng, 8, 0.9)), 0.9)),
        Case("p = 0.5 on a batch", (np.stack([_logits_from_probs(_nucleus_probs(rng, 10, 0.5)) for _ in range(2)]), 0.5)),
        Case("the token that crosses p is kept", (_logits_from_probs([0.5, 0.3, 0.2]), 0.6)),
        Case("the most likely token alone passes p", (_logits_from_probs([0.1, 0.7, 0.2]), 0.6)),
        Case("a tiny p keeps one token", (randn(rng, 7, scale=2.0), 0.01)),
        Case("p = 1 keeps everything", (randn(rng, 5), 1.0)),
        Case("ties: four equal logits", (np.zeros(4, F32), 0.4)),
        Case("-inf already present", (np.array([NEG_INF, math.log(0.6), math.log(0.3), math.log(0.1)], F32), 0.8)),
        Case("batch axes, p = 0.75", (batch, 0.75)),
        generate_case(rng, "top_p_filter", top_p=0.5),
    ]


def _top_p_by_mass(logits, p, keep_rule, probs_of=layers.softmax, descending=True):
    order = np.argsort(-logits if descending else logits, axis=-1, kind="stable")
    probs = np.take_along_axis(probs_of(logits), order, axis=-1)
    keep_sorted = keep_rule(np.cumsum(probs, axis=-1), probs, p)
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return np.where(keep, logits, NEG_INF)


TOP_P_FILTER = Suite(
    sampling.top_p_filter,
    top_p_cases,
    (
        Mistake(
            "Keep the token that crosses p: a token stays if the mass of the tokens ranked before it is "
            "still below p (keeping only running mass <= p drops it, and can drop every token).",
            lambda l, p: _top_p_by_mass(l, p, lambda run, probs, p: run <= p),
        ),
        Mistake(
            "Keep the token that crosses p: a token stays if the mass of the tokens ranked before it is still below p.",
            lambda l, p: _top_p_by_mass(l, p, lambda run, probs, p: run < p),
        ),
        Mistake(
            "Accumulate probabilities (softmax of the logits), not the logits themselves.",
            lambda l, p: _top_p_by_mass(l, p, lambda run, probs, p: run - probs < p, probs_of=lambda x: x),
        ),
        Mistake(
            "Rank the tokens from most to least likely (np.argsort(-logits)), so the nucleus holds the likeliest tokens.",
            lambda l, p: _top_p_by_mass(l, p, lambda run, probs, p: run - probs < p, descending=False),
        ),
        Mistake("Return the filtered logits, not probabilities.", lambda l, p: layers.softmax(sampling.top_p_filter(l, p))),
    ),
    comparator=compare_nucleus,
)


# greedy_next


def greedy_cases(rng):
    return [
        Case("10 logits", (randn(rng, 10, scale=2.0),)),
        Case("a batch of 3", (randn(rng, 3, 7, scale=2.0),)),
        Case("a tie: take the lowest index", (np.array([1, 5, 5, 2], F32),)),
        Case("a single token", (np.array([0.3], F32),)),
        Case("huge logits", (np.array([1e4, -1e4, 1e4 + 1024, 0], F32),)),
        Case("-inf entries", (np.array([NEG_INF, -3, NEG_INF, -4], F32),)),
        Case("batch axes with ties", (np.array([[[0, 2, 2], [1, 1, 1]], [[3, 0, 3], [-1, -2, -1]]], F32),)),
        generate_case(rng, "greedy_next", temperature=0.0),
    ]


def _compare_indices(case: Case, expected, got, suite: Suite) -> Comparison:
    result = allclose(expected, got[0], 0.0, 0.0)
    if not result.ok and result.where is not None and result.got_at is not None:
        logits = np.asarray(case.args[0])
        row = logits[tuple(result.where)] if logits.ndim > 1 else logits
        chosen = int(result.got_at) if isinstance(result.got_at, (int, float)) and float(result.got_at).is_integer() else None
        if chosen is not None and 0 <= chosen < row.shape[-1] and row[chosen] == row.max():
            result.message = "picked another of the tied largest logits: on a tie, take the lowest index"
    return result


GREEDY_NEXT = Suite(
    sampling.greedy,
    greedy_cases,
    (
        Mistake("Take the largest logit (np.argmax), not the smallest.", lambda l: np.argmin(l, axis=-1)),
        Mistake("Take the argmax along the last axis (axis=-1): one token per row of a batch.", lambda l: np.argmax(l)),
        Mistake("Return the index of the largest logit (np.argmax), not its value.", lambda l: np.max(l, axis=-1)),
        Mistake("On a tie, take the lowest index (np.argmax does).", lambda l: l.shape[-1] - 1 - np.argmax(l[..., ::-1], axis=-1)),
    ),
    comparator=_compare_indices,
)


# train_classification_head


HEAD_CLASSES = 3
HEAD_TRAIN = 240
HEAD_TEST = 240
HEAD_GPT = {"vocab_size": 48, "n_positions": 16, "n_embd": 32, "n_layer": 2, "n_head": 4}


def head_cases(rng):
    """A topic-classification task on a frozen GPT: each class has its own topic tokens, and a
    sequence's features are the model's final hidden states averaged over its positions."""
    from engine.model import GPT, GPTConfig

    model = GPT.init(GPTConfig(**HEAD_GPT), seed=int(rng.integers(1 << 30)))
    vocab, length, topical = HEAD_GPT["vocab_size"], 12, 5
    topics = rng.permutation(vocab)[: HEAD_CLASSES * 8].reshape(HEAD_CLASSES, 8)
    neutral = np.setdiff1d(np.arange(vocab), topics.ravel())
    n = HEAD_TRAIN + HEAD_TEST
    labels = rng.integers(0, HEAD_CLASSES, size=n)
    ids = rng.choice(neutral, size=(n, length))
    slots = np.argsort(rng.random((n, length)), axis=1)[:, :topical]  # distinct positions per sequence
    words = topics[labels[:, None], rng.integers(0, 8, size=(n, topical))]
    np.put_along_axis(ids, slots, words, axis=1)
    features = classification_head.frozen_features(model, ids).astype(F32)
    train, test = slice(0, HEAD_TRAIN), slice(HEAD_TRAIN, n)
    summary = (
        f"features {HEAD_TRAIN} x {HEAD_GPT['n_embd']} float32 from a frozen 2-layer GPT (mean of its final "
        f"hidden states), labels {HEAD_TRAIN} ints in 0 .. {HEAD_CLASSES - 1}, n_classes={HEAD_CLASSES}"
    )
    return [
        Case(
            f"topic classification, {HEAD_CLASSES} classes, {HEAD_TEST} held-out examples",
            (features[train], labels[train], HEAD_CLASSES),
            summary=summary,
            secret={"features": features[test], "labels": labels[test]},
        )
    ]


def _compare_head(case: Case, expected, got, suite: Suite) -> Comparison:
    """The learner's head must classify the held-out examples (which it never saw) well enough."""
    w_ref, b_ref = expected
    w, b = (np.asarray(a) for a in got)
    for name, want, have in (("W", w_ref, w), ("b", b_ref, b)):
        if have.shape != want.shape:
            transposed = " (transposed?)" if have.shape == want.shape[::-1] else ""
            return Comparison(False, f"{name} has shape {have.shape}, expected {want.shape}{transposed}")
        if have.dtype.kind not in "fiu":
            return Comparison(False, f"{name} has dtype {have.dtype}; a float array is expected")
        if not np.isfinite(have).all():
            return Comparison(False, f"{name} contains NaN or inf: the training diverged (is the learning rate too large?)")
    test_x, test_y = case.secret["features"], case.secret["labels"]
    reached = classification_head.accuracy(test_x, test_y, w, b)
    reference = classification_head.accuracy(test_x, test_y, w_ref, b_ref)
    if reached >= HEAD_ACCURACY:
        return Comparison(True, f"held-out accuracy {reached:.0%} (the engine's head: {reference:.0%})", expected_at=reference, got_at=reached)
    return Comparison(
        False,
        f"held-out accuracy {reached:.0%}; at least {HEAD_ACCURACY:.0%} is needed (the engine's head reaches {reference:.0%})",
        expected_at=reference,
        got_at=reached,
    )


def _diagnose_head(case: Case, expected, got) -> str | None:
    w, b = (np.asarray(a, dtype=np.float64) for a in got)
    if w.shape != expected[0].shape or not np.isfinite(w).all():
        return None
    if not w.any():
        return "W is still all zeros: the update step never changed it (W -= lr * dW inside the loop)."
    features, labels, _ = case.args
    train_accuracy = classification_head.accuracy(features, labels, w, b)
    if train_accuracy < 1.0 / HEAD_CLASSES + 0.15:
        return (
            "The head does no better than chance even on the training data: check the sign of the step "
            "(W -= lr * dW descends the loss) and that dW = features.T @ ((probs - one_hot) / n)."
        )
    return None


TRAIN_CLASSIFICATION_HEAD = Suite(
    classification_head.train_classification_head,
    head_cases,
    comparator=_compare_head,
    diagnose=_diagnose_head,
)


SUITES: dict[str, Suite] = {
    "softmax": SOFTMAX,
    "scaled_dot_product_attention": ATTENTION,
    "causal_mask": CAUSAL_MASK,
    "split_heads": SPLIT_HEADS,
    "merge_heads": MERGE_HEADS,
    "multi_head_attention": MULTI_HEAD_ATTENTION,
    "sinusoidal_positions": SINUSOIDAL_POSITIONS,
    "layer_norm": LAYER_NORM,
    "gelu": GELU,
    "feed_forward": FEED_FORWARD,
    "embed": EMBED,
    "logits_from_hidden": LOGITS_FROM_HIDDEN,
    "apply_temperature": APPLY_TEMPERATURE,
    "top_k_filter": TOP_K_FILTER,
    "top_p_filter": TOP_P_FILTER,
    "greedy_next": GREEDY_NEXT,
    "train_classification_head": TRAIN_CLASSIFICATION_HEAD,
}
