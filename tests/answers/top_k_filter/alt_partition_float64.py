"""Valid: np.partition, float64 result, explicit loop over rows."""
import numpy as np


def top_k_filter(logits, k):
    logits = np.asarray(logits, dtype=np.float64)
    if k == 0:
        return logits.copy()
    flat = logits.reshape(-1, logits.shape[-1]).copy()
    for row in flat:
        if k < row.size:
            kth = np.partition(row, row.size - k)[row.size - k]
            row[row < kth] = -np.inf
    return flat.reshape(logits.shape)
