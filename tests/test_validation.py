"""Tests for course_lib.validation: each bad input gets a clear error naming the argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib.validation import (
    as_1d_array,
    as_1d_numeric,
    as_1d_sample,
    check_choice,
    check_int,
    check_number,
    check_probability,
    is_categorical,
)


def test_as_1d_numeric_accepts_lists_series_and_ints():
    np.testing.assert_array_equal(as_1d_numeric([1, 2, 3], "x"), [1.0, 2.0, 3.0])
    assert as_1d_numeric(pd.Series([1, 2]), "x").dtype == np.float64
    assert as_1d_numeric(np.arange(3, dtype=np.int8), "x").dtype == np.float64


def test_as_1d_numeric_does_not_copy_float64_arrays():
    data = np.linspace(0, 1, 10)
    assert np.shares_memory(as_1d_numeric(data, "x"), data)


@pytest.mark.parametrize(
    ("value", "error", "fragment"),
    [
        ([], ValueError, "reference is empty"),
        (np.zeros((0,)), ValueError, "reference is empty"),
        ([1.0, np.nan], ValueError, "reference contains NaN or infinite values (1 of 2)"),
        ([1.0, np.inf, -np.inf], ValueError, "reference contains NaN or infinite values (2 of 3)"),
        (np.zeros((3, 2)), ValueError, "reference must be 1-D"),
        (np.zeros((3, 1)), ValueError, "shape (3, 1)"),
        (3.0, TypeError, "reference must be a 1-D sequence"),
        ("abc", TypeError, "reference must be a 1-D sequence"),
        (None, TypeError, "reference must be a 1-D sequence"),
        ({"a": 1}, TypeError, "reference must be a 1-D sequence"),
        (["a", "b"], TypeError, "reference must hold numbers"),
        ([True, False], TypeError, "reference must hold numbers"),
        (np.array([1 + 2j]), TypeError, "reference must hold numbers"),
        ([[1, 2], [3]], TypeError, "reference could not be read"),
    ],
)
def test_as_1d_numeric_rejects_bad_input_naming_the_argument(value, error, fragment):
    with pytest.raises(error) as raised:
        as_1d_numeric(value, "reference")
    assert fragment in str(raised.value)


def test_as_1d_array_keeps_dtype_and_unwraps_pandas_categoricals():
    array = as_1d_array(pd.Series(["a", "b"], dtype="category"), "x")
    assert array.tolist() == ["a", "b"]
    assert as_1d_array(np.array([1, 2], dtype=np.int32), "x").dtype == np.int32


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2], False),
        (np.array([1.5]), False),
        (np.array([1], dtype=np.uint8), False),
        (pd.Series([1, None], dtype="Int64"), False),
        (["a"], True),
        ([True, False], True),
        (pd.Series(["a"], dtype="category"), True),
        (pd.Series([1, 2], dtype="category"), True),
        (np.array([1, "a"], dtype=object), True),
    ],
)
def test_is_categorical(value, expected):
    assert is_categorical(value) is expected


def test_as_1d_sample_returns_kind_and_rejects_missing_categories():
    values, categorical = as_1d_sample(pd.Series(["x", "y"]), "current")
    assert categorical and values.tolist() == ["x", "y"]
    values, categorical = as_1d_sample([1, 2], "current")
    assert not categorical and values.dtype == np.float64
    for missing in (None, np.nan, pd.NA):
        with pytest.raises(ValueError, match="current contains missing values"):
            as_1d_sample(np.array(["x", missing], dtype=object), "current")
    with pytest.raises(ValueError, match="current contains NaN"):
        as_1d_sample([1.0, np.nan], "current")


def test_check_int():
    assert check_int(np.int64(4), "bins", minimum=2) == 4
    with pytest.raises(ValueError, match="bins must be an integer >= 2; got 1"):
        check_int(1, "bins", minimum=2)
    for bad in (2.0, True, "3", None):
        with pytest.raises(TypeError, match="bins must be an integer"):
            check_int(bad, "bins")


def test_check_number():
    assert check_number(0, "eps", minimum=0) == 0.0
    with pytest.raises(ValueError, match="eps must be a finite number >= 0; got -1.0"):
        check_number(-1, "eps", minimum=0)
    with pytest.raises(ValueError, match="base must be a finite number > 1"):
        check_number(1, "base", minimum=1, strict=True)
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="eps must be a finite number"):
            check_number(bad, "eps")
    for bad in ("0.1", None, True):
        with pytest.raises(TypeError, match="eps must be a real number"):
            check_number(bad, "eps")


@pytest.mark.parametrize("bad", [0, 1, -0.5, 1.5, np.nan])
def test_check_probability_rejects_values_outside_the_open_unit_interval(bad):
    with pytest.raises(ValueError, match="alpha must be"):
        check_probability(bad, "alpha")


def test_check_choice_lists_the_choices():
    assert check_choice(None, "correction", ("holm", None)) is None
    with pytest.raises(ValueError, match=r"correction must be one of 'holm', None; got 'sidak'"):
        check_choice("sidak", "correction", ("holm", None))
    with pytest.raises(ValueError, match="strategy must be one of"):
        check_choice(["quantile"], "strategy", {"quantile"})
