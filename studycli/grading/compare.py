"""Comparing what the learner's function returned with the engine's answer, in the parent process.

Every comparator returns a `Comparison`: whether it matches and, when not, one line saying how it
differs, the largest error and where it is. They never raise on odd values: NaN, infinities,
the wrong dtype and the wrong shape are findings, not crashes.

How close is close enough follows the conditioning of each case (`rounding_tolerance`). The answer
is compared with the engine's function evaluated in float64 on the same float32 inputs, and may
differ from it by what float32 rounding can do to that very case, value by value:

    |got - y64| <= SAFETY * (D + EPS32 * (|y64| + M)) + TINY32

    y64   the engine's function on the inputs cast to float64: the exact answer for these inputs
          (for a case that runs a small GPT, the GPT with its weights in float64);
    D     max over r = 0 .. PERTURBATIONS of |f(x * (1 + EPS32 * s_r)) - y64|, f the engine's
          function in the inputs' own precision (float32), s_0 = 0 and s_r random signs, one per
          float input value: the engine's own float32 error, and how far the answer moves when
          every input moves by one float32 rounding (the condition of the case);
    M     magnitudes of the formula's intermediate terms that a float32 answer rounds and the
          engine's float32 run does not show (the log-normaliser of a softmax, about the largest
          logit; GELU's two halves of size |x| / 2; a sinusoid's angle), 0 for most checks;
    EPS32 = 2^-23 (one float32 rounding), SAFETY = 8, TINY32 = 2^-126 (float32 underflow).

So a softmax of logits near 1e4, which carry about 1e-3 of rounding in float32 themselves, may be
off by about 1e-3 relative; of logits near 1, by about 1e-6. Answers that only move values
(split_heads, merge_heads), masks and token ids are compared exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SMALL_ARRAY = 24  # arrays up to this many elements are printed in full
EPS32 = float(np.finfo(np.float32).eps)  # 2^-23: one float32 rounding, relative
TINY32 = float(np.finfo(np.float32).tiny)  # 2^-126: smaller values underflow in float32
SAFETY = 8  # how many roundings' worth of error a sound float32 answer may pile up beyond the estimate
PERTURBATIONS = 16  # signed perturbations of the inputs per case: enough that a 2-value difference is hit both ways


@dataclass
class Comparison:
    ok: bool
    message: str = ""
    max_abs_error: float | None = None
    where: list[int] | None = None
    expected_at: float | None = None
    got_at: float | None = None


def family(dtype: np.dtype) -> str:
    """'bool', 'integer', 'float' or 'complex': the dtype families answers are compared by."""
    kind = np.dtype(dtype).kind
    return {"b": "bool", "i": "integer", "u": "integer", "f": "float", "c": "complex"}.get(kind, "other")


def preview(a: np.ndarray) -> str:
    """Small arrays in full (rounded), large ones as a summary."""
    a = np.asarray(a)
    if a.size <= SMALL_ARRAY:
        return _nested(a.tolist())
    if a.dtype.kind in "fc":
        finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        parts = []
        if finite.size:
            parts.append(f"min {finite.min():.4g}, max {finite.max():.4g}, mean {finite.mean():.4g}")
        n_nan = int(np.isnan(a).sum())
        n_inf = int(np.isinf(a).sum()) if a.dtype.kind == "f" else 0
        if n_nan:
            parts.append(f"{n_nan} NaN")
        if n_inf:
            parts.append(f"{n_inf} inf")
        return "; ".join(parts) or "empty"
    if a.dtype.kind == "b":
        return f"{int(a.sum())} True of {a.size}"
    return f"min {a.min()}, max {a.max()}" if a.size else "empty"


def _nested(values) -> str:
    """Values of a small array on one line, 4 significant digits, no padding: [[0.09, 0.2447], [1, 0]]."""
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    if isinstance(values, float):
        text = f"{values:.4g}"
        if "e" in text and math.isfinite(values) and 1 <= abs(values) < 1e7:
            text = f"{values:.0f}"
        return text
    if isinstance(values, complex):
        return f"{values:.4g}"
    return str(values)


def describe_shape(shape) -> str:
    return "a scalar" if tuple(shape) == () else f"shape {tuple(shape)}"


def check_form(expected: np.ndarray, got: np.ndarray) -> Comparison | None:
    """A failed Comparison when the shape or dtype family is wrong, else None."""
    if got.shape != expected.shape:
        message = f"{describe_shape(got.shape)} instead of {describe_shape(expected.shape)}"
        if got.ndim == 2 and got.shape == expected.shape[::-1]:
            message += " (transposed?)"
        elif got.size == expected.size:
            message += " (same number of values: a reshape or a missing transpose?)"
        return Comparison(False, message)
    want, have = family(expected.dtype), family(got.dtype)
    if want != have:
        extra = ""
        if want == "bool":
            extra = " (True where attending is allowed: use dtype=bool or .astype(bool))"
        elif want == "integer":
            extra = " (indices are integers: np.argmax gives them)"
        return Comparison(False, f"dtype {got.dtype} ({have}) instead of {expected.dtype} ({want}){extra}")
    return None


def allclose(expected: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> Comparison:
    """Same shape, same dtype family, and every value within atol + rtol * |expected|.

    Infinities must match exactly (a filtered logit is -inf); NaN never matches.
    """
    expected, got = np.asarray(expected), np.asarray(got)
    bad = check_form(expected, got)
    if bad:
        return bad
    if expected.size == 0:
        return Comparison(True)
    if family(expected.dtype) == "bool":
        wrong = expected != got
        return _report(wrong, expected, got, None, "values differ")
    e = expected.astype(np.float64)
    g = got.astype(np.float64) if family(got.dtype) != "complex" else got
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.isclose(g, e, rtol=rtol, atol=atol)  # inf == inf counts as close
        diff = np.abs(g - e)
    wrong = ~close
    error = np.where(np.isfinite(e) & np.isfinite(g), diff, np.inf)
    error = np.where(np.isnan(e) & np.isnan(g), 0.0, error)
    if not wrong.any():
        return Comparison(True, max_abs_error=float(np.nanmax(np.where(close & np.isfinite(diff), diff, 0.0))))
    n_nan = int(np.isnan(g).sum() - (np.isnan(g) & np.isnan(e)).sum())
    if n_nan:
        message = f"{n_nan} NaN value{'s' if n_nan > 1 else ''} where numbers were expected"
    elif (np.isinf(g) != np.isinf(e)).any():
        message = "infinities where the expected values are finite (or the other way round)"
    else:
        message = "the value differs" if wrong.size == 1 else f"{int(wrong.sum())} of {wrong.size} values differ by more than the tolerance"
    result = _report(wrong, expected, got, error, message)
    if result.where is not None and result.max_abs_error is not None and np.ndim(atol):
        allowed = (np.broadcast_to(atol, e.shape) + rtol * np.abs(e))[tuple(result.where)]
        result.message += f" (there {_significant(float(allowed))} is allowed for these inputs)"
    return result


def _significant(x: float) -> str:
    return f"{x:.2g}"


def _report(wrong, expected, got, error, message) -> Comparison:
    if not wrong.any():
        return Comparison(True, max_abs_error=0.0)
    if error is None:
        flat = int(np.argmax(wrong))
        max_error = None
    else:
        flat = int(np.argmax(np.where(wrong, error, -1.0)))
        max_error = float(error.flat[flat])
        if not math.isfinite(max_error):  # a NaN or an infinity where a number was expected
            max_error = None
    where = [int(i) for i in np.unravel_index(flat, wrong.shape)] if wrong.ndim else []
    return Comparison(
        False,
        message,
        max_abs_error=max_error,
        where=where,
        expected_at=_scalar(expected.flat[flat]),
        got_at=_scalar(got.flat[flat]),
    )


def _scalar(x):
    x = x.item() if hasattr(x, "item") else x
    if isinstance(x, complex):
        return float(abs(x))
    return x if isinstance(x, (bool, int)) else float(x)


def same(expected, got, rtol: float, atol: float) -> bool:
    """True when `got` matches `expected` closely (NaN matching NaN): used to recognise mistakes."""
    expected, got = np.asarray(expected), np.asarray(got)
    if expected.shape != got.shape or family(expected.dtype) != family(got.dtype):
        return False
    if family(expected.dtype) in ("bool", "integer"):
        return bool(np.array_equal(expected, got))
    with np.errstate(invalid="ignore"):
        return bool(np.allclose(got.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True))


@dataclass
class Tolerance:
    """What a float answer is compared with: the exact value for these inputs, and the error each
    output value may carry (see the module's docstring)."""

    center: np.ndarray  # y64
    allowed: np.ndarray  # per output value, the center's shape (0 where the center is infinite)


def rounding_tolerance(fn, args: tuple, kwargs: dict, *, magnitude=None, seed: int = 0) -> Tolerance:
    """The tolerance of one case (see the module's docstring): `fn` is the engine's function (or
    procedure) for the case's (args, kwargs), computing in the precision of its inputs;
    `magnitude` is M, broadcast to the answer."""
    with np.errstate(all="ignore"):
        y32 = np.asarray(fn(*args, **kwargs), dtype=np.float64)
        y64 = np.asarray(fn(*_map_floats(args, _to64), **_map_floats(kwargs, _to64)), dtype=np.float64)
        finite = np.isfinite(y64)
        spread = np.where(finite, np.abs(y32 - y64), 0.0)
        rng = np.random.default_rng(seed)
        for _ in range(PERTURBATIONS):
            nudge = _perturber(rng)
            moved = np.asarray(fn(*_map_floats(args, nudge), **_map_floats(kwargs, nudge)), dtype=np.float64)
            spread = np.fmax(spread, np.where(finite, np.abs(moved - y64), 0.0))  # fmax: a NaN never wins
        scale = np.where(finite, np.abs(y64), 0.0) + (0.0 if magnitude is None else np.nan_to_num(np.abs(magnitude)))
        allowed = SAFETY * (np.nan_to_num(spread, posinf=0.0) + EPS32 * scale) + TINY32
    return Tolerance(y64, np.where(finite, allowed, 0.0))


def _to64(a):
    return a.astype(np.float64) if isinstance(a, np.ndarray) else a


def _perturber(rng):
    """x -> x * (1 + EPS32 * s) rounded back to x's own dtype, s a random sign per value, for every
    float array and float scalar: one or two units in the last place of a float32."""

    def nudge(a):
        if isinstance(a, np.ndarray):
            signs = rng.integers(0, 2, size=a.shape) * 2.0 - 1.0
            return (a.astype(np.float64) * (1.0 + EPS32 * signs)).astype(a.dtype)
        return a * (1.0 + EPS32 * (rng.integers(0, 2) * 2.0 - 1.0))

    return nudge


def _map_floats(value, f):
    """`value` with f applied to every float array and float scalar in it (containers walked)."""
    if isinstance(value, np.ndarray):
        return f(value) if value.dtype.kind == "f" else value
    if isinstance(value, float):
        return f(value)
    if isinstance(value, dict):
        return {k: _map_floats(v, f) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map_floats(v, f) for v in value)
    return value


def within(tolerance: Tolerance, got) -> Comparison:
    """`allclose` against a Tolerance: |got - y64| <= allowed, value by value."""
    return allclose(tolerance.center, got, 0.0, tolerance.allowed)
