"""Valid: float32, GELU written in its sigmoid form x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))."""
import math

import numpy as np


def gelu(x):
    z = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
    with np.errstate(over="ignore"):
        return x / (1 + np.exp(-2 * z))


def feed_forward(x, w1, b1, w2, b2):
    return np.matmul(gelu(np.matmul(x, w1) + b1), w2) + b2
