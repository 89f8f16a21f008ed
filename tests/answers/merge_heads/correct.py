def merge_heads(x):
    *batch, h, t, d = x.shape
    return x.swapaxes(-3, -2).reshape(*batch, t, h * d)
