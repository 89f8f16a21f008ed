"""Four processes holding 700 MB each: 2.8 GB in one check, each under the per-process limit."""
import os

import numpy as np

children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = np.ones(700 << 20, dtype=np.uint8)  # touched: really resident
        os.write(1, b"held\n")
        import time

        time.sleep(2)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
