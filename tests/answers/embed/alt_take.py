"""Valid: np.take for the tokens, positions from an explicit index array."""
import numpy as np


def embed(ids, wte, wpe):
    ids = np.asarray(ids)
    positions = np.arange(ids.shape[-1])
    return np.take(wte, ids, axis=0) + np.take(wpe, positions, axis=0)
