"""engine.model: config, GPT-2 initialisation, forward pass, KV cache and checkpoint files."""

import json
import math

import numpy as np
import pytest

from engine.model import GPT, GPTConfig, KVCache, block_params, parameter_shapes

TINY = GPTConfig(vocab_size=37, n_positions=16, n_embd=12, n_layer=2, n_head=3)


@pytest.fixture(scope="module")
def model():
    m = GPT.init(TINY, seed=0)
    # trained-looking weights: non-zero biases and layer norms, so every parameter matters
    rng = np.random.default_rng(1)
    for name, w in m.params.items():
        if name.endswith(".bias") or "ln_" in name:
            w += rng.standard_normal(w.shape).astype(np.float32) * 0.1
    return m


def ids_for(cfg, *shape, seed=0):
    return np.random.default_rng(seed).integers(0, cfg.vocab_size, shape)


# config


def test_config_defaults_are_gpt2_small():
    cfg = GPTConfig()
    assert (cfg.vocab_size, cfg.n_positions, cfg.n_embd, cfg.n_layer, cfg.n_head) == (50257, 1024, 768, 12, 12)
    assert cfg.layer_norm_epsilon == 1e-5
    with pytest.raises(AttributeError):
        cfg.n_layer = 3  # frozen


def test_gpt2_small_has_124m_parameters():
    # the well-known count for GPT-2 small with its head tied to the token embedding
    assert sum(math.prod(s) for s in parameter_shapes(GPTConfig()).values()) == 124_439_808


def test_config_round_trips_through_a_hf_dict():
    d = TINY.to_dict()
    assert d["model_type"] == "gpt2" and d["activation_function"] == "gelu_new"
    assert GPTConfig.from_dict(d) == TINY
    assert GPTConfig.from_dict({**d, "resid_pdrop": 0.1, "bos_token_id": 50256}) == TINY
    assert GPTConfig.from_dict({"n_layer": 2}) == GPTConfig(n_layer=2)


@pytest.mark.parametrize(
    "change", [{"activation_function": "relu"}, {"n_inner": 7}, {"model_type": "llama"}, {"tie_word_embeddings": False}]
)
def test_config_rejects_other_architectures(change):
    with pytest.raises(ValueError, match="GPT-2"):
        GPTConfig.from_dict({**TINY.to_dict(), **change})


def test_config_rejects_uneven_heads():
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=10, n_head=3)


# initialisation


def test_params_are_named_as_in_hugging_face():
    m = GPT.init(TINY, seed=0)
    assert set(m.params) == set(parameter_shapes(TINY))
    assert m.params["transformer.h.1.attn.c_attn.weight"].shape == (12, 36)  # Conv1D: (in, out)
    assert m.params["transformer.h.0.mlp.c_proj.weight"].shape == (48, 12)
    assert all(w.dtype == np.float32 for w in m.params.values())
    assert "lm_head.weight" not in m.params  # tied to transformer.wte.weight


def test_init_follows_gpt2_scheme():
    cfg = GPTConfig(vocab_size=3000, n_positions=64, n_embd=64, n_layer=8, n_head=4)
    p = GPT.init(cfg, seed=3).params
    assert abs(p["transformer.wte.weight"].std() - 0.02) < 0.001
    assert abs(p["transformer.h.2.attn.c_attn.weight"].std() - 0.02) < 0.001
    for name in ("attn.c_proj.weight", "mlp.c_proj.weight"):
        assert abs(p[f"transformer.h.5.{name}"].std() - 0.02 / math.sqrt(2 * 8)) < 0.0005
    assert abs(p["transformer.h.0.mlp.c_fc.weight"].mean()) < 0.001
    np.testing.assert_array_equal(p["transformer.h.7.ln_2.weight"], 1.0)
    np.testing.assert_array_equal(p["transformer.ln_f.bias"], 0.0)
    np.testing.assert_array_equal(p["transformer.h.3.mlp.c_fc.bias"], 0.0)


def test_init_is_reproducible_by_seed():
    a, b, c = GPT.init(TINY, seed=5), GPT.init(TINY, seed=5), GPT.init(TINY, seed=6)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert not np.array_equal(a.params["transformer.wte.weight"], c.params["transformer.wte.weight"])


def test_block_params_are_one_blocks_parameters_by_short_name(model):
    p = block_params(model.params, 1)
    assert sorted(p) == sorted(name.removeprefix("transformer.h.0.") for name in parameter_shapes(TINY) if ".h.0." in name)
    assert len(p) == 12
    assert p["attn.c_attn.weight"] is model.params["transformer.h.1.attn.c_attn.weight"]  # the arrays, not copies


def test_constructor_checks_names_and_shapes(model):
    params = dict(model.params)
    del params["transformer.h.1.ln_2.bias"]
    with pytest.raises(ValueError, match="missing"):
        GPT(TINY, params)
    params = {**model.params, "transformer.h.0.attn.c_proj.weight": np.zeros((12, 13), np.float32)}
    with pytest.raises(ValueError, match="shape"):
        GPT(TINY, params)


# forward pass


def gpt2_by_loops(params, cfg, ids):
    """GPT-2 written out independently, token by token and head by head, in float64."""
    p = {k: v.astype(np.float64) for k, v in params.items()}
    d = cfg.n_embd // cfg.n_head

    def ln(x, name):
        mu, var = x.mean(), ((x - x.mean()) ** 2).mean()
        return (x - mu) / math.sqrt(var + cfg.layer_norm_epsilon) * p[name + ".weight"] + p[name + ".bias"]

    def gelu(x):
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))

    xs = [p["transformer.wte.weight"][tok] + p["transformer.wpe.weight"][t] for t, tok in enumerate(ids)]
    for i in range(cfg.n_layer):
        h = f"transformer.h.{i}."
        qkv = [ln(x, h + "ln_1") @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"] for x in xs]
        att = []
        for t in range(len(xs)):
            heads = []
            for hd in range(cfg.n_head):
                q = qkv[t][hd * d : (hd + 1) * d]
                ks = [qkv[s][cfg.n_embd + hd * d : cfg.n_embd + (hd + 1) * d] for s in range(t + 1)]
                vs = [qkv[s][2 * cfg.n_embd + hd * d : 2 * cfg.n_embd + (hd + 1) * d] for s in range(t + 1)]
                scores = np.array([q @ k / math.sqrt(d) for k in ks])
                w = np.exp(scores - scores.max())
                heads.append(sum(wi * v for wi, v in zip(w / w.sum(), vs)))
            att.append(np.concatenate(heads) @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"])
        xs = [x + a for x, a in zip(xs, att)]
        xs = [
            x + gelu(ln(x, h + "ln_2") @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"]) @ p[h + "mlp.c_proj.weight"]
            + p[h + "mlp.c_proj.bias"]
            for x in xs
        ]
    return np.stack([p["transformer.wte.weight"] @ ln(x, "transformer.ln_f") for x in xs])


def test_forward_matches_an_independent_implementation(model):
    ids = ids_for(TINY, 9)
    logits = model(ids)
    assert logits.shape == (9, TINY.vocab_size)
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, gpt2_by_loops(model.params, TINY, ids), rtol=1e-4, atol=1e-5)


def test_logits_are_float32_at_every_shape(model):
    assert model([1]).dtype == np.float32
    assert model(ids_for(TINY, 3, 5)).dtype == np.float32
    assert model(np.array([1, 2], dtype=np.int32)).dtype == np.float32


def test_batched_forward_equals_one_row_at_a_time(model):
    ids = ids_for(TINY, 3, 7)
    logits = model(ids)
    assert logits.shape == (3, 7, TINY.vocab_size)
    for b in range(3):
        np.testing.assert_allclose(logits[b], model(ids[b]), rtol=1e-5, atol=1e-5)


def test_forward_is_causal(model):
    ids = ids_for(TINY, 10)
    other = ids.copy()
    other[6:] = (other[6:] + 1) % TINY.vocab_size
    a, b = model(ids), model(other)
    np.testing.assert_allclose(a[:6], b[:6], rtol=1e-6, atol=1e-6)
    assert not np.allclose(a[6:], b[6:])


def test_full_context_window_is_accepted(model):
    assert model(ids_for(TINY, TINY.n_positions)).shape == (TINY.n_positions, TINY.vocab_size)


@pytest.mark.parametrize(
    "ids, message",
    [
        ([1, 37], "outside the vocabulary"),
        ([-1, 2], "outside the vocabulary"),
        (list(range(17)), "context window of 16"),
        ([], "T >= 1"),
        ([1.0, 2.0], "integer"),
        (np.zeros((1, 1, 2), int), "shape"),
    ],
)
def test_bad_ids_raise_value_error(model, ids, message):
    with pytest.raises(ValueError, match=message):
        model(ids)


# KV cache


@pytest.mark.parametrize("chunks", [[1] * 12, [5, 1, 1, 1, 4], [12], [3, 9]])
def test_kv_cache_gives_the_logits_of_a_full_pass(model, chunks):
    ids = ids_for(TINY, 12, seed=4)
    full = model(ids)
    cache = model.new_cache()
    pieces, start = [], 0
    for n in chunks:
        pieces.append(model(ids[start : start + n], cache))
        start += n
    assert cache.length == 12
    incremental = np.concatenate(pieces)
    assert incremental.dtype == np.float32
    np.testing.assert_allclose(incremental, full, rtol=1e-5, atol=1e-5)


def test_kv_cache_with_a_batch(model):
    ids = ids_for(TINY, 2, 6, seed=5)
    cache = KVCache(TINY, batch_size=2)
    first, rest = model(ids[:, :4], cache), model(ids[:, 4:], cache)
    np.testing.assert_allclose(np.concatenate([first, rest], axis=1), model(ids), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="batch"):
        model([1], cache)


def test_kv_cache_respects_the_context_window(model):
    cache = model.new_cache()
    model(ids_for(TINY, 15), cache)
    model([3], cache)
    with pytest.raises(ValueError, match="context window"):
        model([3], cache)
    assert cache.length == 16  # a refused call leaves the cache as it was


# checkpoint files


def test_save_and_load_round_trip(model, tmp_path):
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]  # no temporary file left
    assert json.loads((tmp_path / "config.json").read_text())["n_layer"] == 2
    loaded = GPT.from_pretrained(tmp_path)
    assert loaded.config == TINY
    for name, w in model.params.items():
        np.testing.assert_array_equal(loaded.params[name], w)
    ids = ids_for(TINY, 5)
    np.testing.assert_array_equal(loaded(ids), model(ids))


def write_checkpoint(directory, config, tensors):
    from safetensors.numpy import save_file

    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})


def test_load_accepts_hf_buffers_tied_head_missing_prefix_and_float16(model, tmp_path):
    tensors = {name.removeprefix("transformer."): w.astype(np.float16) for name, w in model.params.items()}
    for i in range(TINY.n_layer):
        tensors[f"h.{i}.attn.bias"] = np.tril(np.ones((1, 1, 16, 16), np.float16))
        tensors[f"h.{i}.attn.masked_bias"] = np.array(-1e4, np.float16)
    tensors["lm_head.weight"] = tensors["wte.weight"].copy()
    write_checkpoint(tmp_path, {**TINY.to_dict(), "resid_pdrop": 0.1}, tensors)
    loaded = GPT.from_pretrained(tmp_path)
    assert loaded.params["transformer.h.1.mlp.c_fc.weight"].dtype == np.float32
    np.testing.assert_allclose(loaded.params["transformer.wpe.weight"], model.params["transformer.wpe.weight"], atol=1e-3)


def test_load_reports_a_bad_checkpoint(model, tmp_path):
    with pytest.raises(ValueError, match="config.json"):
        GPT.from_pretrained(tmp_path)
    tensors = dict(model.params)
    del tensors["transformer.ln_f.weight"]
    write_checkpoint(tmp_path, TINY.to_dict(), tensors)
    with pytest.raises(ValueError, match="missing.*ln_f"):
        GPT.from_pretrained(tmp_path)
    write_checkpoint(tmp_path, {**TINY.to_dict(), "n_embd": 24}, dict(model.params))
    with pytest.raises(ValueError, match="shape"):
        GPT.from_pretrained(tmp_path)


def test_load_reports_unreadable_weights(model, tmp_path):
    import struct

    model.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="safetensors"):
        GPT.from_pretrained(tmp_path)
    # bfloat16 has no NumPy dtype
    header = json.dumps({"transformer.wte.weight": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}).encode()
    header += b" " * (-len(header) % 8)
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    with pytest.raises(ValueError, match="NumPy"):
        GPT.from_pretrained(tmp_path)
