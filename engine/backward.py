"""Gradients of a GPT-2 language model: one forward and one backward function per layer.

The layout follows llm.c: each `*_forward` returns its output and a cache of exactly what its
`*_backward` needs; each `*_backward` takes the gradient of the loss with respect to the output
and returns the gradients with respect to the inputs and parameters. The forwards compute the
same functions as `engine.layers` (checked in the tests); they are written for speed on 2-D
(tokens, width) arrays and keep whatever dtype they are given, so float64 can check float32.

Shapes: N = B * T tokens, C width, H heads, D = C // H head width, V vocabulary.
`loss_and_grads` puts the layers together for the whole model, for every parameter (full
training), for the last block and the head, or for an untied head alone (fine-tuning).
"""

from __future__ import annotations

import math

import numpy as np

from engine.layers import GELU_COEF
from engine.model import block_params

GELU_SCALE = math.sqrt(2.0 / math.pi)
TRAIN_MODES = ("full", "last_block", "head")
HEAD = "lm_head.weight"  # an untied output head, present only after `untie_head`


# ---------------------------------------------------------------------------------------------
# embeddings


def embed_forward(ids, wte, wpe):  # [B, T] ints, [V, C], [P, C] -> [B, T, C]
    """Token plus position embeddings, and the ids the backward needs."""
    return wte[ids] + wpe[: ids.shape[1]], ids


def embed_backward(dx, ids, vocab_size):  # [B, T, C] -> [V, C], [T, C]
    """Gradients of the token and position tables (positions beyond T get none: rows of zeros).

    Rows of the token table receive the sum of dx over every place their token occurs: the ids
    are sorted so equal ones sit together, then each run is summed by np.add.reduceat
    (np.add.at does the same job many times slower).
    """
    b, t, c = dx.shape
    flat_ids = ids.reshape(-1)  # [N]
    order = np.argsort(flat_ids, kind="stable")  # [N]
    sorted_ids = flat_ids[order]
    starts = np.flatnonzero(np.diff(sorted_ids, prepend=-1))  # first index of each run of one id
    dwte = np.zeros((vocab_size, c), dtype=dx.dtype)
    dwte[sorted_ids[starts]] = np.add.reduceat(dx.reshape(-1, c)[order], starts, axis=0)
    return dwte, dx.sum(axis=0)  # [V, C], [T, C]


# ---------------------------------------------------------------------------------------------
# layer norm


def layer_norm_forward(x, w, b, eps=1e-5):  # [N, C], [C], [C] -> [N, C]
    """(x - mean) / sqrt(var + eps) * w + b over the last axis; caches x-hat, 1/std and w."""
    xc = x - x.mean(axis=-1, keepdims=True)  # [N, C]
    rstd = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)  # [N, 1]
    xhat = xc * rstd  # [N, C]
    return xhat * w + b, (xhat, rstd, w)


def layer_norm_backward(dy, cache):  # [N, C] -> [N, C], [C], [C]
    """dx, dw, db of layer norm.

    With g = dy * w, dx = (g - mean(g) - xhat * mean(g * xhat)) / std: the two means remove
    the parts of g that the normalisation's mean and variance would cancel.
    """
    xhat, rstd, w = cache
    g = dy * w  # [N, C]
    dx = (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True)) * rstd
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


# ---------------------------------------------------------------------------------------------
# linear (GPT-2's Conv1D: x @ W + b)


def linear_forward(x, w, b):  # [N, I], [I, O], [O] -> [N, O]
    """x @ w + b; the input is what the backward needs."""
    return x @ w + b, x


def linear_backward(dy, x, w, need_dx=True):  # [N, O] -> [N, I], [I, O], [O]
    """dx = dy w^T, dw = x^T dy, db = sum of dy over tokens (dx skipped when not needed)."""
    dx = dy @ w.T if need_dx else None
    return dx, x.T @ dy, dy.sum(axis=0)


# ---------------------------------------------------------------------------------------------
# causal multi-head self-attention (on the fused q, k, v projection)


def attention_forward(qkv, batch, n_head):  # [N, 3C] -> [N, C]
    """Causal multi-head attention of the fused projection qkv; caches q, k, v and the weights."""
    n, c3 = qkv.shape
    t, c = n // batch, c3 // 3
    d = c // n_head
    q, k, v = qkv.reshape(batch, t, 3, n_head, d).transpose(2, 0, 3, 1, 4)  # 3 x [B, H, T, D]
    scores = q @ k.swapaxes(-1, -2)  # [B, H, T, T]
    scores *= 1.0 / math.sqrt(d)
    scores += np.triu(np.full((t, t), -np.inf, dtype=qkv.dtype), 1)  # future positions -> -inf
    scores -= scores.max(axis=-1, keepdims=True)
    att = np.exp(scores, out=scores)  # [B, H, T, T]
    att /= att.sum(axis=-1, keepdims=True)
    out = att @ v  # [B, H, T, D]
    return out.transpose(0, 2, 1, 3).reshape(n, c), (q, k, v, att)


def attention_backward(dout, cache):  # [N, C] -> [N, 3C]
    """Gradient of the fused projection qkv.

    Through the softmax: dscores = att * (datt - sum(datt * att)) per row; masked positions
    have att = 0, so they get no gradient.
    """
    q, k, v, att = cache
    b, h, t, d = q.shape
    dout = dout.reshape(b, t, h, d).transpose(0, 2, 1, 3)  # [B, H, T, D]
    dv = att.swapaxes(-1, -2) @ dout  # [B, H, T, D]
    datt = dout @ v.swapaxes(-1, -2)  # [B, H, T, T]
    datt -= (datt * att).sum(axis=-1, keepdims=True)
    dscores = datt * att
    dscores *= 1.0 / math.sqrt(d)
    dq = dscores @ k  # [B, H, T, D]
    dk = dscores.swapaxes(-1, -2) @ q  # [B, H, T, D]
    dqkv = np.stack((dq, dk, dv)).transpose(1, 3, 0, 2, 4)  # [B, T, 3, H, D]
    return dqkv.reshape(b * t, 3 * h * d)


# ---------------------------------------------------------------------------------------------
# GELU


def gelu_forward(x):  # [N, F] -> [N, F]
    """GPT-2's tanh GELU, written as x * sigmoid(2u) with u = sqrt(2/pi) (x + 0.044715 x^3).

    0.5 (1 + tanh(u)) = sigmoid(2u) exactly; np.exp is vectorised where np.tanh is not, so this
    form is several times faster. Caches x and the sigmoid.
    """
    u = x * x  # [N, F]
    u *= GELU_COEF
    u += 1.0
    u *= x
    u *= -2.0 * GELU_SCALE  # -2u
    with np.errstate(over="ignore"):  # exp(-2u) = inf for very negative x gives s = 0, as it should
        s = np.exp(u, out=u)
    s += 1.0
    s = np.reciprocal(s, out=s)  # sigmoid(2u)
    return x * s, (x, s)


def gelu_backward(dy, cache):  # [N, F] -> [N, F]
    """dy * d/dx [x sigmoid(2u)] = dy * (s + 2 x s (1 - s) u'), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)."""
    x, s = cache
    du = x * x  # [N, F]
    du *= 3.0 * GELU_COEF * GELU_SCALE
    du += GELU_SCALE  # u'
    du *= x
    du *= 2.0
    du *= s
    du *= 1.0 - s
    du += s
    du *= dy
    return du


# ---------------------------------------------------------------------------------------------
# output head and cross-entropy


def cross_entropy_forward(logits, targets):  # [N, V], [N] -> scalar
    """Mean negative log-likelihood of the targets (nats per token); caches the probabilities."""
    n = logits.shape[0]
    shifted = logits - logits.max(axis=-1, keepdims=True)  # [N, V]
    e = np.exp(shifted)
    total = e.sum(axis=-1)  # [N]
    loss = float(np.mean(np.log(total) - shifted[np.arange(n), targets]))
    e /= total[:, None]
    return loss, (e, targets)


def cross_entropy_backward(cache):  # -> [N, V]
    """dloss/dlogits = (softmax(logits) - one_hot(targets)) / N."""
    probs, targets = cache
    n = probs.shape[0]
    dlogits = probs.copy()
    dlogits[np.arange(n), targets] -= 1.0
    dlogits *= 1.0 / n
    return dlogits


# ---------------------------------------------------------------------------------------------
# a transformer block


def block_forward(x, p, batch, n_head, eps):  # [N, C] -> [N, C]
    """Pre-norm attention then pre-norm MLP, each added to the residual stream; and the caches.

    `p` holds one block's parameters under their short names (`engine.model.block_params`).
    """
    a, ln_1 = layer_norm_forward(x, p["ln_1.weight"], p["ln_1.bias"], eps)
    qkv, c_attn = linear_forward(a, p["attn.c_attn.weight"], p["attn.c_attn.bias"])  # [N, 3C]
    y, attn = attention_forward(qkv, batch, n_head)
    y, attn_proj = linear_forward(y, p["attn.c_proj.weight"], p["attn.c_proj.bias"])
    x = x + y
    m, ln_2 = layer_norm_forward(x, p["ln_2.weight"], p["ln_2.bias"], eps)
    f, c_fc = linear_forward(m, p["mlp.c_fc.weight"], p["mlp.c_fc.bias"])  # [N, 4C]
    g, gelu = gelu_forward(f)
    y, mlp_proj = linear_forward(g, p["mlp.c_proj.weight"], p["mlp.c_proj.bias"])
    return x + y, (ln_1, c_attn, attn, attn_proj, ln_2, c_fc, gelu, mlp_proj)


def block_backward(dx, p, cache, need_dx=True):  # [N, C] -> [N, C], grads
    """The gradient flowing into the block, and the gradients of its parameters (short names)."""
    ln_1, c_attn, attn, attn_proj, ln_2, c_fc, gelu, mlp_proj = cache
    grads = {}
    dg, grads["mlp.c_proj.weight"], grads["mlp.c_proj.bias"] = linear_backward(dx, mlp_proj, p["mlp.c_proj.weight"])
    df = gelu_backward(dg, gelu)
    dm, grads["mlp.c_fc.weight"], grads["mlp.c_fc.bias"] = linear_backward(df, c_fc, p["mlp.c_fc.weight"])
    dres, grads["ln_2.weight"], grads["ln_2.bias"] = layer_norm_backward(dm, ln_2)
    dx = dx + dres  # the residual passes dx straight through
    dy, grads["attn.c_proj.weight"], grads["attn.c_proj.bias"] = linear_backward(dx, attn_proj, p["attn.c_proj.weight"])
    dqkv = attention_backward(dy, attn)
    da, grads["attn.c_attn.weight"], grads["attn.c_attn.bias"] = linear_backward(dqkv, c_attn, p["attn.c_attn.weight"])
    if need_dx:
        dres, grads["ln_1.weight"], grads["ln_1.bias"] = layer_norm_backward(da, ln_1)
        dx = dx + dres
    else:
        _, grads["ln_1.weight"], grads["ln_1.bias"] = layer_norm_backward(da, ln_1)
    return dx, grads


# ---------------------------------------------------------------------------------------------
# the whole model


def untie_head(params):
    """A copy of `params` with its own output head (`lm_head.weight`, a copy of the token table).

    With the head tied, training "only the head" would also move the input embeddings; after
    untying, the two are separate tensors and can be trained (or frozen) on their own.
    """
    return {**params, HEAD: params["transformer.wte.weight"].copy()}


def trainable_names(params, n_layer, mode="full"):
    """The names of the parameters that `mode` trains, in checkpoint order.

    full: every parameter; last_block: the last block, the final layer norm and the head;
    head: the output head alone. The two partial modes need an untied head (`untie_head`).
    """
    if mode not in TRAIN_MODES:
        raise ValueError(f"unknown training mode {mode!r}: choose one of {', '.join(TRAIN_MODES)}")
    if mode == "full":
        return list(params)
    if HEAD not in params:
        raise ValueError(f"training mode {mode!r} needs an untied head (untie_head(params)): "
                         "with a tied head the input embeddings would move too")
    if mode == "head":
        return [HEAD]
    last = f"transformer.h.{n_layer - 1}."
    return [name for name in params if name.startswith((last, "transformer.ln_f.")) or name == HEAD]


def forward(params, config, ids, targets, first_layer=0):  # [B, T], [B, T] -> loss, caches
    """The mean cross-entropy of `targets` given `ids`, and the caches for blocks >= first_layer.

    Blocks before `first_layer` are frozen: they run without keeping anything for a backward.
    """
    ids = np.asarray(ids)
    batch, t = ids.shape
    eps = config.layer_norm_epsilon
    wte = params["transformer.wte.weight"]
    x, emb = embed_forward(ids, wte, params["transformer.wpe.weight"])  # [B, T, C]
    x = x.reshape(batch * t, -1)  # [N, C]
    blocks = []
    for i in range(config.n_layer):
        x, cache = block_forward(x, block_params(params, i), batch, config.n_head, eps)
        blocks.append(cache if i >= first_layer else None)
    h, ln_f = layer_norm_forward(x, params["transformer.ln_f.weight"], params["transformer.ln_f.bias"], eps)
    head = params.get(HEAD, wte)
    logits = h @ head.T  # [N, V]
    loss, ce = cross_entropy_forward(logits, np.asarray(targets).reshape(-1))
    return loss, {"embed": emb, "blocks": blocks, "ln_f": ln_f, "h": h, "ce": ce}


def backward(params, config, caches, mode="full"):
    """Gradients of the loss for the parameters that `mode` trains (see `trainable_names`)."""
    names = trainable_names(params, config.n_layer, mode)
    wte = params["transformer.wte.weight"]
    tied = HEAD not in params
    head = params.get(HEAD, wte)
    grads = {}
    dlogits = cross_entropy_backward(caches["ce"])  # [N, V]
    grads[HEAD if not tied else "transformer.wte.weight"] = dlogits.T @ caches["h"]  # [V, C]
    if mode == "head":
        return {name: grads[name] for name in names}
    dh = dlogits @ head  # [N, C]
    dx, grads["transformer.ln_f.weight"], grads["transformer.ln_f.bias"] = layer_norm_backward(dh, caches["ln_f"])
    first = config.n_layer - 1 if mode == "last_block" else 0
    for i in reversed(range(first, config.n_layer)):
        dx, block_grads = block_backward(dx, block_params(params, i), caches["blocks"][i], need_dx=i > 0 or mode == "full")
        grads |= {f"transformer.h.{i}.{name}": g for name, g in block_grads.items()}
    if mode == "full":
        ids = caches["embed"]
        dwte, dwpe_used = embed_backward(dx.reshape(*ids.shape, -1), ids, config.vocab_size)
        if tied:
            grads["transformer.wte.weight"] += dwte
        else:
            grads["transformer.wte.weight"] = dwte
        dwpe = np.zeros_like(params["transformer.wpe.weight"])
        dwpe[: ids.shape[1]] = dwpe_used
        grads["transformer.wpe.weight"] = dwpe
    return {name: grads[name] for name in names}


def loss_and_grads(params, config, ids, targets, mode="full"):  # [B, T], [B, T] -> float, dict
    """The mean cross-entropy (nats per token) and its gradient for every parameter `mode` trains.

    `params` uses the checkpoint names of `engine.model`; add `lm_head.weight` (`untie_head`)
    for a separate output head. Any float dtype works; the gradients have the same dtype.
    """
    trainable_names(params, config.n_layer, mode)  # a bad mode fails before the forward
    first = {"full": 0, "last_block": config.n_layer - 1, "head": config.n_layer}[mode]
    loss, caches = forward(params, config, ids, targets, first_layer=first)
    return loss, backward(params, config, caches, mode)


def evaluate_loss(params, config, ids, targets):  # [B, T], [B, T] -> float
    """The mean cross-entropy of `targets` given `ids`, forward only (nothing kept for a backward)."""
    return forward(params, config, ids, targets, first_layer=config.n_layer)[0]
