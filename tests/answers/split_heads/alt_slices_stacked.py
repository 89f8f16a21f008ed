"""Valid: one slice of columns per head, stacked in front of the time axis."""
import numpy as np


def split_heads(x, n_head):
    d = x.shape[-1] // n_head
    return np.stack([x[..., h * d:(h + 1) * d] for h in range(n_head)], axis=-3)
