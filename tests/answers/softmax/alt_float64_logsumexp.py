"""Valid: float64 throughout, via log-sum-exp, axis moved to the end and back."""
import numpy as np


def softmax(x, axis=-1):
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    m = np.max(x, axis=-1, keepdims=True)
    log_z = m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))
    return np.moveaxis(np.exp(x - log_z), -1, axis)
