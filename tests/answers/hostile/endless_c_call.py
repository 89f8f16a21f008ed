"""A long call inside C, which no Python-level alarm interrupts: the parent kills it."""


def softmax(x, axis=-1):
    return sum(range(10**13))
