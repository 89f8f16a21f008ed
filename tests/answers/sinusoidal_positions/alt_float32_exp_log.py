"""Valid: the frequencies as exp(2i * -log(10000) / d_model), everything in float32 (the form
of many tutorials)."""
import math

import numpy as np


def sinusoidal_positions(n_positions, d_model):
    position = np.arange(n_positions, dtype=np.float32)[:, None]
    div_term = np.exp(np.arange(0, d_model, 2, dtype=np.float32) * np.float32(-math.log(10000.0) / d_model))
    pe = np.zeros((n_positions, d_model), dtype=np.float32)
    pe[:, 0::2] = np.sin(position * div_term)
    pe[:, 1::2] = np.cos(position * div_term[: d_model // 2])
    return pe
