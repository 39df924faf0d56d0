"""Inputs checked against what the model takes: arrays by shape and kind, records by fields."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from loopline.errors import UsageError
from loopline.serving.inputs import AnyInput, Array, InvalidInput, Record, check, declared_by

LOC = ("body", "inputs")


def refused(
    spec: Array | Record, values: list[object], *, single: bool = False
) -> list[tuple[tuple[object, ...], str]]:
    with pytest.raises(InvalidInput) as caught:
        check(spec, values, ("body", "input") if single else LOC, single=single)
    return caught.value.problems


def test_well_formed_arrays_become_one_batch_of_the_declared_dtype() -> None:
    batch = check(Array((2, 2), "float32"), [[[1, 2], [3, 4]], [[5, 6], [7, 8.5]]], LOC)
    assert batch.dtype == np.float32 and batch.shape == (2, 2, 2)


def test_an_axis_of_any_length() -> None:
    assert check(Array((None,)), [[1, 2, 3], [4, 5, 6]], LOC).shape == (2, 3)


def test_each_bad_value_is_named_by_its_place() -> None:
    assert refused(Array((3,)), [[1, 2, 3], [1, "two", True]]) == [
        ((*LOC, 1, 1), "expected a number, got the string 'two'"),
        ((*LOC, 1, 2), "expected a number, got a boolean"),
    ]


def test_a_single_input_is_named_without_an_index() -> None:
    assert refused(Array((2, 2)), [[[1, 2], [3]]], single=True) == [
        (("body", "input", 1), "expected 2 values, got 1")
    ]


def test_integers_are_checked_for_an_integer_dtype() -> None:
    assert refused(Array((2,), "int64"), [[1, 2.5]]) == [((*LOC, 0, 1), "expected an integer, got 2.5")]
    assert check(Array((2,), "int64"), [[1, 2.0]], LOC).dtype == np.int64


def test_records_need_exactly_their_fields_of_their_types() -> None:
    spec = Record({"age": float, "city": str})
    assert check(spec, [{"age": 3, "city": "Oslo"}], LOC) == [{"age": 3, "city": "Oslo"}]
    assert refused(spec, [{"age": "old", "town": "Oslo"}]) == [
        ((*LOC, 0, "city"), "field required"),
        ((*LOC, 0, "town"), "unknown field; the fields are age, city"),
        ((*LOC, 0, "age"), "expected a number, got the string 'old'"),
    ]


def test_a_dataclass_declares_a_record_whose_inputs_become_instances() -> None:
    @dataclasses.dataclass
    class Review:
        text: str
        stars: int

    (review,) = check(Record.of(Review), [{"text": "good", "stars": 5}], LOC)
    assert review == Review("good", 5)


def test_any_input_passes_as_it_is() -> None:
    assert check(AnyInput(), ["a", {"b": 1}], LOC) == ["a", {"b": 1}]


def test_a_model_declares_its_input_by_its_fitted_attributes() -> None:
    class Fitted:
        n_features_in_ = 4

    class Named:
        feature_names_in_ = np.array(["a", "b"])

    assert declared_by(Fitted()) == Array((4,))
    assert declared_by(Named()) == Record({"a": object, "b": object}, frame=True)
    assert declared_by(object()) is None


def test_a_spec_that_cannot_be_checked_is_refused_when_declared() -> None:
    with pytest.raises(UsageError, match="Array\\(shape=...\\) takes a tuple"):
        Array([64])  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="Record fields are float, int, str, bool or object"):
        Record({"when": list})
