from engine import layers

softmax = lambda x, axis=-1: layers.softmax(x, axis)  # noqa: E731
