import engine.layers


class Key:
    def __init__(self):
        self.key = engine.layers.softmax

    def softmax(self, x, axis=-1):
        return self.key(x, axis)


softmax = Key().softmax
