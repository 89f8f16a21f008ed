"""Valid: float32 einsum over all heads at once, q scaled first, log-sum-exp softmax."""
import math

import numpy as np


def multi_head_attention(x, w_qkv, b_qkv, w_out, b_out, n_head):
    *batch, t, c = x.shape
    d = c // n_head
    qkv = np.einsum("...tc,cf->...tf", x, w_qkv) + b_qkv
    q, k, v = (a.reshape(*batch, t, n_head, d) for a in np.split(qkv, 3, axis=-1))
    scores = np.einsum("...qhd,...khd->...hqk", q * np.float32(1 / math.sqrt(d)), k)
    scores = np.where(np.arange(t)[:, None] >= np.arange(t)[None, :], scores, -np.inf)
    m = scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores - m - np.log(np.exp(scores - m).sum(axis=-1, keepdims=True)))
    out = np.einsum("...hqk,...khd->...qhd", weights, v).reshape(*batch, t, c)
    return out @ w_out + b_out
