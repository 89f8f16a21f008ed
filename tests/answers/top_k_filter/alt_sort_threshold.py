"""Valid: the k-th largest from a full sort, then a threshold."""
import numpy as np


def top_k_filter(logits, k):
    if k == 0 or k >= logits.shape[-1]:
        return logits.copy()
    kth = np.sort(logits, axis=-1)[..., -k][..., None]
    return np.where(logits >= kth, logits, -np.inf).astype(logits.dtype)
