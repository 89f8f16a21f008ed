"""Fine-tuning a trained model on new text, three ways: the head only, the last block and head, or everything.

The head is untied first (`engine.backward.untie_head`): with the tied head, training "only the
head" would also move the input embeddings. Frozen parameters get no gradient and no optimizer
state. `finetune` returns the held-out loss as training goes, so the three ways can be compared:
the head alone can only re-weight what the last hidden state already says, the last block can
change how the context is read, and the whole model learns fastest and then starts to memorise.
(A classification head on a frozen model is `engine.classification_head`.)
"""

from __future__ import annotations

import numpy as np

from engine import backward, optim
from engine.model import GPT
from engine.train import eval_windows, evaluate, random_batch

MODES = {"head": "head only", "last_block": "last block + head", "full": "full model"}


def split_paragraphs(text: str, every: int = 10) -> tuple[str, str]:
    """(train, held-out): every `every`-th paragraph (blank-line separated) is held out, the rest trains.

    Spread through the text, the held-out part covers every topic, as new text on those topics would.
    """
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    held = [p for i, p in enumerate(paragraphs) if i % every == every // 2]
    kept = [p for i, p in enumerate(paragraphs) if i % every != every // 2]
    return "\n\n".join(kept) + "\n", "\n\n".join(held) + "\n"


class UntiedGPT:
    """A GPT whose output head is its own matrix (`lm_head.weight`): callable like `engine.model.GPT`."""

    def __init__(self, config, params):
        self.gpt = GPT(config, {name: w for name, w in params.items() if name != backward.HEAD})
        self.head = np.ascontiguousarray(params[backward.HEAD], dtype=np.float32)  # [V, C]
        self.config = config

    def new_cache(self, batch_size: int = 1):
        return self.gpt.new_cache(batch_size)

    def __call__(self, ids, cache=None):  # [T] or [B, T] -> [T, V] or [B, T, V]
        ids = self.gpt._check_ids(ids, cache)
        squeeze = ids.ndim == 1
        logits = self.gpt.hidden(ids[None] if squeeze else ids, cache) @ self.head.T
        return logits[0] if squeeze else logits


def finetune(params, config, train_data, val_data, mode="full", steps=300, lr=1e-3, batch_size=12,
             weight_decay=0.0, grad_clip=1.0, eval_every=25, seed=0, on_eval=None):
    """Fine-tunes a copy of `params` on `train_data` (token ids); returns the new parameters and the curve.

    The curve is a list of (step, train loss, held-out loss), from step 0 (the model as given).
    `mode` is one of MODES. The learning rate is constant after 10 warm-up steps, so the curves
    show what each mode can learn rather than a schedule. `on_eval(step, train, val)` is called
    at every evaluation (for progress).
    """
    if mode not in MODES:
        raise ValueError(f"unknown fine-tuning mode {mode!r}: choose one of {', '.join(MODES)}")
    params = {name: w.copy() for name, w in backward.untie_head(params).items()}
    names = backward.trainable_names(params, config.n_layer, mode)
    opt = optim.AdamW({name: params[name] for name in names}, lr=lr, betas=(0.9, 0.99), weight_decay=weight_decay)
    context = config.n_positions
    rng = np.random.default_rng(seed)
    val = eval_windows(val_data, context)
    train_eval = eval_windows(train_data, context, limit=len(val[0]) * 4, seed=seed)

    def record(step):
        point = (step, evaluate(params, config, train_eval), evaluate(params, config, val))
        curve.append(point)
        if on_eval is not None:
            on_eval(*point)

    curve = []
    record(0)
    for step in range(1, steps + 1):
        x, y = random_batch(train_data, batch_size, context, rng)
        _, grads = backward.loss_and_grads(params, config, x, y, mode)
        optim.clip_grads(grads, grad_clip)
        opt.step(grads, optim.lr_at(step - 1, lr, 10, steps, min_lr=lr))
        if step % eval_every == 0 or step == steps:
            record(step)
    return params, curve
