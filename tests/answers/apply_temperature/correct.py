def apply_temperature(logits, temperature):
    return logits / temperature
