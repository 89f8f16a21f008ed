"""engine/ (NumPy) against PyTorch + transformers at GPT-2-small size: speed and peak memory.

    python benchmarks/engine.py [--rounds 5] [--threads 2]

Both implementations load the same random GPT-2-small checkpoint (12 layers, 768 wide, 50257
tokens, float32), each in its own worker process limited to the same number of BLAS threads, so
neither slows the other and each one's peak RSS is its own. The parent runs the tasks in
interleaved rounds (NumPy, then PyTorch, round after round) and prints the medians:

- forward: logits for 256 tokens;
- greedy generation of 64 new tokens after a 32-token prompt, with the KV cache
  (engine.sampling.generate; transformers' generate) and without it (the whole sequence
  recomputed for every token, as nanoGPT's loop does; generate(use_cache=False)). Without the
  cache both compute the logits of the last position only, as transformers' generate does;
- peak RSS of each worker process.

The cache speed-up is given against two NumPy baselines: recomputing with the logits of the last
position only (what transformers' generate and nanoGPT do), and through `model(ids)`, which
gives the logits of every position.

Needs the `reference` extra (torch, transformers) for the PyTorch column.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FORWARD_TOKENS = 256
PROMPT_TOKENS = 32
NEW_TOKENS = 64
TASKS = ("forward", "generate_cached", "generate_uncached", "generate_uncached_all_logits")
SLOW_TASKS = ("generate_uncached", "generate_uncached_all_logits")  # run in fewer rounds
TORCH_TASKS = ("forward", "generate_cached", "generate_uncached")
TARGETS = {  # numpy / torch time ratio to stay under
    "forward": 1.0,
    "generate_cached": 0.6,
}
REPLY = "@@"  # marks the worker's answer lines on stdout


# ------------------------------------------------------------------ workers (one per implementation)


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def numpy_worker(checkpoint, threads):
    import numpy as np

    from engine.layers import logits_from_hidden
    from engine.model import GPT
    from engine.sampling import generate

    model = GPT.from_pretrained(checkpoint)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, model.config.vocab_size, FORWARD_TOKENS)
    prompt = ids[:PROMPT_TOKENS]

    def uncached():  # nanoGPT's loop: the whole sequence again for every token, logits of the last only
        tokens = list(prompt)
        for _ in range(NEW_TOKENS):
            h = model.hidden(np.array(tokens)[None])[0, -1]  # [C]
            tokens.append(int(np.argmax(logits_from_hidden(h, model.params["transformer.wte.weight"]))))
        return tokens[PROMPT_TOKENS:]

    def uncached_all_logits():  # the same through the public call, which gives every position's logits
        tokens = list(prompt)
        for _ in range(NEW_TOKENS):
            tokens.append(int(np.argmax(model(np.array(tokens))[-1])))
        return tokens[PROMPT_TOKENS:]

    return {
        "forward": lambda: model(ids).shape,
        "generate_cached": lambda: generate(model, prompt, NEW_TOKENS, temperature=0),
        "generate_uncached": uncached,
        "generate_uncached_all_logits": uncached_all_logits,
    }


def torch_worker(checkpoint, threads):
    import numpy as np
    import torch
    import transformers

    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()
    model = transformers.GPT2LMHeadModel.from_pretrained(checkpoint, dtype=torch.float32).eval()
    model.generation_config.eos_token_id = None  # always 64 new tokens
    rng = np.random.default_rng(0)
    ids = torch.as_tensor(rng.integers(0, model.config.vocab_size, (1, FORWARD_TOKENS)))
    prompt = ids[:, :PROMPT_TOKENS]
    mask = torch.ones_like(prompt)

    def gen(use_cache):
        with torch.inference_mode():
            out = model.generate(prompt, attention_mask=mask, max_new_tokens=NEW_TOKENS, do_sample=False, use_cache=use_cache)
        return out[0, PROMPT_TOKENS:].tolist()

    def forward():
        with torch.inference_mode():
            return model(ids).logits.shape

    return {"forward": forward, "generate_cached": lambda: gen(True), "generate_uncached": lambda: gen(False)}


def worker(kind, checkpoint, threads):
    """Answers the parent's commands (a task name per line) with one JSON line each."""
    sys.path.insert(0, str(REPO))
    tasks = (numpy_worker if kind == "numpy" else torch_worker)(checkpoint, threads)
    tasks["forward"]()  # warm-up: first-call allocations and lazy initialisation
    tasks["generate_cached"]()
    print(REPLY + json.dumps({"ready": True, "rss_mb": peak_rss_mb()}), flush=True)
    for line in sys.stdin:
        task = line.strip()
        if task == "quit":
            break
        start = time.perf_counter()
        result = tasks[task]()
        seconds = time.perf_counter() - start
        tokens = result if isinstance(result, list) else None
        print(REPLY + json.dumps({"seconds": seconds, "tokens": tokens, "rss_mb": peak_rss_mb()}), flush=True)


# ------------------------------------------------------------------ parent


class Worker:
    def __init__(self, kind, checkpoint, threads):
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, "--checkpoint", str(checkpoint), "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, cwd=REPO,
        )  # fmt: skip
        self.ready = self.read()

    def read(self):
        for line in self.process.stdout:
            if line.startswith(REPLY):
                return json.loads(line[len(REPLY) :])
        raise RuntimeError(f"worker exited with code {self.process.wait()}")

    def run(self, task):
        self.process.stdin.write(task + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self):
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait()


def make_checkpoint(directory):
    """A random GPT-2-small checkpoint (GPT-2's init), written by the engine in Hugging Face's format."""
    sys.path.insert(0, str(REPO))
    from engine.model import GPT, GPTConfig

    GPT.init(GPTConfig(), seed=0).save_pretrained(directory)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the fast tasks")
    parser.add_argument("--uncached-rounds", type=int, default=3, help="rounds of the slow uncached generation")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", choices=["numpy", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.checkpoint, args.threads)

    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401

        kinds = ("numpy", "torch")
    except ImportError:
        print("torch/transformers not installed: NumPy column only", file=sys.stderr)
        kinds = ("numpy",)

    with tempfile.TemporaryDirectory() as checkpoint:
        print("writing a random GPT-2-small checkpoint ...", file=sys.stderr)
        make_checkpoint(checkpoint)
        workers, loaded_rss = {}, {}
        for kind in kinds:  # loaded one after the other, so start-up does not overlap either
            workers[kind] = Worker(kind, checkpoint, args.threads)
            loaded_rss[kind] = workers[kind].ready["rss_mb"]
        times = {kind: {task: [] for task in TASKS} for kind in kinds}
        tokens, rss = {}, dict(loaded_rss)
        for r in range(args.rounds):
            for task in TASKS:
                if task in SLOW_TASKS and r >= args.uncached_rounds:
                    continue
                for kind in kinds:
                    if kind == "torch" and task not in TORCH_TASKS:
                        continue
                    reply = workers[kind].run(task)
                    times[kind][task].append(reply["seconds"])
                    tokens[kind, task] = reply["tokens"]
                    rss[kind] = reply["rss_mb"]
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        for w in workers.values():
            w.close()

    print_table(kinds, times, rss, tokens, args)


def print_table(kinds, times, rss, tokens, args):
    med = {k: {t: statistics.median(v) for t, v in times[k].items() if v} for k in kinds}
    torch = "torch" in kinds
    names = {
        "forward": f"forward, {FORWARD_TOKENS} tokens",
        "generate_cached": f"greedy {NEW_TOKENS} new tokens, KV cache",
        "generate_uncached": f"greedy {NEW_TOKENS} new tokens, no cache",
        "generate_uncached_all_logits": "  the same, logits of every position",
    }
    print(f"\nGPT-2 small (124M, float32, random weights), {args.threads} threads, medians of "
          f"{args.rounds} interleaved rounds ({args.uncached_rounds} without cache)\n")  # fmt: skip
    header = f"{'':40} {'NumPy':>10} {'PyTorch':>10} {'ratio':>7}  target"
    print(header)
    print("-" * len(header))

    def row(name, ours, theirs=None, unit="s", target=None, fmt="9.3f"):
        line = f"{name:40} {ours:{fmt}}{unit}"
        if theirs is not None:
            ratio = ours / theirs
            line += f" {theirs:{fmt}}{unit} {ratio:6.2f}x"
            if target is not None:
                line += f"  <= {target:.1f}x " + ("ok" if ratio <= target else "MISSED")
        print(line)

    for task in TASKS:
        theirs = med["torch"].get(task) if torch else None
        row(names[task], med["numpy"][task], theirs, target=TARGETS.get(task))
    row("ms per new token, KV cache", med["numpy"]["generate_cached"] / NEW_TOKENS * 1000,
        med["torch"]["generate_cached"] / NEW_TOKENS * 1000 if torch else None, unit="", fmt="9.1f")  # fmt: skip
    for task in SLOW_TASKS:
        speedup = med["numpy"][task] / med["numpy"]["generate_cached"]
        line = f"{'cache speed-up' if task == 'generate_uncached' else '  vs. every position':40} {speedup:9.1f}x"
        if torch and task in TORCH_TASKS:
            line += f" {med['torch'][task] / med['torch']['generate_cached']:9.1f}x"
        else:
            line += " " * 11
        print(line + f"{'':8}  NumPy >= 5x " + ("ok" if speedup >= 5 else "MISSED"))
    row("peak RSS (MB)", rss["numpy"], rss["torch"] if torch else None, unit="", target=1.0 if torch else None, fmt="9.0f")
    if torch:
        for task in ("generate_cached", "generate_uncached"):
            same = tokens["numpy", task] == tokens["torch", task]
            print(f"same greedy tokens as transformers ({task.split('_')[1]}): {'yes' if same else 'no'}")
        best = {t: min(times["numpy"][t]) / min(times["torch"][t]) for t in TORCH_TASKS}
        print("best round of each, NumPy / PyTorch: " + ", ".join(f"{t} {r:.2f}x" for t, r in best.items()))
    spread = max(statistics.pstdev(v) / statistics.mean(v) for k in kinds for v in times[k].values() if len(v) > 1)
    print(f"largest spread between rounds: {spread:.0%} of the mean (shared machine: compare ratios, not seconds)")


if __name__ == "__main__":
    main()
