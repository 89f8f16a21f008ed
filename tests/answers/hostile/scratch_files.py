"""Creates 100,000 empty files in its working directory."""
import os

import numpy as np

print("PROBE " + os.getcwd(), flush=True)
for i in range(100_000):
    os.close(os.open(f"f{i}", os.O_WRONLY | os.O_CREAT, 0o600))


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
