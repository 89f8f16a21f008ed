"""Comparing what the learner's function returned with the engine's answer, in the parent process.

Every comparator returns a `Comparison`: whether it matches and, when not, one line saying how it
differs, the largest error and where it is. They never raise on odd values: NaN, infinities,
the wrong dtype and the wrong shape are findings, not crashes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SMALL_ARRAY = 24  # arrays up to this many elements are printed in full


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
    return _report(wrong, expected, got, error, message)


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

