"""Valid: gradient descent with momentum in float32, a log-sum-exp cross-entropy gradient."""
import numpy as np


def train_classification_head(features, labels, n_classes, steps=500, lr=0.5):
    x = np.asarray(features, dtype=np.float32)
    n, d = x.shape
    targets = np.zeros((n, n_classes), dtype=np.float32)
    targets[np.arange(n), labels] = 1
    W = np.zeros((d, n_classes), dtype=np.float32)
    b = np.zeros(n_classes, dtype=np.float32)
    vel_w, vel_b = np.zeros_like(W), np.zeros_like(b)
    for _ in range(steps):
        scores = x @ W + b
        log_z = np.logaddexp.reduce(scores, axis=-1, keepdims=True)
        grad = (np.exp(scores - log_z) - targets) / n
        vel_w = 0.9 * vel_w - lr * (x.T @ grad)
        vel_b = 0.9 * vel_b - lr * grad.sum(axis=0)
        W += 0.1 * vel_w
        b += 0.1 * vel_b
    return W, b
