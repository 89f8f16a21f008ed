"""Wrong: multiplies by the temperature."""
def apply_temperature(logits, temperature):
    return logits * temperature
