"""Raises an exception whose message holds a lone surrogate and terminal escape codes."""


def softmax(x, axis=-1):
    raise ValueError("bad \ud800 value \x1b[2J\x1b[31m")
