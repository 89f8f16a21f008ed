import functools

import engine.layers

softmax = functools.partial(engine.layers.softmax)
