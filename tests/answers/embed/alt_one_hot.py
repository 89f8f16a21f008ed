"""Valid: one-hot matrix products."""
import numpy as np


def embed(ids, wte, wpe):
    ids = np.asarray(ids)
    one_hot = np.eye(wte.shape[0], dtype=wte.dtype)[ids]
    return one_hot @ wte + wpe[np.arange(ids.shape[-1])]
