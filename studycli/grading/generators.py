"""Generators for `numeric` cards: random parameters for a question, and its answer from the engine.

Each generator draws values that read well in a question (short lists of rounded numbers), fills
the placeholders of docs/cards.md, and computes the answer with `engine`, so a card and the code
it teaches can never disagree. Drawing uses Python's `random` (a string seed works too); NumPy
and the engine load only when an answer is computed, so listing the names stays cheap.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from typing import Callable

from studycli.errors import UsageError

DECIMALS_3 = 0.001  # "(3 decimals)": a rounded answer is at most 0.0005 away; this allows for it
EXACT = 0.0  # counts and sizes: whole numbers, nothing to round


class UnknownGenerator(UsageError, KeyError):
    """A card named a generator that does not exist."""

    def __init__(self, name: str):
        super().__init__(f"unknown generator {name!r}; known generators: {', '.join(GENERATORS)}")

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class Generator:
    name: str
    placeholders: tuple[str, ...]  # the {names} a card's question may use
    draw: Callable[[random.Random], tuple[dict, float, float]]  # -> (params, answer, tolerance)


def _logits(rng: random.Random, n: int) -> list[float]:
    """n distinct logits with one decimal, between -3 and 3."""
    values = rng.sample(range(-30, 31), n)
    return [v / 10 for v in values]


def _probs(rng: random.Random, n: int) -> list[float]:
    """n distinct probabilities with two decimals, summing to exactly 1, from most to least likely."""
    while True:
        cuts = sorted(rng.sample(range(1, 100), n - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100])]
        if len(set(parts)) == n:
            return [p / 100 for p in sorted(parts, reverse=True)]


def _np():
    import numpy as np

    return np


def softmax_probability(rng):
    from engine.layers import softmax

    logits = _logits(rng, rng.randint(3, 5))
    token = rng.randrange(len(logits))
    p = softmax(_np().array(logits, dtype=_np().float64))[token]
    return {"logits": logits, "token": token}, float(p), DECIMALS_3


def temperature_probability(rng):
    from engine.layers import softmax
    from engine.sampling import apply_temperature

    logits = _logits(rng, rng.randint(3, 4))
    temperature = rng.choice([0.5, 0.7, 0.8, 1.5, 2.0])
    token = rng.randrange(len(logits))
    p = softmax(apply_temperature(_np().array(logits, dtype=_np().float64), temperature))[token]
    return {"logits": logits, "temperature": temperature, "token": token}, float(p), DECIMALS_3


def _kept(probs, keep_filter, parameter):
    np = _np()
    logits = np.log(np.array(probs, dtype=np.float64))
    return np.isfinite(keep_filter(logits, parameter))


def top_k_mass(rng):
    from engine.sampling import top_k_filter

    probs = _probs(rng, rng.randint(4, 6))
    k = rng.randint(1, len(probs) - 1)
    mass = _np().array(probs)[_kept(probs, top_k_filter, k)].sum()
    return {"probs": probs, "k": k}, float(mass), DECIMALS_3


def top_k_renormalized(rng):
    from engine.layers import softmax
    from engine.sampling import top_k_filter

    probs = _probs(rng, rng.randint(4, 6))
    k = rng.randint(2, len(probs) - 1)
    token = rng.randrange(len(probs))
    np = _np()
    renormalised = softmax(top_k_filter(np.log(np.array(probs, dtype=np.float64)), k))
    return {"probs": probs, "k": k, "token": token}, float(renormalised[token]), DECIMALS_3


def top_p_count(rng):
    from engine.sampling import top_p_filter

    while True:
        probs = _probs(rng, rng.randint(4, 7))
        p = rng.choice([0.5, 0.6, 0.75, 0.8, 0.9, 0.95])
        running = [sum(probs[: i + 1]) for i in range(len(probs))]
        if min(abs(r - p) for r in running) > 0.005:  # never on the boundary: no rounding doubts
            break
    count = int(_kept(probs, top_p_filter, p).sum())
    return {"probs": probs, "p": p}, float(count), EXACT


def attention_weight(rng):
    from engine.layers import scaled_dot_product_attention

    np = _np()
    d_k = rng.choice([2, 3, 4])
    n_keys = rng.randint(2, 3)
    q = [rng.randint(-2, 2) for _ in range(d_k)]
    while not any(q):
        q = [rng.randint(-2, 2) for _ in range(d_k)]
    keys = [[rng.randint(-2, 2) for _ in range(d_k)] for _ in range(n_keys)]
    index = rng.randrange(n_keys)
    # With the identity as values, the attention output is the attention weights themselves.
    weights = scaled_dot_product_attention(np.array([q], float), np.array(keys, float), np.eye(n_keys))[0]
    return {"q": q, "keys": keys, "d_k": d_k, "index": index}, float(weights[index]), DECIMALS_3


def scale_factor(rng):
    d_k = rng.choice([4, 8, 16, 25, 32, 64, 100, 128, 256])
    return {"d_k": d_k}, 1.0 / math.sqrt(d_k), DECIMALS_3


def head_dim(rng):
    from engine.layers import split_heads

    d_model, n_head = rng.choice([(512, 8), (768, 12), (1024, 16), (2048, 16), (4096, 32), (768, 6), (1280, 20), (1600, 25)])
    width = split_heads(_np().zeros((1, d_model), dtype=_np().float32), n_head).shape[-1]
    return {"d_model": d_model, "n_head": n_head}, float(width), EXACT


def causal_mask_allowed(rng):
    from engine.layers import causal_mask

    n = rng.randint(3, 12)
    return {"n": n}, float(causal_mask(n).sum()), EXACT


def context_tokens_left(rng):
    context_window = rng.choice([2048, 4096, 8192, 16384, 32768])
    prompt_tokens = rng.randrange(context_window // 8, context_window - 100, 50)
    room = context_window - prompt_tokens
    if rng.random() < 0.5:  # half the time the context window, not max tokens, is what binds
        max_tokens = room + rng.choice([100, 500, 1000])
    else:
        max_tokens = max(50, room - rng.choice([100, 500, 1000]))
    return {"context_window": context_window, "prompt_tokens": prompt_tokens, "max_tokens": max_tokens}, float(min(max_tokens, room)), EXACT


def embedding_parameters(rng):
    from engine.model import GPTConfig, parameter_shapes

    vocab_size = rng.choice([32000, 50257, 50000, 65536, 100000])
    d_model = rng.choice([512, 768, 1024, 2048, 4096])
    shape = parameter_shapes(GPTConfig(vocab_size=vocab_size, n_embd=d_model, n_layer=1, n_head=1))["transformer.wte.weight"]
    return {"vocab_size": vocab_size, "d_model": d_model}, float(shape[0] * shape[1]), EXACT


# Lines the shipped Shakespeare model continues in the real-model questions; a learner reads the
# answer off `study sampler --prompt "..."`, which runs the same model.
MODEL_PROMPTS = (
    "But soft, what light through yonder window b",
    "Once more unto the breach, dear frie",
    "To be, or not to b",
    "O Romeo, Romeo! wherefore art thou R",
    "Now is the winter of our disc",
)


def _model_distribution(rng, temperature: float):
    """(prompt, the shipped model's next-character probabilities after `temperature`, tokenizer)."""
    from engine.layers import softmax
    from engine.sampling import apply_temperature

    prompt = rng.choice(MODEL_PROMPTS)
    logits, tokenizer = _model_logits(prompt)
    return prompt, softmax(apply_temperature(logits, temperature)), tokenizer


@functools.lru_cache(maxsize=len(MODEL_PROMPTS))
def _model_logits(prompt: str):
    """(the shipped model's next-character logits after `prompt`, float64 and read-only, tokenizer):
    loaded and run once per prompt, however many questions a session draws."""
    from studycli import demo

    model, tokenizer = demo.load()
    logits = demo.next_token_logits(model, tokenizer, prompt).astype(_np().float64)
    logits.flags.writeable = False
    return logits, tokenizer


def model_char_probability(rng):
    from studycli import demo

    temperature = rng.choice([0.5, 0.8, 1.5, 2.0])
    prompt, probs, tokenizer = _model_distribution(rng, temperature)
    token = int(rng.choice(_np().argsort(-probs)[:3].tolist()))   # one of the three likeliest: worth asking
    params = {"prompt": f'"{prompt}"', "temperature": temperature, "char": demo.token_label(tokenizer, token)}
    return params, float(probs[token]), DECIMALS_3


def model_top_p_count(rng):
    from engine.sampling import top_p_filter

    top_p = rng.choice([0.5, 0.8, 0.9, 0.95])
    prompt, probs, _ = _model_distribution(rng, 1.0)
    kept = _np().isfinite(top_p_filter(_np().log(probs), top_p)).sum()
    return {"prompt": f'"{prompt}"', "top_p": top_p}, float(kept), EXACT


GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator("softmax_probability", ("logits", "token"), softmax_probability),
        Generator("temperature_probability", ("logits", "temperature", "token"), temperature_probability),
        Generator("top_k_mass", ("probs", "k"), top_k_mass),
        Generator("top_k_renormalized", ("probs", "k", "token"), top_k_renormalized),
        Generator("top_p_count", ("probs", "p"), top_p_count),
        Generator("attention_weight", ("q", "keys", "d_k", "index"), attention_weight),
        Generator("scale_factor", ("d_k",), scale_factor),
        Generator("head_dim", ("d_model", "n_head"), head_dim),
        Generator("causal_mask_allowed", ("n",), causal_mask_allowed),
        Generator("context_tokens_left", ("context_window", "prompt_tokens", "max_tokens"), context_tokens_left),
        Generator("embedding_parameters", ("vocab_size", "d_model"), embedding_parameters),
        Generator("model_char_probability", ("prompt", "temperature", "char"), model_char_probability),
        Generator("model_top_p_count", ("prompt", "top_p"), model_top_p_count),
    )
}


def generator_names() -> list[str]:
    """Every generator a `numeric` card may name."""
    return list(GENERATORS)


def generate_numeric(name: str, seed) -> tuple[dict, float, float]:
    """(params, answer, tolerance) for the generator `name`; the same seed (int or str) gives the same question."""
    try:
        generator = GENERATORS[name]
    except KeyError:
        raise UnknownGenerator(name) from None
    params, answer, tolerance = generator.draw(random.Random(seed))
    return params, float(answer), float(tolerance)
