"""Training speed: engine/ (NumPy, hand-written backward) against the same model in PyTorch.

    python benchmarks/train.py [--rounds 3] [--seconds 20] [--threads 2] [--widths 64 128 256]

The model is the shipped one's shape at several widths: 4 layers, 4 heads, context 64, batch 12,
97 characters, tied head, AdamW (betas 0.9, 0.99; decay on 2-D weights), clipping at 1.0. Each
measurement is a fresh worker process (NumPy and torch in one process slow each other down on
2 cores) limited to the same number of threads; the parent alternates NumPy and PyTorch round
after round, so a busy moment on the machine hits both, and prints the medians in tokens/s.
A step is a whole training step: forward, backward, clipping, optimizer. The NumPy worker keeps
freed memory for reuse as `engine.train` does (`reuse_freed_memory`); `--tune-torch-malloc` gives
PyTorch the same setting.

Needs torch (the `reference` extra) for the PyTorch column.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VOCAB, LAYERS, HEADS, CONTEXT, BATCH = 97, 4, 4, 64, 12
WARMUP_STEPS = 5
TARGET = 0.7  # NumPy / PyTorch tokens/s to reach at widths >= 128
REPLY = "@@"  # marks the worker's answer line on stdout


# ------------------------------------------------------------------ workers


def timed_steps(step, seconds):
    """Tokens per second of `step` run repeatedly for about `seconds` after a few warm-up steps."""
    for _ in range(WARMUP_STEPS):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n * BATCH * CONTEXT / (time.perf_counter() - start)


def numpy_worker(width, seconds):
    import numpy as np

    from engine import backward, optim
    from engine.model import GPT, GPTConfig
    from engine.train import reuse_freed_memory

    reuse_freed_memory()  # as engine.train does
    config = GPTConfig(vocab_size=VOCAB, n_positions=CONTEXT, n_embd=width, n_layer=LAYERS, n_head=HEADS)
    params = GPT.init(config, seed=0).params
    opt = optim.AdamW(params, lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    rng = np.random.default_rng(0)

    def step():
        x = rng.integers(0, VOCAB, (BATCH, CONTEXT))
        y = rng.integers(0, VOCAB, (BATCH, CONTEXT))
        _, grads = backward.loss_and_grads(params, config, x, y)
        optim.clip_grads(grads, 1.0)
        opt.step(grads)

    return timed_steps(step, seconds)


def torch_worker(width, seconds, threads, tune_malloc=False):
    import torch
    import torch.nn.functional as F
    from torch import nn

    if tune_malloc:
        sys.path.insert(0, str(REPO))
        from engine.train import reuse_freed_memory

        reuse_freed_memory()
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.c_attn, self.attn_proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.c_fc, self.mlp_proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

        def forward(self, x):  # [B, T, C]
            b, t, c = x.shape
            q, k, v = (a.view(b, t, HEADS, c // HEADS).transpose(1, 2) for a in self.c_attn(self.ln_1(x)).split(c, -1))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
            x = x + self.attn_proj(y)
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(VOCAB, width), nn.Embedding(CONTEXT, width)
            self.h = nn.ModuleList(Block() for _ in range(LAYERS))
            self.ln_f = nn.LayerNorm(width)

        def forward(self, ids, targets):
            x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
            for block in self.h:
                x = block(x)
            logits = self.ln_f(x) @ self.wte.weight.T  # tied head
            return F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))

    model = TorchGPT()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))

    def step():
        x = torch.randint(0, VOCAB, (BATCH, CONTEXT))
        y = torch.randint(0, VOCAB, (BATCH, CONTEXT))
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return timed_steps(step, seconds)


# ------------------------------------------------------------------ parent


def run_worker(kind, width, seconds, threads, tune_torch_malloc=False):
    env = os.environ | {name: str(threads) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    cmd = [sys.executable, __file__, "--worker", kind, "--width", str(width), "--seconds", str(seconds),
           "--threads", str(threads)] + (["--tune-torch-malloc"] if tune_torch_malloc else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith(REPLY))[len(REPLY):])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=20.0, help="timed seconds per measurement")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256])
    p.add_argument("--tune-torch-malloc", action="store_true",
                   help="give PyTorch the same malloc setting as engine.train (reuse_freed_memory)")
    p.add_argument("--worker", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--width", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker == "numpy":
        sys.path.insert(0, str(REPO))  # the engine package, not benchmarks/engine.py beside this script
        print(REPLY + json.dumps(numpy_worker(args.width, args.seconds)))
        return
    if args.worker == "torch":
        print(REPLY + json.dumps(torch_worker(args.width, args.seconds, args.threads, args.tune_torch_malloc)))
        return

    try:
        import torch  # noqa: F401  (only to know whether the PyTorch column can be filled)

        kinds = ("numpy", "torch")
    except ImportError:
        print("torch is not installed: NumPy only (pip install -e '.[reference]')", file=sys.stderr)
        kinds = ("numpy",)
    results = {(w, k): [] for w in args.widths for k in kinds}
    for r in range(args.rounds):
        for w in args.widths:
            order = kinds if r % 2 == 0 else kinds[::-1]
            for kind in order:
                results[w, kind].append(run_worker(kind, w, args.seconds, args.threads, args.tune_torch_malloc))
                print(f"round {r + 1}/{args.rounds} d={w} {kind}: {results[w, kind][-1]:,.0f} tok/s", file=sys.stderr)

    torch_malloc = "the same malloc setting" if args.tune_torch_malloc else "default malloc"
    print(f"\ntraining tokens/s, median of {args.rounds} rounds of {args.seconds:g} s, {args.threads} threads "
          f"({LAYERS} layers, {HEADS} heads, context {CONTEXT}, batch {BATCH}; PyTorch with {torch_malloc})\n")
    print(f"{'d':>5} {'numpy':>10} {'torch':>10} {'ratio':>7}  target")
    for w in args.widths:
        numpy_speed = statistics.median(results[w, "numpy"])
        if "torch" in kinds:
            torch_speed = statistics.median(results[w, "torch"])
            ratio = numpy_speed / torch_speed
            target = f">= {TARGET}: {'met' if ratio >= TARGET else 'MISSED'}" if w >= 128 else ""
            print(f"{w:>5} {numpy_speed:>10,.0f} {torch_speed:>10,.0f} {ratio:>6.2f}x  {target}")
        else:
            print(f"{w:>5} {numpy_speed:>10,.0f} {'-':>10} {'-':>7}")


if __name__ == "__main__":
    main()
