import math

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def split_heads(x, n_head):
    *batch, t, c = x.shape
    return x.reshape(*batch, t, n_head, c // n_head).swapaxes(-3, -2)


def merge_heads(x):
    *batch, h, t, d = x.shape
    return x.swapaxes(-3, -2).reshape(*batch, t, h * d)


def multi_head_attention(x, w_qkv, b_qkv, w_out, b_out, n_head):
    q, k, v = np.split(x @ w_qkv + b_qkv, 3, axis=-1)
    q, k, v = (split_heads(a, n_head) for a in (q, k, v))
    t = x.shape[-2]
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
    scores = np.where(np.tril(np.ones((t, t), dtype=bool)), scores, -np.inf)
    return merge_heads(softmax(scores) @ v) @ w_out + b_out
