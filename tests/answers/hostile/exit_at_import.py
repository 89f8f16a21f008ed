import sys

sys.exit("bye")


def softmax(x, axis=-1):
    return x
