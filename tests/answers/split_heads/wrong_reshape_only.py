"""Wrong: reshapes straight to (..., n_head, T, D)."""
def split_heads(x, n_head):
    *batch, t, c = x.shape
    return x.reshape(*batch, n_head, t, c // n_head)
