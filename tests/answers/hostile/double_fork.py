"""A daemon: forks, starts a new session, forks again and sleeps; the answer itself is right."""
import os

import numpy as np


def softmax(x, axis=-1):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "314.1592"])
        os._exit(0)
    os.wait()
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
