"""Tries to lift its own memory limit, then allocates 3 GiB."""
import resource

import numpy as np


def softmax(x, axis=-1):
    try:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass
    big = np.ones((3 << 30) // 8)
    return big[: x.size].reshape(x.shape)
