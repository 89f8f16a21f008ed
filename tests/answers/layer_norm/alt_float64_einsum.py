"""Valid: float64, variance from einsum."""
import numpy as np


def layer_norm(x, gamma, beta, eps=1e-5):
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=-1, keepdims=True)
    var = np.einsum("...i,...i->...", centred, centred)[..., None] / x.shape[-1]
    return centred / np.sqrt(var + eps) * gamma + beta
