"""Valid: argmax of the probabilities, a Python int for a single row."""
import numpy as np


def greedy_next(logits):
    logits = np.asarray(logits, dtype=np.float64)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    choice = np.argmax(e / e.sum(axis=-1, keepdims=True), axis=-1)
    return int(choice) if choice.ndim == 0 else choice
