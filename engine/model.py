"""A GPT-2 decoder in NumPy, with Hugging Face's parameter names and checkpoint format.

Parameters live in one flat dict keyed exactly like a Hugging Face GPT-2 state dict, so loading a
checkpoint is a lookup and each array can be found in the paper and in transformers' source:

    transformer.wte.weight                 [V, C]   token embeddings (also the output head: tied)
    transformer.wpe.weight                 [P, C]   learned position embeddings
    transformer.h.{i}.ln_1.weight / .bias  [C]      layer norm before attention
    transformer.h.{i}.attn.c_attn.weight   [C, 3C]  query, key, value projections (Conv1D: x @ W + b)
    transformer.h.{i}.attn.c_proj.weight   [C, C]   attention output projection
    transformer.h.{i}.ln_2.weight / .bias  [C]      layer norm before the MLP
    transformer.h.{i}.mlp.c_fc.weight      [C, 4C]  MLP up projection
    transformer.h.{i}.mlp.c_proj.weight    [4C, C]  MLP down projection
    transformer.ln_f.weight / .bias        [C]      final layer norm
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.layers import (
    causal_mask,
    embed,
    feed_forward,
    layer_norm,
    logits_from_hidden,
    merge_heads,
    multi_head_attention,
    qkv_heads,
    scaled_dot_product_attention,
)

INIT_STD = 0.02  # GPT-2's initializer_range
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
# Buffers and the tied head that Hugging Face checkpoints may carry; they hold no extra parameters.
IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")
IGNORED_KEYS = ("lm_head.weight",)


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT-2 model; the defaults are GPT-2 small (124M parameters)."""

    vocab_size: int = 50257  # tokens in the vocabulary
    n_positions: int = 1024  # context window: the longest sequence the model can read
    n_embd: int = 768  # model width C
    n_layer: int = 12  # transformer blocks
    n_head: int = 12  # attention heads per block; head width is n_embd // n_head
    layer_norm_epsilon: float = 1e-5

    def __post_init__(self):
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")

    @classmethod
    def from_dict(cls, d: dict) -> GPTConfig:
        """The config described by a Hugging Face GPT-2 `config.json` dict (other keys ignored)."""
        if d.get("model_type", "gpt2") != "gpt2":
            raise ValueError(f"not a GPT-2 config: model_type is {d['model_type']!r}")
        unsupported = {
            "activation_function": ("gelu_new", None),
            "n_inner": (None, 4 * d.get("n_embd", cls.n_embd)),
            "scale_attn_weights": (True,),
            "scale_attn_by_inverse_layer_idx": (False,),
            "tie_word_embeddings": (True,),
        }
        for key, allowed in unsupported.items():
            if key in d and d[key] not in allowed:
                raise ValueError(f"unsupported GPT-2 variant: {key} = {d[key]!r}")
        names = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon")
        return cls(**{name: d[name] for name in names if name in d})

    def to_dict(self) -> dict:
        """A Hugging Face GPT-2 `config.json` dict for this config."""
        return {
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            **asdict(self),
            "n_ctx": self.n_positions,
            "activation_function": "gelu_new",
            "initializer_range": INIT_STD,
            "tie_word_embeddings": True,
        }


def parameter_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every parameter, in checkpoint order."""
    c = config.n_embd
    shapes = {
        "transformer.wte.weight": (config.vocab_size, c),
        "transformer.wpe.weight": (config.n_positions, c),
    }
    layer_shapes = {
        "ln_1.weight": (c,), "ln_1.bias": (c,),
        "attn.c_attn.weight": (c, 3 * c), "attn.c_attn.bias": (3 * c,),
        "attn.c_proj.weight": (c, c), "attn.c_proj.bias": (c,),
        "ln_2.weight": (c,), "ln_2.bias": (c,),
        "mlp.c_fc.weight": (c, 4 * c), "mlp.c_fc.bias": (4 * c,),
        "mlp.c_proj.weight": (4 * c, c), "mlp.c_proj.bias": (c,),
    }  # fmt: skip
    for i in range(config.n_layer):
        shapes |= {f"transformer.h.{i}.{name}": shape for name, shape in layer_shapes.items()}
    shapes |= {"transformer.ln_f.weight": (c,), "transformer.ln_f.bias": (c,)}
    return shapes


def block_params(params, i):
    """The parameters of block i, keyed without the `transformer.h.{i}.` prefix (e.g. "ln_1.weight")."""
    prefix = f"transformer.h.{i}."
    return {name.removeprefix(prefix): w for name, w in params.items() if name.startswith(prefix)}


class KVCache:
    """Keys and values of the positions already processed, per layer, for incremental decoding.

    Feeding a sequence in pieces through the same cache gives the logits of one full pass: each
    new piece attends to the stored keys and values instead of recomputing them. The arrays are
    allocated once for the whole context window and filled in place.
    """

    def __init__(self, config: GPTConfig, batch_size: int = 1):
        head_dim = config.n_embd // config.n_head
        shape = (config.n_layer, batch_size, config.n_head, config.n_positions, head_dim)
        self.keys = np.zeros(shape, dtype=np.float32)  # [L, B, H, P, D]
        self.values = np.zeros(shape, dtype=np.float32)  # [L, B, H, P, D]
        self.length = 0  # positions stored so far

    @property
    def batch_size(self) -> int:
        return self.keys.shape[1]

    def update(self, layer, k, v):  # [B, H, T, D] x 2 -> [B, H, length + T, D] x 2
        """Stores the new positions' keys and values after the old ones; returns all of them."""
        end = self.length + k.shape[-2]
        self.keys[layer, :, :, self.length : end] = k
        self.values[layer, :, :, self.length : end] = v
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]


def cached_attention(x, w_qkv, b_qkv, w_out, b_out, n_head, cache, layer):  # [B, T, C] -> [B, T, C]
    """multi_head_attention for T new positions that also attend to the positions in `cache`."""
    past = cache.length
    q, k, v = qkv_heads(x, w_qkv, b_qkv, n_head)  # 3 x [B, H, T, D]
    k, v = cache.update(layer, k, v)  # [B, H, past + T, D]
    if q.shape[-2] == 1:
        mask = None  # a single new position sees every stored one: nothing to hide
    else:
        mask = causal_mask(k.shape[-2])[past:]  # [T, past + T]: new position i sees keys 0 .. past + i
    out = scaled_dot_product_attention(q, k, v, mask)  # [B, H, T, D]
    return merge_heads(out) @ w_out + b_out  # [B, T, C]


class GPT:
    """A GPT-2 language model: `model(ids)` gives next-token logits at every position."""

    def __init__(self, config: GPTConfig, params: dict[str, np.ndarray]):
        expected = parameter_shapes(config)
        missing = [name for name in expected if name not in params]
        unexpected = [name for name in params if name not in expected]
        if missing or unexpected:
            raise ValueError(f"parameters do not match the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
        for name, shape in expected.items():
            if params[name].shape != shape:
                raise ValueError(f"parameter {name} has shape {params[name].shape}, expected {shape}")
        self.config = config
        self.params = {name: np.ascontiguousarray(params[name], dtype=np.float32) for name in expected}

    @classmethod
    def init(cls, config: GPTConfig, seed: int | None = None) -> GPT:
        """A randomly initialised model with GPT-2's scheme (same seed, same weights).

        Weights and embeddings ~ N(0, 0.02); the two projections that write into the residual
        stream (c_proj) get std 0.02 / sqrt(2 n_layer), so the stream's variance does not grow
        with depth; biases 0; layer norms start as the identity (weight 1, bias 0).
        """
        rng = np.random.default_rng(seed)
        proj_std = INIT_STD / math.sqrt(2 * config.n_layer)
        params = {}
        for name, shape in parameter_shapes(config).items():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                params[name] = np.ones(shape, dtype=np.float32)
            elif name.endswith(".bias"):
                params[name] = np.zeros(shape, dtype=np.float32)
            else:
                params[name] = rng.standard_normal(shape, dtype=np.float32)
                params[name] *= proj_std if name.endswith("c_proj.weight") else INIT_STD
        return cls(config, params)

    @classmethod
    def from_pretrained(cls, directory) -> GPT:
        """The model stored in a Hugging Face GPT-2 checkpoint directory (config.json + model.safetensors)."""
        from safetensors import safe_open

        directory = Path(directory)
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            if not (directory / name).is_file():
                raise ValueError(f"{directory / name} not found: a GPT-2 checkpoint needs {CONFIG_FILE} and {WEIGHTS_FILE}")
        config = GPTConfig.from_dict(json.loads((directory / CONFIG_FILE).read_text()))
        path = directory / WEIGHTS_FILE
        try:
            with safe_open(path, framework="np") as f:
                names = [name for name in f.keys() if name not in IGNORED_KEYS and not name.endswith(IGNORED_SUFFIXES)]
        except Exception as e:  # safetensors raises its own error type for a damaged file
            raise ValueError(f"{path} is not a readable safetensors file: {e}") from e
        params = {}
        for name in names:
            # One tensor per opening: the file is memory-mapped while open, and reading it all through
            # one mapping would hold the whole file in memory next to the copies (twice the size).
            with safe_open(path, framework="np") as f:
                try:
                    # Copied into memory NumPy allocates itself: NumPy asks the kernel for huge pages
                    # for large arrays, which makes the big matrix products about 25% faster.
                    array = np.array(f.get_tensor(name), dtype=np.float32)
                except TypeError as e:  # e.g. bfloat16, which NumPy cannot hold
                    raise ValueError(f"cannot read {name} from {path} with NumPy: {e}") from e
            if not name.startswith("transformer."):  # saved from GPT2Model, as the original gpt2 checkpoint
                name = "transformer." + name
            params[name] = array
        return cls(config, params)

    def save_pretrained(self, directory) -> None:
        """Writes config.json and model.safetensors, readable by `from_pretrained` and by transformers."""
        save_checkpoint(self.params, self.config, directory)

    def new_cache(self, batch_size: int = 1) -> KVCache:
        """An empty KV cache for this model."""
        return KVCache(self.config, batch_size)

    def __call__(self, ids, cache: KVCache | None = None):  # [T] or [B, T] -> [T, V] or [B, T, V]
        """float32 next-token logits at every position of `ids`.

        With a `cache`, `ids` continues the sequence already stored in it (positions
        cache.length onwards), and the cache is extended with them.
        """
        ids = self._check_ids(ids, cache)
        squeeze = ids.ndim == 1
        if squeeze:
            ids = ids[None]  # [1, T]
        logits = logits_from_hidden(self.hidden(ids, cache), self.params["transformer.wte.weight"])
        return logits[0] if squeeze else logits

    def hidden(self, ids, cache: KVCache | None = None):  # [B, T] -> [B, T, C]
        """The final hidden states (after ln_f) for `ids`; the caller has checked them."""
        p, cfg = self.params, self.config
        past = cache.length if cache is not None else 0
        x = embed(ids, p["transformer.wte.weight"], p["transformer.wpe.weight"][past:])  # [B, T, C]
        for i in range(cfg.n_layer):
            x = self.block(x, i, cache)
        if cache is not None:
            cache.length = past + ids.shape[-1]
        return layer_norm(x, p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], cfg.layer_norm_epsilon)

    def block(self, x, i, cache: KVCache | None = None):  # [B, T, C] -> [B, T, C]
        """Transformer block i: pre-norm attention, then pre-norm MLP, each added to the residual stream."""
        eps, n_head = self.config.layer_norm_epsilon, self.config.n_head
        p = block_params(self.params, i)
        attn = p["attn.c_attn.weight"], p["attn.c_attn.bias"], p["attn.c_proj.weight"], p["attn.c_proj.bias"]
        mlp = p["mlp.c_fc.weight"], p["mlp.c_fc.bias"], p["mlp.c_proj.weight"], p["mlp.c_proj.bias"]
        a = layer_norm(x, p["ln_1.weight"], p["ln_1.bias"], eps)
        if cache is None:
            x = x + multi_head_attention(a, *attn, n_head)
        else:
            x = x + cached_attention(a, *attn, n_head, cache, i)
        m = layer_norm(x, p["ln_2.weight"], p["ln_2.bias"], eps)
        return x + feed_forward(m, *mlp)

    def _check_ids(self, ids, cache):
        ids = np.asarray(ids)
        if ids.ndim not in (1, 2) or ids.shape[-1] == 0:
            raise ValueError(f"ids must have shape (T,) or (B, T) with T >= 1, got shape {ids.shape}")
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be integer token ids, got dtype {ids.dtype}")
        if ids.min() < 0 or ids.max() >= self.config.vocab_size:
            bad = ids[(ids < 0) | (ids >= self.config.vocab_size)].flat[0]
            raise ValueError(f"token id {bad} is outside the vocabulary (0 .. {self.config.vocab_size - 1})")
        past = cache.length if cache is not None else 0
        if past + ids.shape[-1] > self.config.n_positions:
            raise ValueError(
                f"{past + ids.shape[-1]} positions exceed the context window of {self.config.n_positions} tokens"
                + (f" ({past} already in the cache)" if past else "")
            )
        if cache is not None:
            batch = ids.shape[0] if ids.ndim == 2 else 1
            if batch != cache.batch_size:
                raise ValueError(f"batch of {batch} sequences does not match the cache's batch of {cache.batch_size}")
        return ids

    @property
    def n_params(self) -> int:
        """The number of parameters (the tied head counted once)."""
        return sum(a.size for a in self.params.values())


def save_checkpoint(params, config: GPTConfig, directory, dtype="float32") -> None:
    """Writes a GPT-2 checkpoint directory: config.json and model.safetensors (`params` in `dtype`).

    Readable by `GPT.from_pretrained` and by transformers; float16 halves the file. The weights
    go to a temporary file first, so a crash mid-write never leaves half a checkpoint.
    """
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    arrays = {name: np.ascontiguousarray(w, dtype=dtype) for name, w in params.items()}
    tmp = directory / (WEIGHTS_FILE + ".tmp")
    save_file(arrays, tmp, metadata={"format": "pt"})
    tmp.replace(directory / WEIGHTS_FILE)
