"""Fine-tuning with the base model frozen: a linear classification head trained on its features.

The reference of the `train_classification_head` code card. (Fine-tuning the language model
itself, in three modes, is `engine.finetune_modes`.)

The base model only turns each example into a feature vector (its final hidden states, averaged
over positions); the head is multinomial logistic regression on those vectors, a convex problem
that plain gradient descent from zeros solves reliably. Shapes: N examples, C features, K classes.
"""

from __future__ import annotations

import numpy as np

from engine.layers import softmax


def train_classification_head(features, labels, n_classes, steps=500, lr=0.5):  # [N, C], [N] -> [C, K], [K]
    """The head (W, b) that lowers the mean cross-entropy of softmax(features @ W + b) by gradient descent.

    Starts from zeros and takes `steps` full-batch steps of size `lr`. The gradient of the mean
    cross-entropy with respect to the scores is (probabilities - one_hot(labels)) / N.
    """
    x = np.asarray(features, dtype=np.float32)  # [N, C]
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != x.shape[:1]:
        raise ValueError(f"features must be [N, C] and labels [N], got {x.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be integers in 0 .. {n_classes - 1}")
    n = x.shape[0]
    one_hot = np.eye(n_classes, dtype=np.float32)[y]  # [N, K]
    w = np.zeros((x.shape[1], n_classes), dtype=np.float32)  # [C, K]
    b = np.zeros(n_classes, dtype=np.float32)  # [K]
    for _ in range(steps):
        grad = (softmax(x @ w + b) - one_hot) / n  # [N, K]: d(mean loss) / d(scores)
        w -= lr * (x.T @ grad)  # [C, K]
        b -= lr * grad.sum(axis=0)  # [K]
    return w, b


def predict(features, w, b):  # [N, C], [C, K], [K] -> [N]
    """The class the head gives each example: the argmax of its scores."""
    return np.argmax(np.asarray(features) @ w + b, axis=-1)


def accuracy(features, labels, w, b) -> float:
    """The fraction of examples the head classifies correctly."""
    return float(np.mean(predict(features, w, b) == np.asarray(labels)))


def frozen_features(model, ids):  # [B, T] -> [B, C]
    """What a classification head reads: the model's final hidden states averaged over positions.

    Only the forward pass runs; nothing in `model` changes, which is what "frozen" means.
    """
    return model.hidden(np.asarray(ids)).mean(axis=1)
