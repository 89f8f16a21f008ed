"""Writes 200 MB into its working directory, one 1 MiB file at a time."""
import os

import numpy as np

print("PROBE " + os.getcwd(), flush=True)
chunk = b"x" * (1 << 20)
for i in range(200):
    with open(f"block_{i}.bin", "wb") as f:
        f.write(chunk)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
