"""Valid: float32 powers of 10000, angles divided rather than multiplied."""
import numpy as np


def sinusoidal_positions(n_positions, d_model):
    pos = np.arange(n_positions, dtype=np.float32)[:, None]
    col = np.arange(d_model)
    angles = pos / np.power(np.float32(10000), (col - col % 2).astype(np.float32) / np.float32(d_model))
    return np.where(col % 2 == 0, np.sin(angles), np.cos(angles)).astype(np.float32)
