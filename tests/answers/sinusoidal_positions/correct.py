import numpy as np


def sinusoidal_positions(n_positions, d_model):
    pos = np.arange(n_positions)[:, None]
    two_i = np.arange(0, d_model, 2)
    angles = pos / 10000 ** (two_i / d_model)
    pe = np.zeros((n_positions, d_model))
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return pe.astype(np.float32)
