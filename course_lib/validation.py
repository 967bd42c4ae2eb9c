"""Argument checks shared by the course_lib modules.

Every public function in course_lib checks what it is given and, when something is wrong, raises
a :class:`ValueError` or :class:`TypeError` whose message names the argument and says what was
expected. These helpers hold those checks so the messages read the same everywhere.

Examples
--------
>>> from course_lib.validation import as_1d_numeric
>>> as_1d_numeric([1, 2, 3], "reference")
array([1., 2., 3.])
>>> as_1d_numeric([1.0, float("nan")], "current")
Traceback (most recent call last):
...
ValueError: current contains NaN or infinite values (1 of 2); drop or impute them first
"""

from __future__ import annotations

import numbers
from typing import Any, Collection

import numpy as np

__all__ = [
    "as_1d_array",
    "as_1d_numeric",
    "as_1d_sample",
    "is_categorical",
    "check_choice",
    "check_int",
    "check_number",
    "check_probability",
]


def _describe(value: Any) -> str:
    """A short description of a value for error messages (type, and shape when it has one)."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}"
    return type(value).__name__


def as_1d_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a non-empty 1-D numpy array of any dtype.

    Parameters
    ----------
    x : array_like
        A list, tuple, numpy array or pandas Series.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    numpy.ndarray
        A 1-D view or copy of ``x``. pandas extension arrays (categorical, string) come back as
        object arrays of their values.

    Raises
    ------
    TypeError
        If ``x`` is a scalar, a string, a mapping or a set (order-less) instead of a sample.
    ValueError
        If ``x`` is empty or is not 1-D.

    Examples
    --------
    >>> as_1d_array(("a", "b"), "sample")
    array(['a', 'b'], dtype='<U1')
    >>> as_1d_array([[1, 2], [3, 4]], "sample")
    Traceback (most recent call last):
    ...
    ValueError: sample must be 1-D (one value per observation); got an array of shape (2, 2)
    """
    if isinstance(x, (str, bytes, dict, set, frozenset)) or x is None:
        raise TypeError(f"{name} must be a 1-D sequence of observations, not {_describe(x)}")
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        # pandas Series/Index/extension arrays: categoricals and strings become object arrays.
        x = x.to_numpy()
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} could not be read as an array: {error}") from None
    if array.ndim == 0:
        raise TypeError(f"{name} must be a 1-D sequence of observations, not a scalar {_describe(x)}")
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per observation); got an array of shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty; a sample needs at least one observation")
    return array


def is_categorical(x: Any) -> bool:
    """Whether a sample holds categories (strings, booleans, objects) rather than numbers.

    Parameters
    ----------
    x : array_like
        A 1-D sample: numpy array, pandas Series or sequence.

    Returns
    -------
    bool
        True for string, object, boolean and pandas categorical data; False for integer, unsigned
        and floating-point numbers.

    Examples
    --------
    >>> is_categorical(["red", "blue"]), is_categorical([1.5, 2.0]), is_categorical([True, False])
    (True, False, True)
    """
    dtype = getattr(x, "dtype", None)
    if dtype is not None and not isinstance(dtype, np.dtype):
        # A pandas extension dtype: categorical, string, nullable boolean, or nullable numbers.
        return getattr(dtype, "kind", "O") not in "iuf"
    if dtype is None:
        dtype = np.asarray(x).dtype
    return dtype.kind not in "iuf"


def as_1d_numeric(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a finite, non-empty, 1-D float64 array.

    Parameters
    ----------
    x : array_like
        Numbers: a list, numpy array or pandas Series of ints or floats.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    numpy.ndarray of float64
        No copy is made when ``x`` already is a float64 array.

    Raises
    ------
    TypeError
        If ``x`` holds strings, booleans, objects or complex numbers.
    ValueError
        If ``x`` is empty, not 1-D, or contains NaN or infinite values.

    Examples
    --------
    >>> as_1d_numeric(np.arange(3), "reference")
    array([0., 1., 2.])
    >>> as_1d_numeric(["a", "b"], "reference")
    Traceback (most recent call last):
    ...
    TypeError: reference must hold numbers; got dtype <U1 (use the categorical statistics for categories)
    """
    array = as_1d_array(x, name)
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must hold numbers; got dtype {array.dtype} "
            "(use the categorical statistics for categories)"
        )
    array = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(array.size - np.count_nonzero(finite))
        raise ValueError(
            f"{name} contains NaN or infinite values ({bad} of {array.size}); "
            "drop or impute them first"
        )
    return array


def as_1d_sample(x: Any, name: str) -> tuple[np.ndarray, bool]:
    """Return ``x`` as a checked 1-D sample and whether it is categorical.

    Numeric samples go through :func:`as_1d_numeric`; categorical ones must not contain missing
    values (``None`` or NaN), because a silently dropped missing value hides a data problem.

    Parameters
    ----------
    x : array_like
        A numeric or categorical sample.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    array : numpy.ndarray
        float64 for numeric samples, the original (object, string or bool) dtype otherwise.
    categorical : bool

    Examples
    --------
    >>> as_1d_sample(["a", "b"], "current")
    (array(['a', 'b'], dtype='<U1'), True)
    >>> as_1d_sample(["a", None], "current")
    Traceback (most recent call last):
    ...
    ValueError: current contains missing values (1 of 2); drop them or encode them as a category
    """
    if not is_categorical(x):
        return as_1d_numeric(x, name), False
    array = as_1d_array(x, name)
    if array.dtype.kind == "O":
        import pandas as pd  # its isna knows every missing marker: None, NaN, NA, NaT

        missing = int(pd.isna(array).sum())
        if missing:
            raise ValueError(
                f"{name} contains missing values ({missing} of {array.size}); "
                "drop them or encode them as a category"
            )
    return array, True


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, checking its type and lower bound.

    Examples
    --------
    >>> check_int(10, "bins", minimum=2)
    10
    >>> check_int(1, "bins", minimum=2)
    Traceback (most recent call last):
    ...
    ValueError: bins must be an integer >= 2; got 1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {_describe(value)} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return value


def check_number(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite float, checking its bounds.

    ``strict=True`` makes the lower bound exclusive (``value > minimum``); ``maximum`` is
    inclusive.

    Examples
    --------
    >>> check_number(0.2, "threshold", minimum=0)
    0.2
    >>> check_number(-1e-4, "eps", minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: eps must be a finite number >= 0; got -0.0001
    >>> check_number(1.5, "exploration", minimum=0, maximum=1)
    Traceback (most recent call last):
    ...
    ValueError: exploration must be a finite number <= 1; got 1.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {_describe(value)} {value!r}")
    value = float(value)
    comparison = ">" if strict else ">="
    bound = "" if minimum is None else f" {comparison} {minimum:g}"
    too_small = minimum is not None and (value <= minimum if strict else value < minimum)
    if not np.isfinite(value) or too_small:
        raise ValueError(f"{name} must be a finite number{bound}; got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be a finite number <= {maximum:g}; got {value!r}")
    return value


def check_probability(value: Any, name: str) -> float:
    """Return ``value`` as a float strictly between 0 and 1 (a significance level, a share).

    Examples
    --------
    >>> check_probability(0.05, "alpha")
    0.05
    >>> check_probability(5, "alpha")
    Traceback (most recent call last):
    ...
    ValueError: alpha must be strictly between 0 and 1; got 5.0
    """
    value = check_number(value, name)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1; got {value!r}")
    return value


def check_choice(value: Any, name: str, choices: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them.

    Examples
    --------
    >>> check_choice("quantile", "strategy", ("quantile", "uniform"))
    'quantile'
    >>> check_choice("sturges", "strategy", ("quantile", "uniform"))
    Traceback (most recent call last):
    ...
    ValueError: strategy must be one of 'quantile', 'uniform'; got 'sturges'
    """
    try:
        known = value in choices
    except TypeError:  # unhashable value checked against a set or dict
        known = False
    if not known:
        listed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value
