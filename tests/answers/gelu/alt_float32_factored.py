"""Valid: the tanh form with the inner polynomial factored, x (1 + 0.044715 x^2), float32."""
import math

import numpy as np


def gelu(x):
    inner = np.float32(math.sqrt(2 / math.pi)) * x * (np.float32(1) + np.float32(0.044715) * np.square(x))
    half = np.float32(0.5) * x
    return half + half * np.tanh(inner)
