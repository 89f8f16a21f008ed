def logits_from_hidden(h, wte):
    return h @ wte.T
