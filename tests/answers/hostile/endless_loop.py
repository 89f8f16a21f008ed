"""An endless Python loop: the alarm in the child stops it."""


def softmax(x, axis=-1):
    while True:
        pass
