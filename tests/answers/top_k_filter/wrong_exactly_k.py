"""Wrong: keeps exactly k tokens (ties at the boundary dropped)."""
import numpy as np


def top_k_filter(logits, k):
    if k == 0:
        return logits.copy()
    order = np.argsort(-logits, axis=-1)
    keep = np.zeros(logits.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :k], True, axis=-1)
    return np.where(keep, logits, -np.inf)
