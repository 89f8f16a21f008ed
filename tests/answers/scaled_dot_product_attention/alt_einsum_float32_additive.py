"""Valid: float32 einsum, q scaled before the product, an additive -inf mask, log-sum-exp softmax."""
import math

import numpy as np


def scaled_dot_product_attention(q, k, v, mask=None):
    q = q * np.float32(1 / math.sqrt(q.shape[-1]))
    scores = np.einsum("...qd,...kd->...qk", q, k)
    if mask is not None:
        scores = scores + np.where(mask, np.float32(0), np.float32(-np.inf))
    m = scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores - (m + np.log(np.exp(scores - m).sum(axis=-1, keepdims=True))))
    return np.einsum("...qk,...kd->...qd", weights, v)
