"""The model studycli ships, put to work: load it, stream text from it, fine-tune it on the study notes.

The shipped model is a character-level GPT that `engine.train` trained on Shakespeare (see
engine/models/shakespeare-char/README.md); any GPT-2 checkpoint directory with its tokenizer
files (vocab.json + merges.txt) works too. Plain functions returning plain data; the commands
in `cli.py` only print what comes back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import engine
from studycli.errors import UsageError

SHIPPED_MODEL = Path(engine.__file__).parent / "models" / "shakespeare-char"
FINETUNE_PROMPT = "Self-attention"


def one_blas_thread() -> None:
    """Decode with one BLAS thread: a token at a time is too little work to share, and a second
    thread only waits (on a busy machine, many times slower). Call before NumPy loads; an
    OPENBLAS_NUM_THREADS already set wins."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def load(model_dir=None):
    """(model, tokenizer) from a checkpoint directory, by default the shipped model."""
    from engine.model import GPT
    from engine.tokenizer import BPETokenizer, CharTokenizer

    directory = Path(model_dir) if model_dir is not None else SHIPPED_MODEL
    if not directory.is_dir():
        raise UsageError(f"{directory}: no such model directory")
    try:
        model = GPT.from_pretrained(directory)
    except (ValueError, OSError) as e:
        raise UsageError(str(e)) from None
    if (directory / "vocab.json").is_file() and (directory / "merges.txt").is_file():
        return model, BPETokenizer.from_dir(directory)
    record = directory / "training.json"
    is_char = record.is_file() and json.loads(record.read_text()).get("tokenizer") == "char"
    if is_char or model.config.vocab_size == CharTokenizer().vocab_size:
        return model, CharTokenizer()
    raise UsageError(f"{directory}: no tokenizer (vocab.json + merges.txt) beside the model")


def stream(model, tokenizer, prompt, max_tokens=200, temperature=0.8, top_k=0, top_p=1.0, seed=None):
    """The text `model` writes after `prompt`, piece by piece as it is generated.

    The same tokens as `engine.sampling.generate` with the same arguments (same seed, same
    text): temperature, then top-k, then top-p, then a draw; temperature 0 is greedy.
    """
    from engine.sampling import generate_stream

    ids = tokenizer.encode(prompt) or tokenizer.encode("\n")
    try:
        tokens = generate_stream(model, ids, max_tokens, temperature, top_k, top_p, seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return _pieces(tokenizer, tokens, max_tokens)


def _pieces(tokenizer, tokens, max_tokens):
    new, shown = [], ""
    for token in tokens:
        new.append(token)
        text = tokenizer.decode(new)
        if not text.endswith("\ufffd") or len(new) == max_tokens:  # wait for the rest of a split character
            yield text[len(shown):]
            shown = text


def vocabulary(model_dir=None) -> frozenset:
    """The words of the model's training text (words.txt beside it; empty if there is none)."""
    path = (Path(model_dir) if model_dir is not None else SHIPPED_MODEL) / "words.txt"
    return frozenset(path.read_text().split()) if path.is_file() else frozenset()


def word_share(text: str, model_dir=None) -> float:
    """The share of the words in `text` found in the model's training text: near 1 for fluent samples."""
    from engine.corpus import real_word_share

    return real_word_share(text, vocabulary(model_dir))


# ---------------------------------------------------------------------------------------------
# the sampler on a real model

SAMPLER_PROMPT = "ROMEO:\nBut soft, what light through yonder window b"
SAMPLER_SETTINGS = (  # (temperature, top_k, top_p): from looping through fluent to gibberish, in under a second
    (0.0, 0, 1.0), (0.8, 8, 0.9), (1.0, 0, 1.0), (2.0, 0, 1.0),
)
SAMPLE_CHARS = 80


def token_label(tokenizer, token: int) -> str:
    """A token as a learner can read it: quoted, with newlines and spaces visible."""
    text = tokenizer.decode([token])
    return repr(text) if text.strip() == text and text else repr(text).replace(" ", "\u2423")


def next_token_logits(model, tokenizer, prompt: str):
    """The model's logits for the token after `prompt` (cropped to its context window), float32 [V]."""
    import numpy as np

    ids = tokenizer.encode(prompt) or tokenizer.encode("\n")
    return model(np.array(ids[-model.config.n_positions:]))[-1]


def sampler_report(prompt=SAMPLER_PROMPT, model_dir=None, top_n=10, samples=SAMPLER_SETTINGS, sample_chars=SAMPLE_CHARS,
                   seed=0, **settings) -> dict:
    """`sampler.stages` on the model's real next-token distribution, plus samples at several settings.

    Each sample carries the share of its words found in the training text: near 1 when fluent,
    falling as the temperature makes the text gibberish.
    """
    from studycli import sampler

    model, tokenizer = load(model_dir)
    logits = next_token_logits(model, tokenizer, prompt)
    labels = [token_label(tokenizer, t) for t in range(model.config.vocab_size)]
    data = sampler.stages(logits.astype("float64"), labels, top_n=top_n, context=prompt, **settings)
    data["samples"] = []
    for temperature, top_k, top_p in samples:
        text = "".join(stream(model, tokenizer, prompt, sample_chars, temperature, top_k, top_p, seed))
        data["samples"].append({"temperature": temperature, "top_k": top_k, "top_p": top_p, "text": text,
                                "real_words": round(word_share(text, model_dir), 3)})
    return data


# ---------------------------------------------------------------------------------------------
# fine-tuning demo


def finetune_modes(selected: list[str] | None = None) -> list[str]:
    """The fine-tuning modes to run: `selected`, or all of them (head, last_block, full)."""
    from engine.finetune_modes import MODES

    return list(selected or MODES)


def finetune_report(model_dir=None, steps=300, lr=1e-3, seed=0, modes=None, sample_chars=160, on_eval=None):
    """Fine-tunes the model on the study notes in each mode; returns the curves, the best points and samples.

    JSON-ready: {"modes": {mode: {"label", "curve": [[step, train, val]], "best": [step, val],
    "sample"}}, "train_chars", "val_chars", "before": sample}.
    """
    from engine import corpus
    from engine.finetune_modes import MODES, UntiedGPT, finetune, split_paragraphs
    from engine.sampling import generate
    from engine.train import encode, reuse_freed_memory

    reuse_freed_memory()  # a third faster steps; see engine.train
    model, tokenizer = load(model_dir)
    train_text, val_text = split_paragraphs(corpus.study_notes())
    train_data, val_data = encode(train_text, tokenizer), encode(val_text, tokenizer)
    if min(len(train_data), len(val_data)) <= model.config.n_positions:
        raise UsageError("the notes are too short for this model's context")

    def sample_of(m):
        ids = generate(m, tokenizer.encode(FINETUNE_PROMPT), sample_chars, temperature=0.8, seed=seed)
        return FINETUNE_PROMPT + tokenizer.decode(ids)

    report = {"train_chars": len(train_data), "val_chars": len(val_data), "steps": steps, "lr": lr,
              "before": sample_of(model), "modes": {}}
    for mode in modes or MODES:
        if mode not in MODES:
            raise UsageError(f"unknown mode {mode!r}: choose from {', '.join(MODES)}")
        callback = (lambda step, tr, va, mode=mode: on_eval(mode, step, tr, va)) if on_eval else None
        params, curve = finetune(model.params, model.config, train_data, val_data, mode, steps=steps, lr=lr,
                                 seed=seed, on_eval=callback)
        best = min(curve, key=lambda point: point[2])
        report["modes"][mode] = {
            "label": MODES[mode],
            "curve": [[step, round(tr, 4), round(va, 4)] for step, tr, va in curve],
            "best": [best[0], round(best[2], 4)],
            "sample": sample_of(UntiedGPT(model.config, params)),
        }
    return report
