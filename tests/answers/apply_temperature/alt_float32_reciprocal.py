"""Valid: float32 multiplication by a float32 reciprocal of the temperature."""
import numpy as np


def apply_temperature(logits, temperature):
    return logits * np.float32(1.0 / temperature)
