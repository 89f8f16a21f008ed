import numpy as np


def greedy_next(logits):
    return np.argmax(logits, axis=-1)
