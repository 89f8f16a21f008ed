from engine.layers import softmax
