"""Choosing the next token: temperature, top-k, top-p, greedy and random sampling, and `generate`.

The warpers follow Hugging Face's logits warpers: they work on the last axis, filtered logits
become -inf, and they run in the order temperature, then top-k, then top-p. Their arguments are
checked by the `check_*` functions, which `generate` also calls before it computes anything.
"""

from __future__ import annotations

import numpy as np

from engine.layers import softmax


def check_temperature(temperature, zero_is_greedy=False):
    """Raises ValueError unless temperature > 0 (or == 0 where `zero_is_greedy`: greedy decoding)."""
    if zero_is_greedy and temperature == 0:
        return
    if not temperature > 0:  # also rejects NaN
        if zero_is_greedy:
            raise ValueError(f"temperature must be >= 0 (0 means greedy), got {temperature}")
        hint = " (temperature 0 means greedy decoding: take greedy(logits) instead)" if temperature == 0 else ""
        raise ValueError(f"temperature must be positive, got {temperature}{hint}")


def check_top_k(k):
    """Raises ValueError unless k is a whole number >= 0 (0 switches top-k off)."""
    if k != int(k) or k < 0:
        raise ValueError(f"top_k must be a whole number >= 0 (0 switches it off), got {k}")


def check_top_p(p):
    """Raises ValueError unless 0 < p <= 1 (1 switches top-p off)."""
    if not 0 < p <= 1:  # also rejects NaN
        raise ValueError(f"top_p must be in (0, 1] (1 switches it off), got {p}")


def apply_temperature(logits, temperature):  # [..., V] -> [..., V]
    """The logits divided by `temperature`: below 1 sharpens the distribution, above 1 flattens it."""
    check_temperature(temperature)
    return np.asarray(logits) / float(temperature)


def top_k_filter(logits, k):  # [..., V] -> [..., V]
    """The logits with all but the k largest set to -inf (k=0: no filtering).

    Tokens tied with the k-th largest logit are all kept, as in Hugging Face.
    """
    check_top_k(k)
    logits = np.asarray(logits)
    vocab = logits.shape[-1]
    if k == 0 or k >= vocab:
        return logits.copy()
    kth_largest = np.partition(logits, vocab - int(k), axis=-1)[..., vocab - int(k), None]  # [..., 1]
    return np.where(logits < kth_largest, -np.inf, logits)


def top_p_filter(logits, p):  # [..., V] -> [..., V]
    """The logits outside the nucleus set to -inf: the smallest set of most likely tokens whose
    probabilities add up to at least p (p=1: no filtering).

    Computed as Hugging Face does: sort ascending, and drop the unlikely tail whose total
    probability is at most 1 - p. The token that crosses p is kept, and so is the most likely one.
    """
    check_top_p(p)
    logits = np.asarray(logits)
    if p == 1:
        return logits.copy()
    order = np.argsort(logits, axis=-1, kind="stable")  # [..., V] ascending
    probs = softmax(np.take_along_axis(logits, order, axis=-1))  # [..., V] ascending
    # summed in float64 (as PyTorch does), so rounding does not pile up over a large vocabulary
    tail_mass = np.cumsum(probs, axis=-1, dtype=np.float64).astype(probs.dtype)  # [..., V]
    drop_sorted = tail_mass <= 1.0 - float(p)  # a Python float: compared in the logits' precision, as PyTorch does
    drop_sorted[..., -1] = False  # at least one token always survives
    drop = np.empty_like(drop_sorted)
    np.put_along_axis(drop, order, drop_sorted, axis=-1)  # back to vocabulary order
    return np.where(drop, -np.inf, logits)


def greedy(logits):  # [..., V] -> [...]
    """The most likely token (the first one on ties)."""
    return np.argmax(logits, axis=-1)


def sample(logits, rng):  # [..., V] -> [...]
    """A token drawn at random with probability softmax(logits); `rng` a np.random.Generator or seed.

    Inverse-CDF sampling: one uniform number per row, and the first token whose cumulative
    probability exceeds it. Tokens at -inf have probability 0 and are never drawn.
    """
    rng = np.random.default_rng(rng)
    cdf = np.cumsum(softmax(np.asarray(logits, dtype=np.float64)), axis=-1)  # [..., V]
    u = rng.random(cdf.shape[:-1] + (1,)) * cdf[..., -1:]  # [..., 1] in [0, total)
    return (cdf <= u).sum(axis=-1)  # tokens whose cdf is at most u come before the chosen one


def generate(model, ids, max_new_tokens, temperature=1.0, top_k=0, top_p=1.0, seed=None, stop=None):
    """The list of new token ids that `model` writes after the prompt `ids`.

    temperature 0 picks the most likely token each step (greedy); otherwise the logits go
    through temperature, top-k and top-p and a token is sampled with a generator seeded by
    `seed` (same seed, same tokens). Generation ends after `max_new_tokens` tokens or after a
    token in `stop` (one id or a collection of ids), which is included, as Hugging Face does.
    The model sees at most its last `n_positions` tokens, as in nanoGPT.
    """
    return list(generate_stream(model, ids, max_new_tokens, temperature, top_k, top_p, seed, stop))


def generate_stream(model, ids, max_new_tokens, temperature=1.0, top_k=0, top_p=1.0, seed=None, stop=None):
    """The tokens of `generate`, yielded one by one as they are chosen (to show text as it comes).

    The arguments are checked at once, before any token is computed.
    """
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    check_temperature(temperature, zero_is_greedy=True)
    check_top_k(top_k)
    check_top_p(top_p)
    tokens = [int(t) for t in np.asarray(ids).reshape(-1)]
    if np.ndim(ids) != 1 or not tokens:
        raise ValueError("ids must be a non-empty 1-D sequence of token ids")
    if stop is None:
        stop = set()
    elif isinstance(stop, (int, np.integer)):
        stop = {int(stop)}
    else:
        stop = {int(s) for s in stop}
    return _decode(model, tokens, max_new_tokens, temperature, top_k, top_p, np.random.default_rng(seed), stop)


def _decode(model, tokens, max_new_tokens, temperature, top_k, top_p, rng, stop):
    """The decoding loop of generate_stream, on checked arguments; appends to `tokens` as it goes."""
    window = model.config.n_positions
    feed, cache = tokens[-window:], model.new_cache()
    for _ in range(max_new_tokens):
        if cache.length + len(feed) > window:  # the window slides: positions shift, so start afresh
            feed, cache = tokens[-window:], model.new_cache()
        logits = model(np.array(feed), cache)[-1]  # [V] for the last position
        if temperature == 0:
            token = int(greedy(logits))
        else:
            logits = top_p_filter(top_k_filter(apply_temperature(logits, temperature), top_k), top_p)
            token = int(sample(logits, rng))
        tokens.append(token)
        yield token
        if token in stop:
            return
        feed = [token]
