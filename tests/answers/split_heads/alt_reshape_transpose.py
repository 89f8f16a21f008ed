"""Valid: reshape, then an explicit permutation of the last three axes."""
import numpy as np


def split_heads(x, n_head):
    *batch, t, c = x.shape
    y = np.reshape(x, (*batch, t, n_head, c // n_head))
    lead = list(range(len(batch)))
    return np.transpose(y, (*lead, len(batch) + 1, len(batch), len(batch) + 2))
