"""Compare a learner's result with the expected one, and describe values for feedback.

The comparison is tolerant where numbers are concerned (``numpy.isclose`` semantics, NaN equal
to NaN) and strict about types that matter (a list where a number is expected fails with a
message saying so). numpy and pandas are imported only when a value needs them.

Examples
--------
>>> from course_lib.grading.compare import compare
>>> compare(0.1 + 0.2, 0.3).ok
True
>>> compare({"a": 1.0}, {"a": 2.0}).detail
"at ['a']: expected 1, got 2"
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Comparison:
    """Outcome of :func:`compare`: whether the values match and, if not, where and how."""

    ok: bool
    detail: str = ""


def _is_array_like(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "shape") and getattr(value, "ndim", 0) > 0


def _is_pandas(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and hasattr(value, "to_numpy")


def _record_fields(value: Any) -> list[str] | None:
    """Field names of a dataclass or named tuple (scipy-style result objects)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [f.name for f in dataclasses.fields(value)]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return list(value._fields)
    return None


def describe(value: Any, limit: int = 80) -> str:
    """A short, readable description of a value for feedback messages."""
    if _is_array_like(value):
        return f"array of shape {tuple(value.shape)} ({value.dtype})"
    if _is_pandas(value):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, numbers.Real) and not isinstance(value, (bool, int)):
        text = f"{float(value):.6g}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_inputs(args: tuple, kwargs: dict) -> str:
    """Describe a call's inputs by type and shape only (hidden cases never show their data)."""
    parts = [describe_shape(value) for value in args]
    parts += [f"{key}={describe_shape(value)}" for key, value in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def describe_shape(value: Any) -> str:
    """Type and size of a value, without its contents."""
    if _is_array_like(value) or _is_pandas(value):
        return f"{type(value).__name__}{tuple(value.shape)}"
    if isinstance(value, (list, tuple, dict, set)):
        return f"{type(value).__name__}[{len(value)}]"
    if isinstance(value, (bool, int, float, str)) or value is None:
        return type(value).__name__
    return type(value).__name__


def _numbers_close(expected: float, got: float, rtol: float, atol: float) -> bool:
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    if math.isinf(expected) or math.isinf(got):
        return expected == got
    return abs(expected - got) <= atol + rtol * abs(expected)


def compare(expected: Any, got: Any, *, rtol: float = 1e-6, atol: float = 1e-9, path: str = "") -> Comparison:
    """Compare ``got`` with ``expected``.

    Parameters
    ----------
    expected, got
        Numbers, strings, booleans, None, sequences, mappings, numpy arrays, pandas objects, or
        records (dataclasses and named tuples, compared field by field).
    rtol, atol : float
        Relative and absolute tolerance for numbers: ``|got - expected| <= atol + rtol*|expected|``.

    Returns
    -------
    Comparison
    """
    where = f"at {path}: " if path else ""

    if isinstance(expected, bool) or expected is None:
        if got is expected or (isinstance(got, bool) is False and _numpy_bool(got) is expected):
            return Comparison(True)
        return Comparison(False, f"{where}expected {describe(expected)}, got {describe(got)}")

    if isinstance(expected, str):
        if not isinstance(got, str):
            return Comparison(False, f"{where}expected the text {expected!r}, got {describe(got)}")
        if got.strip().lower() == expected.strip().lower():
            return Comparison(True)
        return Comparison(False, f"{where}expected {expected!r}, got {got!r}")

    if isinstance(expected, numbers.Number) and not _is_array_like(expected):
        if isinstance(got, bool) or not isinstance(got, numbers.Number) or _is_array_like(got):
            return Comparison(False, f"{where}expected a number ({describe(expected)}), got {describe(got)}")
        if isinstance(expected, numbers.Integral) and isinstance(got, numbers.Integral):
            ok = int(expected) == int(got)
        else:
            ok = _numbers_close(float(expected), float(got), rtol, atol)
        return Comparison(ok, "" if ok else f"{where}expected {describe(expected)}, got {describe(got)}")

    if _is_pandas(expected):
        return _compare_pandas(expected, got, rtol=rtol, atol=atol, where=where)

    if _is_array_like(expected):
        return _compare_arrays(expected, got, rtol=rtol, atol=atol, where=where)

    fields = _record_fields(expected)
    if fields is not None:
        for position, name in enumerate(fields):
            if hasattr(got, name):
                value = getattr(got, name)
            elif isinstance(got, (tuple, list)) and len(got) == len(fields):
                value = got[position]
            else:
                return Comparison(False, f"{where}expected a result with field {name!r}, got {describe(got)}")
            result = compare(getattr(expected, name), value, rtol=rtol, atol=atol, path=f"{path}.{name}" if path else name)
            if not result.ok:
                return result
        return Comparison(True)

    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return Comparison(False, f"{where}expected a dict, got {describe(got)}")
        missing = [key for key in expected if key not in got]
        extra = [key for key in got if key not in expected]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if extra:
                parts.append(f"unexpected keys {extra}")
            return Comparison(False, where + "; ".join(parts))
        for key in expected:
            result = compare(expected[key], got[key], rtol=rtol, atol=atol, path=f"{path}[{key!r}]")
            if not result.ok:
                return result
        return Comparison(True)

    if isinstance(expected, (list, tuple)):
        if _is_array_like(got):
            got = got.tolist()
        if not isinstance(got, (list, tuple)):
            return Comparison(False, f"{where}expected a sequence of {len(expected)} items, got {describe(got)}")
        if len(got) != len(expected):
            return Comparison(False, f"{where}expected {len(expected)} items, got {len(got)}")
        for index, (left, right) in enumerate(zip(expected, got)):
            result = compare(left, right, rtol=rtol, atol=atol, path=f"{path}[{index}]")
            if not result.ok:
                return result
        return Comparison(True)

    ok = bool(expected == got)
    return Comparison(ok, "" if ok else f"{where}expected {describe(expected)}, got {describe(got)}")


def _numpy_bool(value: Any) -> Any:
    if type(value).__name__ == "bool" and type(value).__module__ == "numpy":
        return bool(value)
    return value


def _compare_arrays(expected: Any, got: Any, *, rtol: float, atol: float, where: str) -> Comparison:
    import numpy as np

    try:
        got_array = np.asarray(got)
    except Exception:  # noqa: BLE001 - any unconvertible answer is simply wrong
        return Comparison(False, f"{where}expected an array, got {describe(got)}")
    if got_array.shape != expected.shape:
        return Comparison(False, f"{where}expected shape {expected.shape}, got shape {got_array.shape}")
    if expected.dtype.kind in "fc" or got_array.dtype.kind in "fc":
        try:
            close = np.isclose(got_array.astype(float), expected.astype(float), rtol=rtol, atol=atol, equal_nan=True)
        except (TypeError, ValueError):
            return Comparison(False, f"{where}expected numbers, got {got_array.dtype} values")
    else:
        close = got_array == expected
    if bool(np.all(close)):
        return Comparison(True)
    first = tuple(int(i) for i in np.argwhere(~close)[0])
    index = first[0] if len(first) == 1 else first
    return Comparison(
        False,
        f"{where}{int((~close).sum())} of {close.size} values differ; first at index {index}: "
        f"expected {describe(expected[first].item())}, got {describe(got_array[first].item())}",
    )


def _compare_pandas(expected: Any, got: Any, *, rtol: float, atol: float, where: str) -> Comparison:
    import pandas as pd

    if type(got) is not type(expected):
        return Comparison(False, f"{where}expected a {type(expected).__name__}, got {describe(got)}")
    try:
        if isinstance(expected, pd.DataFrame):
            pd.testing.assert_frame_equal(expected, got, check_dtype=False, rtol=rtol, atol=atol)
        else:
            pd.testing.assert_series_equal(expected, got, check_dtype=False, rtol=rtol, atol=atol)
    except AssertionError as exc:
        first_line = str(exc).strip().splitlines()[0]
        return Comparison(False, f"{where}{first_line}")
    return Comparison(True)
