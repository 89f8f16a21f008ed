"""Valid: concatenates the heads along the last axis."""
import numpy as np


def merge_heads(x):
    return np.concatenate([x[..., h, :, :] for h in range(x.shape[-3])], axis=-1)
