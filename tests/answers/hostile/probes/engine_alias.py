from engine.layers import softmax as _key

softmax = _key
