"""Valid: float32, the mean and the variance as explicit sums, multiplied by the reciprocal root."""
import numpy as np


def layer_norm(x, gamma, beta, eps=1e-5):
    d = x.shape[-1]
    mean = np.sum(x, axis=-1, keepdims=True) / np.float32(d)
    centred = x - mean
    var = np.sum(centred * centred, axis=-1, keepdims=True) / np.float32(d)
    return centred * (np.float32(1) / np.sqrt(var + np.float32(eps))) * gamma + beta
