"""Wrong: all sines, then all cosines."""
import numpy as np


def sinusoidal_positions(n_positions, d_model):
    pos = np.arange(n_positions)[:, None]
    two_i = np.arange(0, d_model, 2)
    angles = pos / 10000 ** (two_i / d_model)
    pe = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)[:, :d_model]
    return pe.astype(np.float32)
