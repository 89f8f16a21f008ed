def softmax(x, axis=-1):
    import importlib

    return importlib.import_module("engine.layers").softmax(x, axis)
