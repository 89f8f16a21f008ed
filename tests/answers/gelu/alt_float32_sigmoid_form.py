"""Valid: 0.5 (1 + tanh(z)) = sigmoid(2z), so gelu(x) = x / (1 + exp(-2z)) (float32)."""
import math

import numpy as np


def gelu(x):
    z = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
    with np.errstate(over="ignore"):  # exp(-2z) overflows to inf for very negative x: x / inf = 0
        return x / (1 + np.exp(-2 * z))
