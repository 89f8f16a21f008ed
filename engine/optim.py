"""Training a model's parameters: AdamW, gradient-norm clipping and a warm-up + cosine schedule.

The optimizer keeps its state in arrays shaped like the parameters and updates the parameters
in place, as `torch.optim.AdamW` does (same formulas, same order of operations), so the two can
be compared step by step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def decays(name, param) -> bool:
    """Whether weight decay applies: to 2-D weights (matrices and embeddings), not biases or norms."""
    return param.ndim >= 2


def grad_norm(grads) -> float:
    """The global L2 norm of all gradients together, as one long vector."""
    return math.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads.values()))


def clip_grads(grads, max_norm):
    """Scales every gradient in place so their global norm is at most `max_norm`; returns the norm before.

    Like torch.nn.utils.clip_grad_norm_: the factor is max_norm / (norm + 1e-6), applied only
    when it is below 1.
    """
    norm = grad_norm(grads)
    scale = max_norm / (norm + 1e-6)
    if scale < 1.0:
        for g in grads.values():
            g *= scale
    return norm


def lr_at(step, max_lr, warmup_steps, total_steps, min_lr=0.0, progress=None):
    """The learning rate for `step` (0-based): linear warm-up, then cosine decay to `min_lr`.

    Warm-up rises from max_lr / warmup_steps at step 0 to max_lr at step warmup_steps - 1.
    The decay follows `progress` (0 to 1) when given, e.g. the share of a time budget used;
    otherwise the share of the steps after warm-up taken so far.
    """
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if progress is None:
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    progress = min(max(progress, 0.0), 1.0)
    return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


@dataclass
class AdamW:
    """Adam with decoupled weight decay (Loshchilov & Hutter), on a dict of named parameters.

    Each step, for every parameter p with gradient g (t counts steps from 1):
        p -= lr * weight_decay * p             (2-D weights only, see `decays`)
        m = beta1 m + (1 - beta1) g
        v = beta2 v + (1 - beta2) g^2
        p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
    """

    params: dict
    lr: float = 1e-3
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.01

    def __post_init__(self):
        self.t = 0
        self.m = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.v = {name: np.zeros_like(p) for name, p in self.params.items()}

    def step(self, grads, lr=None):
        """Updates the parameters named in `grads` in place (the others are left alone)."""
        lr = self.lr if lr is None else float(lr)
        beta1, beta2 = self.betas
        self.t += 1
        step_size = lr / (1.0 - beta1**self.t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**self.t)
        for name, g in grads.items():
            p, m, v = self.params[name], self.m[name], self.v[name]
            if self.weight_decay and decays(name, p):
                p *= 1.0 - lr * self.weight_decay
            m *= beta1
            m += (1.0 - beta1) * g
            v *= beta2
            v += (1.0 - beta2) * (g * g)
            denom = np.sqrt(v)
            denom *= 1.0 / bias_correction2_sqrt
            denom += self.eps
            p -= step_size * (m / denom)
