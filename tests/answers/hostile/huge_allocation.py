"""Asks for 8 GiB and hides the MemoryError inside another exception."""
import numpy as np


def softmax(x, axis=-1):
    try:
        big = np.ones((1 << 30,), dtype=np.float64)
    except MemoryError as e:
        raise RuntimeError("could not build the table") from e
    return big
