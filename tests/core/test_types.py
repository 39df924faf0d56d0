# ruff: noqa: UP007, UP045 - users (and ported Sematic code) write Optional and Union
from __future__ import annotations

import dataclasses
import enum
import typing
from collections import abc
from typing import Any, Literal, Optional, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopline.core.types import Deferred, TypeMismatch, check_value, describe_value, type_name


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: float
    label: str = ""


@dataclasses.dataclass
class Box:
    corner: Point
    tags: list[str]


class FutureOf(Deferred):
    """The smallest Deferred: a value of `declared` that is not computed yet."""

    __slots__ = ("_declared",)

    def __init__(self, declared: Any) -> None:
        self._declared = declared

    @property
    def declared_type(self) -> Any:
        return self._declared


def mismatch(value: Any, annotation: Any) -> TypeMismatch:
    with pytest.raises(TypeMismatch) as info:
        check_value(value, annotation)
    return info.value


# -- plain classes and casts -------------------------------------------------------------------


@given(st.integers(-(2**53), 2**53))
def test_an_int_is_cast_to_float(number: int) -> None:
    result = check_value(number, float)
    assert type(result) is float and result == number


@pytest.mark.parametrize(
    ("number", "detail"), [(2**53 + 1, "cannot hold it exactly"), (10**400, "too large")]
)
def test_an_int_that_a_float_cannot_hold_is_refused(number: int, detail: str) -> None:
    assert detail in str(mismatch(number, float))


@given(st.floats(allow_nan=False))
def test_a_float_stays_the_same_object(number: float) -> None:
    assert check_value(number, float) is number


@given(st.floats())
def test_a_float_is_not_an_int(number: float) -> None:
    mismatch(number, int)


@pytest.mark.parametrize("annotation", [int, float])
def test_a_bool_is_not_a_number(annotation: type) -> None:
    mismatch(True, annotation)


def test_an_integral_number_type_is_cast_to_int() -> None:
    np = pytest.importorskip("numpy")
    result = check_value(np.int64(3), int)
    assert type(result) is int and result == 3


@pytest.mark.parametrize("annotation", [Any, typing.TypeVar("T")])
def test_any_and_typevars_accept_everything(annotation: Any) -> None:
    value = object()
    assert check_value(value, annotation) is value


def test_annotated_is_checked_as_its_type() -> None:
    assert check_value(2, typing.Annotated[float, "metres"]) == 2.0


def test_none_only_matches_none() -> None:
    assert check_value(None, None) is None
    mismatch(0, None)


def test_a_subclass_instance_matches_its_base() -> None:
    error = ValueError("x")
    assert check_value(error, Exception) is error


def test_an_enum_member_matches_its_enum_but_its_value_does_not() -> None:
    assert check_value(Color.RED, Color) is Color.RED
    mismatch("red", Color)


# -- unions and literals -----------------------------------------------------------------------


def test_union_keeps_an_exact_match_rather_than_casting() -> None:
    result = check_value(3, Union[int, float])
    assert type(result) is int


def test_optional_float_casts_an_int_and_accepts_none() -> None:
    assert type(check_value(3, Optional[float])) is float
    assert check_value(None, float | None) is None


def test_union_error_names_every_option() -> None:
    assert "Union[int, str]" in str(mismatch(1.5, Union[int, str]))


def test_literal_needs_an_equal_value_of_the_same_type() -> None:
    assert check_value("a", Literal["a", "b"]) == "a"
    mismatch("c", Literal["a", "b"])
    mismatch(True, Literal[1])


# -- containers --------------------------------------------------------------------------------


@given(st.lists(st.integers(-(2**53), 2**53)))
def test_list_of_ints_to_list_of_floats_is_cast_item_by_item(numbers: list[int]) -> None:
    result = check_value(numbers, list[float])
    assert result == numbers and all(type(n) is float for n in result)


def test_a_list_that_needs_no_cast_is_returned_as_is() -> None:
    values = [1.0, 2.0]
    assert check_value(values, list[float]) is values


def test_a_tuple_is_not_a_list() -> None:
    mismatch((1, 2), list[int])


def test_a_sequence_accepts_a_tuple_and_keeps_it_a_tuple() -> None:
    assert check_value((1, 2), abc.Sequence[float]) == (1.0, 2.0)
    assert type(check_value((1, 2), typing.Sequence[float])) is tuple


def test_a_str_is_not_taken_for_a_sequence_of_str() -> None:
    mismatch("abc", abc.Sequence[str])


def test_an_iterable_accepts_a_set() -> None:
    assert check_value({1}, abc.Iterable[float]) == {1.0}


def test_a_mutable_sequence_refuses_a_tuple() -> None:
    mismatch((1,), typing.MutableSequence[int])


def test_tuple_of_fixed_length_is_checked_position_by_position() -> None:
    assert check_value((1, "a"), tuple[float, str]) == (1.0, "a")
    assert "[1]" in str(mismatch((1, 2), tuple[int, str]))


def test_tuple_of_wrong_length_says_so() -> None:
    assert "3 items, not 2" in str(mismatch((1, 2, 3), tuple[int, int]))


def test_variadic_tuple_checks_every_item() -> None:
    assert check_value((1, 2, 3), tuple[float, ...]) == (1.0, 2.0, 3.0)


@pytest.mark.parametrize("annotation", [tuple[()], typing.Tuple[()]])  # noqa: UP006
def test_empty_tuple_annotation_only_accepts_the_empty_tuple(annotation: Any) -> None:
    assert check_value((), annotation) == ()
    assert "Tuple[()]" in str(mismatch((1,), annotation))


@pytest.mark.parametrize("annotation", [tuple, typing.Tuple])  # noqa: UP006
def test_bare_tuple_accepts_any_tuple(annotation: Any) -> None:
    assert check_value((1, "a"), annotation) == (1, "a")


def test_dict_casts_keys_and_values() -> None:
    result = check_value({1: 2}, dict[float, float])
    assert result == {1.0: 2.0} and all(type(k) is float for k in result)


def test_dict_error_points_at_the_bad_key() -> None:
    assert "<key 1>" in str(mismatch({1: "a"}, dict[str, str]))


def test_set_casts_its_items_and_stays_a_set() -> None:
    assert check_value({1, 2}, set[float]) == {1.0, 2.0}
    assert type(check_value(frozenset({1}), frozenset[float])) is frozenset


def test_a_list_is_not_a_set() -> None:
    mismatch([1], set[int])


def test_a_generic_class_annotation_checks_the_class() -> None:
    assert check_value(int, type[int]) is int
    mismatch(3, type[int])


# -- dataclasses -------------------------------------------------------------------------------


def test_dataclass_fields_are_checked() -> None:
    error = mismatch(Point(x="not a number"), Point)  # type: ignore[arg-type]
    assert error.path == ".x"


def test_nested_dataclass_errors_carry_the_full_path() -> None:
    error = mismatch([Box(Point(1.0), ["a", 2])], list[Box])  # type: ignore[list-item]
    assert error.path == "[0].tags[1]"
    assert str(error) == "expected str at [0].tags[1], got 2 (int)"


def test_a_valid_dataclass_is_returned_unchanged() -> None:
    box = Box(Point(1), ["a"])
    assert check_value(box, Box) is box


# -- deferred values (futures) -----------------------------------------------------------------


def test_a_deferred_value_is_checked_by_its_declared_type() -> None:
    future = FutureOf(int)
    assert check_value(future, int) is future
    assert check_value(future, float) is future  # an int can become a float


def test_a_deferred_value_of_an_incompatible_type_is_refused() -> None:
    assert "a Future of str" in str(mismatch(FutureOf(str), int))


@pytest.mark.parametrize(
    ("declared", "expected"),
    [(Any, int), (Optional[int], int), (int, Union[str, int]), (object, int), (list[int], list[str])],
)
def test_a_deferred_value_that_may_match_is_accepted(declared: Any, expected: Any) -> None:
    future = FutureOf(declared)
    assert check_value(future, expected) is future


def test_a_deferred_value_inside_a_container_is_checked_in_place() -> None:
    items = [FutureOf(int), 2]
    assert check_value(items, list[int]) is items
    assert mismatch([FutureOf(str)], list[int]).path == "[0]"


def test_a_deferred_value_inside_a_dataclass_is_checked() -> None:
    mismatch(Point(FutureOf(str)), Point)  # type: ignore[arg-type]


# -- names and descriptions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "name"),
    [
        (list[int], "List[int]"),
        (Optional[str], "Optional[str]"),
        (int | None, "Optional[int]"),
        (Union[int, str, None], "Union[int, str, None]"),
        (dict[str, tuple[int, ...]], "Dict[str, Tuple[int, ...]]"),
        (Literal["a", 1], "Literal['a', 1]"),
        (Point, "Point"),
        (None, "None"),
        (Any, "Any"),
    ],
)
def test_type_names_are_short_and_readable(annotation: Any, name: str) -> None:
    assert type_name(annotation) == name


def test_long_values_are_shortened_in_messages() -> None:
    text = describe_value("x" * 500)
    assert len(text) < 80 and text.endswith("(str)")
