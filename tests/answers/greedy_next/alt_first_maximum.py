"""Valid: the first position equal to the row's maximum."""
import numpy as np


def greedy_next(logits):
    is_max = logits == np.max(logits, axis=-1, keepdims=True)
    return np.argmax(is_max, axis=-1)
