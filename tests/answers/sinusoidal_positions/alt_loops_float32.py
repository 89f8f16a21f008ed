"""Valid: plain loops with math, float32 result."""
import math

import numpy as np


def sinusoidal_positions(n_positions, d_model):
    pe = np.zeros((n_positions, d_model), dtype=np.float32)
    for pos in range(n_positions):
        for col in range(d_model):
            angle = pos / 10000 ** ((col - col % 2) / d_model)
            pe[pos, col] = math.sin(angle) if col % 2 == 0 else math.cos(angle)
    return pe
