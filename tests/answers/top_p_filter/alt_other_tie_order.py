"""Valid: float64, a loop over rows, and ties broken towards the highest index."""
import numpy as np


def top_p_filter(logits, p):
    logits = np.asarray(logits, dtype=np.float64)
    out = np.full_like(logits, -np.inf)
    flat_in, flat_out = logits.reshape(-1, logits.shape[-1]), out.reshape(-1, logits.shape[-1])
    for row, dest in zip(flat_in, flat_out):
        probs = np.exp(row - row.max())
        probs /= probs.sum()
        order = sorted(range(row.size), key=lambda i: (-probs[i], -i))
        mass = 0.0
        for i in order:
            if mass >= p:
                break
            dest[i] = row[i]
            mass += probs[i]
    return out
