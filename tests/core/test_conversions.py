"""Sematic's value conversions: made (and recorded) when `check_value` gets a Conversions record,
refused without one, and refused in both modes where Sematic lost data."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopline.core.types import Conversions, Deferred, TypeMismatch, check_value


@dataclasses.dataclass
class Training:
    x: list[float]
    y: pd.Series


class FutureOf(Deferred):
    __slots__ = ("_declared",)

    def __init__(self, declared: Any) -> None:
        self._declared = declared

    @property
    def declared_type(self) -> Any:
        return self._declared


def converted(value: Any, annotation: Any) -> tuple[Any, Conversions]:
    conversions = Conversions()
    return check_value(value, annotation, "", conversions), conversions


@given(st.integers(-(2**60), 2**60))
def test_a_whole_float_becomes_an_int(number: int) -> None:
    value, conversions = converted(float(number), int)
    assert type(value) is int and value == float(number)
    assert conversions.describe() == ("a value: float to int",)


@pytest.mark.parametrize("value", [2.5, float("nan"), float("inf")])
def test_a_float_that_is_not_whole_is_refused_for_an_int(value: float) -> None:
    with pytest.raises(TypeMismatch, match="not a whole number; pass round"):
        converted(value, int)


def test_text_is_never_read_as_a_number() -> None:
    with pytest.raises(TypeMismatch, match="text is not read as a number"):
        converted("3.14", float)


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        ((1, 2), list[int], [1, 2]),
        ({3}, list[int], [3]),
        (np.array([1.0, 2.0]), list[float], [1.0, 2.0]),
        ([1, "a"], tuple[int, str], (1, "a")),
        ([1, 1], set[int], {1}),
        ("x/y", Path, Path("x/y")),
    ],
)
def test_containers_and_paths_convert_as_in_sematic(value: Any, annotation: Any, expected: Any) -> None:
    result, conversions = converted(value, annotation)
    assert result == expected and type(result) is type(expected) and conversions


def test_an_array_becomes_a_series_and_a_series_a_dataframe() -> None:
    series, _ = converted(np.arange(3), pd.Series)
    assert isinstance(series, pd.Series) and series.tolist() == [0, 1, 2]
    frame, _ = converted(series, pd.DataFrame)
    assert isinstance(frame, pd.DataFrame) and frame.shape == (3, 1)


def test_a_list_becomes_a_numpy_array() -> None:
    array, _ = converted([1, 2], np.ndarray)
    assert isinstance(array, np.ndarray) and array.tolist() == [1, 2]


def test_a_dict_becomes_the_dataclass_with_its_fields_converted() -> None:
    value, conversions = converted({"x": (1, 2), "y": np.arange(2)}, Training)
    assert isinstance(value, Training) and value.x == [1.0, 2.0] and isinstance(value.y, pd.Series)
    assert len(conversions.describe()) == 3  # the dict, the tuple, the array


def test_a_dict_with_unknown_or_missing_keys_is_refused() -> None:
    with pytest.raises(TypeMismatch, match=r"unknown keys \['z'\]; missing keys \['y'\]"):
        converted({"x": [1.0], "z": 1}, Training)


def test_converted_dataclass_fields_are_written_to_a_copy() -> None:
    original = Training(x=[1.0], y=np.arange(2))  # type: ignore[arg-type]
    value, _ = converted(original, Training)
    assert isinstance(value.y, pd.Series) and isinstance(original.y, np.ndarray)


def test_without_a_record_nothing_converts() -> None:
    for value, annotation in [
        (3.0, int),
        ((1,), list[int]),
        (np.arange(2), pd.Series),
        ({"x": [], "y": 1}, Training),
    ]:
        with pytest.raises(TypeMismatch):
            check_value(value, annotation)


def test_a_union_prefers_the_option_that_needs_no_conversion() -> None:
    value, conversions = converted(3.0, int | float)
    assert value == 3.0 and type(value) is float and not conversions


def test_the_note_says_what_converted_where_once_per_kind() -> None:
    _, conversions = converted([1.0, 2.0, 3.0, 4.0], list[int])
    (part,) = conversions.describe()
    assert part == "4 values: float to int (at [0], [1], [2], ...)"
    assert "strict_types=True" in conversions.note("f() returned")


@pytest.mark.parametrize(
    ("declared", "expected"), [(tuple[int, ...], list[int]), (float, int), (list[int], tuple[int, ...])]
)
def test_futures_of_convertible_types_are_accepted(declared: Any, expected: Any) -> None:
    future = FutureOf(declared)
    assert converted(future, expected)[0] is future
    with pytest.raises(TypeMismatch):
        check_value(future, expected)
