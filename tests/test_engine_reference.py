"""engine/ against PyTorch and Hugging Face transformers (the `reference` extra).

Models are built from a GPT2Config with random weights and never downloaded.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the reference extra (torch)")
transformers = pytest.importorskip("transformers", reason="needs the reference extra (transformers)")
from transformers.generation.logits_process import (  # noqa: E402
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from engine.model import GPT  # noqa: E402
from engine.sampling import apply_temperature, generate, top_k_filter, top_p_filter  # noqa: E402

pytestmark = pytest.mark.reference

SIZES = {
    "tiny": dict(vocab_size=97, n_positions=64, n_embd=32, n_layer=2, n_head=4),
    "small": dict(vocab_size=1000, n_positions=128, n_embd=128, n_layer=4, n_head=8),
}


def hf_model(size, seed=0, scale=1.0):
    """A random GPT2LMHeadModel in eval mode; every parameter random, biases and layer norms included."""
    torch.manual_seed(seed)
    config = transformers.GPT2Config(**SIZES[size], bos_token_id=None, eos_token_id=None)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln_" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            elif "c_proj" in name or "c_attn" in name or "c_fc" in name or "wte" in name or "wpe" in name:
                p.mul_(scale)
    return model


def hf_logits(model, ids):
    with torch.no_grad():
        return model(torch.as_tensor(np.atleast_2d(ids))).logits.numpy()


@pytest.fixture(scope="module", params=list(SIZES))
def pair(request, tmp_path_factory):
    # weights 4x GPT-2's init: MLP inputs reach |x| ~ 2, where the erf GELU would be off by > 1e-4
    model = hf_model(request.param, scale=4.0)
    directory = tmp_path_factory.mktemp(request.param)
    model.save_pretrained(directory)
    return model, GPT.from_pretrained(directory)


def test_checkpoint_loads_and_gives_the_same_logits(pair):
    hf, engine = pair
    vocab, window = hf.config.vocab_size, hf.config.n_positions
    ids = np.random.default_rng(0).integers(0, vocab, (2, window))
    expected = hf_logits(hf, ids)
    got = engine(ids)
    assert got.dtype == np.float32
    assert np.abs(got - expected).max() <= 1e-4
    assert np.abs(engine(ids[1, :7]) - expected[1, :7]).max() <= 1e-4


def test_kv_cache_gives_the_same_logits_as_hf(pair):
    hf, engine = pair
    ids = np.random.default_rng(1).integers(0, hf.config.vocab_size, 20)
    expected = hf_logits(hf, ids)[0]
    cache = engine.new_cache()
    pieces = [engine(ids[:12], cache)] + [engine(ids[t : t + 1], cache) for t in range(12, 20)]
    assert np.abs(np.concatenate(pieces) - expected).max() <= 1e-4


def test_engine_checkpoint_loads_into_transformers(tmp_path):
    engine = GPT.from_pretrained(save(hf_model("tiny", seed=3), tmp_path / "hf"))
    engine.save_pretrained(tmp_path / "engine")
    reloaded = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "engine").eval()
    ids = np.random.default_rng(2).integers(0, 97, 30)
    assert np.abs(hf_logits(reloaded, ids)[0] - engine(ids)).max() <= 1e-4


def save(model, directory):
    model.save_pretrained(directory)
    return directory


@pytest.mark.parametrize("size, seed", [("tiny", 1), ("small", 2)])
def test_greedy_generation_is_identical_to_hf(size, seed, tmp_path):
    # larger weights than GPT-2's init: peaked distributions, so float rounding cannot flip an argmax
    hf = hf_model(size, seed=seed, scale=4.0)
    engine = GPT.from_pretrained(save(hf, tmp_path))
    prompt = np.random.default_rng(seed).integers(0, hf.config.vocab_size, 10)
    n_new = 40
    with torch.no_grad():
        expected = hf.generate(
            torch.as_tensor(prompt[None]),
            attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
            max_new_tokens=n_new,
            min_new_tokens=n_new,
            do_sample=False,
        )[0, len(prompt) :].tolist()
    got = generate(engine, prompt, n_new, temperature=0)
    assert len(set(got)) > 3  # not a degenerate repetition
    assert got == expected


# the logits warpers


def hf_warp(warper, logits):
    scores = torch.from_numpy(np.ascontiguousarray(logits))
    dummy_ids = torch.zeros((logits.shape[0], 1), dtype=torch.long)
    return warper(dummy_ids, scores).numpy()


def random_logits(seed, batch, vocab, ties=False):
    rng = np.random.default_rng(seed)
    if ties:  # a handful of distinct values, so most tokens tie with others
        return rng.integers(-3, 3, (batch, vocab)).astype(np.float32) * 0.5
    return (rng.standard_normal((batch, vocab)) * 3).astype(np.float32)


@pytest.mark.parametrize("temperature", [0.1, 0.7, 1.0, 1.3, 5.0])
def test_temperature_matches_hf(temperature):
    logits = random_logits(0, 4, 300)
    np.testing.assert_array_equal(apply_temperature(logits, temperature), hf_warp(TemperatureLogitsWarper(temperature), logits))


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [1, 2, 5, 11, 12, 40])
def test_top_k_matches_hf(k, ties):
    logits = random_logits(k, 8, 12, ties)
    np.testing.assert_array_equal(top_k_filter(logits, k), hf_warp(TopKLogitsWarper(k), logits))
    big = random_logits(k + 100, 2, 5000, ties)
    np.testing.assert_array_equal(top_k_filter(big, k), hf_warp(TopKLogitsWarper(k), big))


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.75, 0.9, 0.95, 0.999])
def test_top_p_matches_hf_on_small_vocabularies(p, ties):
    for seed in range(10):
        logits = random_logits(seed, 6, 12, ties)
        np.testing.assert_array_equal(top_p_filter(logits, p), hf_warp(TopPLogitsWarper(p), logits))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.95])
def test_top_p_matches_hf_on_a_large_vocabulary(p):
    # HF's sort is not stable on large inputs, so which of several tied tokens sits at the boundary
    # is not defined; and float32 rounding decides a token whose tail mass is within ~1e-7 of 1 - p.
    # Compare how many survive (unless rounding decides) and the kept set away from the boundary.
    counts_compared = 0
    for seed in range(3):
        logits = random_logits(seed, 4, 50257, ties=seed == 2)
        ours, theirs = top_p_filter(logits, p), hf_warp(TopPLogitsWarper(p), logits)
        for row, a, b in zip(logits, ours, theirs):
            ascending = np.sort(row)
            probs = np.exp(ascending.astype(np.float64) - ascending[-1])
            tail_mass = np.cumsum(probs / probs.sum())
            rounding_tie = np.abs(tail_mass - (1 - p)) < 1e-6
            if not rounding_tie.any():
                assert np.isfinite(a).sum() == np.isfinite(b).sum()
                counts_compared += 1
            boundary = {row[np.isfinite(a)].min(), row[np.isfinite(b)].min(), *ascending[rounding_tie]}
            off = ~np.isin(row, list(boundary))
            assert off.sum() > 40_000
            np.testing.assert_array_equal(a[off], b[off])
    assert counts_compared >= 6  # of the 12 rows: rounding decides only a few


def test_all_three_warpers_in_hf_order():
    logits = random_logits(5, 5, 800)
    hf = logits
    for warper in (TemperatureLogitsWarper(0.8), TopKLogitsWarper(50), TopPLogitsWarper(0.9)):
        hf = hf_warp(warper, hf)
    np.testing.assert_array_equal(top_p_filter(top_k_filter(apply_temperature(logits, 0.8), 50), 0.9), hf)
