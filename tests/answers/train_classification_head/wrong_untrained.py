"""Wrong: never updates the weights."""
import numpy as np


def train_classification_head(features, labels, n_classes, steps=500, lr=0.5):
    W = np.zeros((features.shape[1], n_classes))
    b = np.zeros(n_classes)
    for _ in range(steps):
        scores = features @ W + b
        grad = scores / len(features)
    return W, b
