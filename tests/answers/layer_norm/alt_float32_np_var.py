"""Valid: float32, np.var, gamma folded into the scale."""
import numpy as np


def layer_norm(x, gamma, beta, eps=1e-5):
    scale = gamma / np.sqrt(np.var(x, axis=-1, keepdims=True) + eps)
    return (x - np.mean(x, axis=-1, keepdims=True)) * scale + beta
