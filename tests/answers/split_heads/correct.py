def split_heads(x, n_head):
    *batch, t, c = x.shape
    return x.reshape(*batch, t, n_head, c // n_head).swapaxes(-3, -2)
