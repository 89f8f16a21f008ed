"""Valid: float32 throughout, sort descending, keep while the mass before a token is below p."""
import numpy as np


def top_p_filter(logits, p):
    order = np.argsort(-logits, axis=-1, kind="stable")
    ranked = np.take_along_axis(logits, order, axis=-1)
    probs = np.exp(ranked - ranked[..., :1])
    probs = probs / probs.sum(axis=-1, keepdims=True)
    mass_before = np.concatenate([np.zeros_like(probs[..., :1]), np.cumsum(probs, axis=-1)[..., :-1]], axis=-1)
    keep_ranked = mass_before < np.float32(p)
    keep = np.zeros_like(keep_ranked)
    np.put_along_axis(keep, order, keep_ranked, axis=-1)
    return np.where(keep, logits, np.float32(-np.inf))
