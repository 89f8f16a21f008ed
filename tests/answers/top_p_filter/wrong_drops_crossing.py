"""Wrong: keeps only tokens whose running mass (including themselves) is at most p."""
import numpy as np


def top_p_filter(logits, p):
    order = np.argsort(-logits, axis=-1)
    sorted_logits = np.take_along_axis(logits, order, axis=-1)
    e = np.exp(sorted_logits - sorted_logits[..., :1])
    probs = e / e.sum(axis=-1, keepdims=True)
    keep_sorted = np.cumsum(probs, axis=-1) <= p
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return np.where(keep, logits, -np.inf)
