"""What the sampling parameters do to a next-token distribution: the data behind `study sampler`.

`stages()` runs logits through temperature, top-k and top-p with the engine's own functions and
returns, for the most likely tokens, their probability after each stage, how many tokens survive
each stage and how much probability mass each filter keeps. `render()` draws it as bars.
Plain data in, plain data out (JSON-ready), so the command stays a few lines.
"""

from __future__ import annotations

from studycli.errors import UsageError

# A made-up but plausible next-token distribution, for `study sampler --demo`.
DEMO_CONTEXT = "The cat sat on the"
DEMO_TOKENS = {
    " mat": 4.0, " floor": 3.2, " bed": 2.7, " couch": 2.5, " sofa": 2.1, " roof": 1.6, " chair": 1.4,
    " table": 1.1, " windowsill": 0.9, " grass": 0.4, " keyboard": -0.3, " fence": -0.8, " moon": -2.0,
    " idea": -3.5, " banana": -4.0, " of": -5.0,
}  # fmt: skip
DEMO_SETTINGS = {"temperature": 0.8, "top_k": 8, "top_p": 0.9}  # settings that show every stage at work

STAGES = ("raw", "temperature", "top_k", "top_p")


def parse_logits(text: str) -> list[float]:
    """Logits from a comma-separated string such as "2.0,1,-0.5"."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"--logits wants comma-separated numbers, e.g. 2.0,1,-0.5; got {text!r}") from None
    return values


def stages(logits, labels=None, temperature=1.0, top_k=0, top_p=1.0, top_n=10, context=None) -> dict:
    """Probabilities of the `top_n` most likely tokens after each sampling stage, with survivors and mass kept.

    The stages are the raw softmax, then temperature, top-k and top-p in Hugging Face's order.
    Temperature 0 means greedy decoding: all the mass goes to the most likely token. For each
    filter, `mass_kept` is the probability (in the distribution the filter received) of the
    tokens it let through; the next stage renormalises them to sum to 1.
    """
    import numpy as np

    from engine.layers import softmax
    from engine.sampling import apply_temperature, greedy, top_k_filter, top_p_filter

    x = np.asarray(logits, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise UsageError("logits must be a non-empty list of numbers")
    if np.isnan(x).any() or np.isposinf(x).any() or not np.isfinite(x).any():
        raise UsageError("logits must be finite numbers (-inf marks a token that cannot be chosen)")
    labels = [f"#{i}" for i in range(x.size)] if labels is None else [str(label) for label in labels]
    if len(labels) != x.size:
        raise UsageError(f"{len(labels)} labels for {x.size} logits")
    if top_n < 1:
        raise UsageError(f"top_n must be at least 1, got {top_n}")

    try:
        if temperature == 0:  # the limit of temperature -> 0: only the argmax is left
            scaled = np.full_like(x, -np.inf)
            scaled[greedy(x)] = 0.0
        else:
            scaled = apply_temperature(x, temperature)
        after = {"raw": x, "temperature": scaled}
        after["top_k"] = top_k_filter(scaled, top_k)
        after["top_p"] = top_p_filter(after["top_k"], top_p)
    except ValueError as e:  # the engine's message says which argument and why
        raise UsageError(str(e)) from None

    probs = {name: softmax(after[name]) for name in STAGES}
    shown = np.argsort(-x, kind="stable")[:top_n]  # the most likely tokens, ties by position
    previous = {"raw": None, "temperature": "raw", "top_k": "temperature", "top_p": "top_k"}
    stage_rows = []
    for name in STAGES:
        survivors = np.isfinite(after[name])
        before = previous[name]
        kept = 1.0 if before is None else float(probs[before][survivors].sum())
        stage_rows.append({
            "name": name,
            "title": _title(name, temperature, top_k, top_p),
            "survivors": int(survivors.sum()),
            "mass_kept": kept,
            "other": float(1.0 - probs[name][shown].sum()),  # probability of the tokens not shown
        })  # fmt: skip
    return {
        "context": context,
        "vocab_size": int(x.size),
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "stages": stage_rows,
        "tokens": [
            {"id": int(i), "label": labels[i], "logit": float(x[i]), "probs": [float(probs[s][i]) for s in STAGES]}
            for i in shown
        ],
    }


def demo(top_n=10, **settings) -> dict:
    """stages() for the built-in example with exactly the settings asked for."""
    return stages(list(DEMO_TOKENS.values()), list(DEMO_TOKENS), top_n=top_n, context=DEMO_CONTEXT, **settings)


def settings_to_show(asked: dict) -> tuple[dict, bool]:
    """(settings, chosen for you): what was asked, or, when nothing was, DEMO_SETTINGS, so that
    every column shows its filter at work instead of four identical columns."""
    return (dict(asked), False) if asked else (dict(DEMO_SETTINGS), True)


def _title(name, temperature, top_k, top_p) -> str:
    if name == "raw":
        return "softmax"
    if name == "temperature":
        return "greedy" if temperature == 0 else f"temp {temperature:g}"
    if name == "top_k":
        return f"top-k {top_k}" if top_k else "top-k off"
    return f"top-p {top_p:g}" if top_p < 1 else "top-p off"
