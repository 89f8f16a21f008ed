"""engine.backward: every gradient, against finite differences (always) and torch autograd (reference)."""

import math

import numpy as np
import pytest

from engine import backward as bw
from engine import layers
from engine.model import GPT, GPTConfig

TINY = GPTConfig(vocab_size=11, n_positions=8, n_embd=8, n_layer=2, n_head=2)


def tiny_params(config=TINY, dtype=np.float64, seed=0):
    """Random parameters of every kind made non-trivial (biases, layer norms), so each one matters."""
    params = GPT.init(config, seed=seed).params
    rng = np.random.default_rng(seed + 1)
    out = {}
    for name, w in params.items():
        noise = rng.standard_normal(w.shape) * (0.3 if w.ndim == 1 else 0.2)
        out[name] = (w + noise).astype(dtype)
    return out


def batch(config=TINY, b=3, t=7, seed=2):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, config.vocab_size, (b, t))
    ids[0, :3] = 4  # repeated tokens: their embedding gradients must add up
    return ids, rng.integers(0, config.vocab_size, (b, t))


def central_difference(f, x, i, h=1e-6):
    """d f() / d x[i] by central differences (x[i] is changed in place, then restored)."""
    old = x[i]
    x[i] = old + h
    up = f()
    x[i] = old - h
    down = f()
    x[i] = old
    return (up - down) / (2 * h)


def numeric_grad(f, x, h=1e-6):
    """Central differences of the scalar f() with respect to every entry of x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        grad[i] = central_difference(f, x, i, h)
    return grad


def assert_close_rel(got, want, tol):
    scale = max(np.abs(want).max(), 1e-12)
    assert np.abs(got - want).max() / scale <= tol


# ---------------------------------------------------------------------------------------------
# the forwards compute the same functions as engine.layers


def test_forwards_match_engine_layers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 8))
    w, b = rng.standard_normal(8), rng.standard_normal(8)
    np.testing.assert_allclose(bw.layer_norm_forward(x, w, b)[0], layers.layer_norm(x, w, b), rtol=1e-12, atol=1e-12)
    z = rng.standard_normal((5, 7)) * 4
    np.testing.assert_allclose(bw.gelu_forward(z)[0], layers.gelu(z), rtol=1e-12, atol=1e-14)
    w_qkv, b_qkv = rng.standard_normal((8, 24)), rng.standard_normal(24)
    w_out, b_out = rng.standard_normal((8, 8)), rng.standard_normal(8)
    xs = rng.standard_normal((2, 3, 8))  # [B, T, C]
    qkv = xs.reshape(6, 8) @ w_qkv + b_qkv
    out = bw.attention_forward(qkv, 2, n_head=2)[0] @ w_out + b_out
    want = layers.multi_head_attention(xs, w_qkv, b_qkv, w_out, b_out, n_head=2).reshape(6, 8)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


def test_gelu_forward_saturates_without_warnings():
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y, _ = bw.gelu_forward(x)
    np.testing.assert_allclose(y, [0, 0, 0, 50, 1e4], atol=1e-6)


def test_model_loss_matches_engine_model_logits():
    params = tiny_params(dtype=np.float32)
    ids, targets = batch()
    logits = GPT(TINY, params)(ids).astype(np.float64)  # [B, T, V]
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    want = -np.take_along_axis(logp, targets[..., None], -1).mean()
    assert bw.loss_and_grads(params, TINY, ids, targets)[0] == pytest.approx(want, rel=1e-5)
    assert bw.evaluate_loss(params, TINY, ids, targets) == pytest.approx(want, rel=1e-5)


def test_cross_entropy_of_uniform_logits_is_log_vocab():
    loss, cache = bw.cross_entropy_forward(np.zeros((4, 10)), np.array([0, 3, 9, 3]))
    assert loss == pytest.approx(math.log(10))
    dlogits = bw.cross_entropy_backward(cache)
    np.testing.assert_allclose(dlogits[1], (np.full(10, 0.1) - np.eye(10)[3]) / 4)


# ---------------------------------------------------------------------------------------------
# each backward against finite differences (float64, no torch needed)


def test_layer_norm_backward_finite_differences():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal(6)
    dy = rng.standard_normal((4, 6))
    f = lambda: float((bw.layer_norm_forward(x, w, b)[0] * dy).sum())
    dx, dw, db = bw.layer_norm_backward(dy, bw.layer_norm_forward(x, w, b)[1])
    for got, arg in ((dx, x), (dw, w), (db, b)):
        assert_close_rel(got, numeric_grad(f, arg), 1e-7)


def test_gelu_backward_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5)) * 3
    dy = rng.standard_normal((3, 5))
    f = lambda: float((bw.gelu_forward(x)[0] * dy).sum())
    assert_close_rel(bw.gelu_backward(dy, bw.gelu_forward(x)[1]), numeric_grad(f, x), 1e-7)


def test_attention_backward_finite_differences():
    rng = np.random.default_rng(3)
    b, t, h, d = 2, 4, 2, 3
    qkv = rng.standard_normal((b * t, 3 * h * d))
    dout = rng.standard_normal((b * t, h * d))
    f = lambda: float((bw.attention_forward(qkv, b, h)[0] * dout).sum())
    got = bw.attention_backward(dout, bw.attention_forward(qkv, b, h)[1])
    assert_close_rel(got, numeric_grad(f, qkv), 1e-7)


def test_linear_and_cross_entropy_backward_finite_differences():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 7)), rng.standard_normal(7)
    targets = np.array([0, 6, 2, 2, 5])
    f = lambda: bw.cross_entropy_forward(bw.linear_forward(x, w, b)[0], targets)[0]
    logits, x_cache = bw.linear_forward(x, w, b)
    dlogits = bw.cross_entropy_backward(bw.cross_entropy_forward(logits, targets)[1])
    dx, dw, db = bw.linear_backward(dlogits, x_cache, w)
    for got, arg in ((dx, x), (dw, w), (db, b)):
        assert_close_rel(got, numeric_grad(f, arg), 1e-7)


def test_embedding_backward_sums_repeated_tokens():
    rng = np.random.default_rng(5)
    ids = np.array([[3, 1, 3, 3], [0, 1, 9, 3]])
    dx = rng.standard_normal((2, 4, 5))
    dwte, dwpe = bw.embed_backward(dx, ids, vocab_size=10)
    want = np.zeros((10, 5))
    np.add.at(want, ids.reshape(-1), dx.reshape(-1, 5))  # the slow, obvious way
    np.testing.assert_allclose(dwte, want, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(dwpe, dx.sum(0))
    assert not dwte[[2, 4, 5, 6, 7, 8]].any()  # tokens that never occur get no gradient


@pytest.mark.parametrize("mode", ["full", "full-untied", "last_block", "head"])
def test_model_gradients_finite_differences(mode):
    """A few entries of every trainable tensor of a tiny model, against central differences."""
    params = tiny_params()
    if mode != "full":
        params = bw.untie_head(params)
        params[bw.HEAD] += np.random.default_rng(7).standard_normal(params[bw.HEAD].shape) * 0.1
    train = "full" if mode.startswith("full") else mode
    ids, targets = batch()
    loss, grads = bw.loss_and_grads(params, TINY, ids, targets, train)
    assert grads and list(grads) == bw.trainable_names(params, TINY.n_layer, train)
    f = lambda: bw.evaluate_loss(params, TINY, ids, targets)
    rng = np.random.default_rng(8)
    for name, g in grads.items():
        w = params[name]
        flat = [np.unravel_index(i, w.shape) for i in rng.choice(w.size, min(4, w.size), replace=False)]
        if name == "transformer.wte.weight":
            flat.append((4, 0))  # a token that occurs several times
        for i in flat:
            assert g[i] == pytest.approx(central_difference(f, w, i), rel=1e-5, abs=1e-9), (name, i)


def test_wpe_gradient_only_for_used_positions():
    params = tiny_params()
    ids, targets = batch(t=5)
    _, grads = bw.loss_and_grads(params, TINY, ids, targets)
    assert grads["transformer.wpe.weight"][:5].any()
    assert not grads["transformer.wpe.weight"][5:].any()


def test_partial_modes_need_an_untied_head():
    params = tiny_params()
    ids, targets = batch()
    for mode in ("head", "last_block"):
        with pytest.raises(ValueError, match="untied head"):
            bw.loss_and_grads(params, TINY, ids, targets, mode)
    with pytest.raises(ValueError, match="unknown training mode"):
        bw.trainable_names(params, TINY.n_layer, "everything")
    untied = bw.untie_head(params)
    assert untied[bw.HEAD] is not params["transformer.wte.weight"]
    assert bw.trainable_names(untied, TINY.n_layer, "head") == [bw.HEAD]
    last = bw.trainable_names(untied, TINY.n_layer, "last_block")
    assert bw.HEAD in last and "transformer.ln_f.weight" in last and "transformer.h.1.mlp.c_fc.weight" in last
    assert not any(n.startswith(("transformer.h.0.", "transformer.wte", "transformer.wpe")) for n in last)


def test_float32_stays_float32():
    params = tiny_params(dtype=np.float32)
    ids, targets = batch()
    _, grads = bw.loss_and_grads(params, TINY, ids, targets)
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}


# ---------------------------------------------------------------------------------------------
# against torch autograd


def torch_loss(torch, p, config, ids, targets):
    """The same model written with torch.nn.functional, for autograd to differentiate."""
    F = torch.nn.functional
    c, n_head = config.n_embd, config.n_head
    eps = config.layer_norm_epsilon
    x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][: ids.shape[1]]
    for i in range(config.n_layer):
        q = lambda name: p[f"transformer.h.{i}.{name}"]
        a = F.layer_norm(x, (c,), q("ln_1.weight"), q("ln_1.bias"), eps)
        qkv = a @ q("attn.c_attn.weight") + q("attn.c_attn.bias")
        heads = [t.reshape(*t.shape[:2], n_head, c // n_head).transpose(1, 2) for t in qkv.split(c, -1)]
        y = F.scaled_dot_product_attention(*heads, is_causal=True).transpose(1, 2).reshape(x.shape)
        x = x + y @ q("attn.c_proj.weight") + q("attn.c_proj.bias")
        m = F.layer_norm(x, (c,), q("ln_2.weight"), q("ln_2.bias"), eps)
        f = F.gelu(m @ q("mlp.c_fc.weight") + q("mlp.c_fc.bias"), approximate="tanh")
        x = x + f @ q("mlp.c_proj.weight") + q("mlp.c_proj.bias")
    h = F.layer_norm(x, (c,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    head = p.get(bw.HEAD, p["transformer.wte.weight"])
    return F.cross_entropy((h @ head.T).reshape(-1, config.vocab_size), targets.reshape(-1))


def torch_grads(torch, params, config, ids, targets, names, dtype):
    tensors = {n: torch.tensor(w, dtype=dtype, requires_grad=n in names) for n, w in params.items()}
    loss = torch_loss(torch, tensors, config, torch.tensor(ids), torch.tensor(targets))
    loss.backward()
    return loss.item(), {n: tensors[n].grad.numpy() for n in names}


REF = GPTConfig(vocab_size=23, n_positions=16, n_embd=16, n_layer=3, n_head=4)


@pytest.mark.reference
@pytest.mark.parametrize("mode", ["full", "full-untied", "last_block", "head"])
def test_gradients_match_torch_float64(mode):
    torch = pytest.importorskip("torch")
    params = tiny_params(REF)
    if mode != "full":
        params = bw.untie_head(params)
    train = "full" if mode.startswith("full") else mode
    ids, targets = batch(REF, b=4, t=16)
    loss, grads = bw.loss_and_grads(params, REF, ids, targets, train)
    names = bw.trainable_names(params, REF.n_layer, train)
    want_loss, want = torch_grads(torch, params, REF, ids, targets, names, torch.float64)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert names and list(grads) == names == list(want)
    for name in names:
        err = np.abs(grads[name] - want[name]).max() / np.abs(want[name]).max()
        assert err <= 1e-10, (name, err)


@pytest.mark.reference
@pytest.mark.parametrize("mode", ["full", "last_block", "head"])
def test_gradients_match_torch_float32(mode):
    torch = pytest.importorskip("torch")
    params = tiny_params(REF, dtype=np.float32)
    if mode != "full":
        params = bw.untie_head(params)
    ids, targets = batch(REF, b=4, t=16)
    _, grads = bw.loss_and_grads(params, REF, ids, targets, mode)
    names = bw.trainable_names(params, REF.n_layer, mode)
    _, want = torch_grads(torch, params, REF, ids, targets, names, torch.float32)
    assert names and list(grads) == names == list(want)
    for name in names:
        assert grads[name].dtype == np.float32
        np.testing.assert_allclose(grads[name], want[name], atol=1e-6, rtol=1e-4, err_msg=name)
