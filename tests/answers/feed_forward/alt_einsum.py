"""Valid: einsum in float64."""
import numpy as np


def feed_forward(x, w1, b1, w2, b2):
    h = np.einsum("...c,cf->...f", np.asarray(x, dtype=np.float64), w1) + b1
    h = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))
    return np.einsum("...f,fc->...c", h, w2) + b2
