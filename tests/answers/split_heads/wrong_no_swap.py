"""Wrong: keeps the head axis after the time axis."""
def split_heads(x, n_head):
    *batch, t, c = x.shape
    return x.reshape(*batch, t, n_head, c // n_head)
