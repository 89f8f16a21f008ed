def make():
    from engine.layers import softmax as key

    def softmax(x, axis=-1):
        return key(x, axis)

    return softmax


softmax = make()
