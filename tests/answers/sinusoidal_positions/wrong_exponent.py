"""Wrong: uses the column index itself in the exponent."""
import numpy as np


def sinusoidal_positions(n_positions, d_model):
    pos = np.arange(n_positions)[:, None]
    col = np.arange(d_model)
    angles = pos / 10000 ** (col / d_model)
    pe = np.where(col % 2 == 0, np.sin(angles), np.cos(angles))
    return pe.astype(np.float32)
