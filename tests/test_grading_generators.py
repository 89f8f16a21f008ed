"""Generators of numeric cards: the documented placeholders, readable values, and answers that
agree with a hand computation (plain Python arithmetic, not the engine)."""

import functools
import json
import math
import re
from pathlib import Path

import pytest

from studycli.errors import UsageError
from studycli.grading.generators import GENERATORS, generate_numeric, generator_names

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [0, 1, 2, 3, 42, "card-1:2024-06-01", "another seed"]


def documented_generators() -> dict[str, set[str]]:
    text = (ROOT / "docs" / "cards.md").read_text().split("## Generators", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \|", text, flags=re.M)
    return {name: set(re.findall(r"`(\w+)`", cells)) for name, cells in rows}


def test_generators_and_placeholders_are_the_documented_ones():
    documented = documented_generators()
    assert generator_names() == list(documented)
    for name, generator in GENERATORS.items():
        assert set(generator.placeholders) == documented[name], name


@pytest.mark.parametrize("name", list(GENERATORS))
def test_params_fill_the_placeholders_with_short_plain_values(name):
    for seed in SEEDS:
        params, answer, tolerance = generate_numeric(name, seed)
        assert set(params) == set(GENERATORS[name].placeholders)
        json.dumps(params)  # plain Python values only: no NumPy scalars in the question
        for value in params.values():
            assert len(str(value)) <= 60, str(value)
        assert isinstance(answer, float) and math.isfinite(answer)
        assert tolerance >= 0


@pytest.mark.parametrize("name", list(GENERATORS))
def test_the_same_seed_gives_the_same_question(name):
    assert generate_numeric(name, "seed-a") == generate_numeric(name, "seed-a")
    assert len({json.dumps(generate_numeric(name, s)[0]) for s in range(12)}) > 1


def test_unknown_generator_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown generator 'nope'"):
        generate_numeric("nope", 1)


def softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


def model_probabilities(prompt, temperature):
    """The shipped model's next-character probabilities, loaded and softmaxed here with plain floats."""
    logits, tokenizer = model_logits(prompt.strip('"'))
    return softmax([x / temperature for x in logits]), tokenizer


@functools.lru_cache(maxsize=None)
def model_logits(prompt):
    """The shipped model's last logits after `prompt`, as plain floats (once per prompt)."""
    import numpy as np

    from engine.model import GPT
    from engine.tokenizer import CharTokenizer
    from studycli.demo import SHIPPED_MODEL

    model, tokenizer = GPT.from_pretrained(SHIPPED_MODEL), CharTokenizer()
    return [float(x) for x in model(np.array(tokenizer.encode(prompt)))[-1]], tokenizer


def by_hand(name, p):
    """Each answer computed from its definition with plain floats."""
    if name == "model_char_probability":
        probs, tokenizer = model_probabilities(p["prompt"], p["temperature"])
        from studycli.demo import token_label

        token = next(t for t in range(len(probs)) if token_label(tokenizer, t) == p["char"])
        return probs[token]
    if name == "model_top_p_count":
        probs, _ = model_probabilities(p["prompt"], 1.0)
        return by_hand("top_p_count", {"probs": probs, "p": p["top_p"]})
    if name == "softmax_probability":
        return softmax(p["logits"])[p["token"]]
    if name == "temperature_probability":
        return softmax([x / p["temperature"] for x in p["logits"]])[p["token"]]
    if name == "top_k_mass":
        return sum(sorted(p["probs"], reverse=True)[: p["k"]])
    if name == "top_k_renormalized":
        kept = sorted(p["probs"], reverse=True)[: p["k"]]
        mine = p["probs"][p["token"]]
        return mine / sum(kept) if mine >= kept[-1] else 0.0
    if name == "top_p_count":
        mass, count = 0.0, 0
        for q in sorted(p["probs"], reverse=True):
            if mass >= p["p"]:
                break
            mass, count = mass + q, count + 1
        return count
    if name == "attention_weight":
        scores = [sum(a * b for a, b in zip(p["q"], key)) / math.sqrt(p["d_k"]) for key in p["keys"]]
        return softmax(scores)[p["index"]]
    if name == "scale_factor":
        return 1 / math.sqrt(p["d_k"])
    if name == "head_dim":
        return p["d_model"] / p["n_head"]
    if name == "causal_mask_allowed":
        return p["n"] * (p["n"] + 1) / 2
    if name == "context_tokens_left":
        return min(p["max_tokens"], p["context_window"] - p["prompt_tokens"])
    if name == "embedding_parameters":
        return p["vocab_size"] * p["d_model"]
    raise KeyError(name)


@pytest.mark.parametrize("name", list(GENERATORS))
def test_answers_agree_with_a_hand_computation(name):
    for seed in [*SEEDS, *range(100, 130)]:
        params, answer, tolerance = generate_numeric(name, seed)
        assert answer == pytest.approx(by_hand(name, params), abs=1e-9), (seed, params)


def test_probabilities_in_questions_add_up_and_are_distinct():
    for seed in range(50):
        for name in ("top_k_mass", "top_k_renormalized", "top_p_count"):
            probs = generate_numeric(name, seed)[0]["probs"]
            assert sum(probs) == pytest.approx(1.0) and len(set(probs)) == len(probs)


def test_a_three_decimal_answer_is_accepted_and_a_near_miss_is_not():
    params, answer, tolerance = generate_numeric("softmax_probability", 3)
    assert abs(round(answer, 3) - answer) <= tolerance
    assert abs(round(answer, 3) + 0.002 - answer) > tolerance
    _, count, exact = generate_numeric("top_p_count", 3)
    assert exact == 0 and count == int(count)
