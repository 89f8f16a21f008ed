"""Valid: float32 tensordot, the biases added separately."""
import math

import numpy as np


def feed_forward(x, w1, b1, w2, b2):
    h = np.tensordot(x, w1, axes=([-1], [0]))
    h += b1
    h = 0.5 * h * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * np.power(h, 3))))
    out = np.tensordot(h, w2, axes=([-1], [0]))
    return out + b2
