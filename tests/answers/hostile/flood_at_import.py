"""Prints about 100 MB while being imported."""
import sys

sys.stdout.write("x" * 100_000_000)


def softmax(x, axis=-1):
    return x
