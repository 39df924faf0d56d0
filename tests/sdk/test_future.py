from __future__ import annotations

import dataclasses
import warnings

import pytest

import loopline
from loopline.errors import LooplineDeprecationWarning, UnsupportedFutureOperation, UsageError
from loopline.sdk.future import Projection


@dataclasses.dataclass
class Split:
    train: list[int]
    test: list[int]


@loopline.func
def split() -> Split:
    return Split([1, 2], [3])


@loopline.func
def pair() -> tuple[int, str]:
    return 1, "a"


@loopline.func
def numbers() -> list[int]:
    return [1, 2, 3]


@loopline.func
def table() -> dict[str, int]:
    return {"a": 1}


@loopline.func
def total(xs: list[int]) -> int:
    return sum(xs)


def test_set_changes_how_the_call_runs_and_chains() -> None:
    retry = loopline.RetrySettings(exceptions=(ValueError,), retries=2)
    future = numbers().set(name="nums", tags=["a", "b"], cache=True, retry=retry, timeout_mins=1)
    assert future.props.name == "nums" and future.props.tags == ["a", "b"]
    assert future.props.cache and future.props.retry is retry and future.props.timeout_mins == 1.0


def test_set_refuses_bad_values() -> None:
    with pytest.raises(TypeError, match="tags"):
        numbers().set(tags="abc")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="name"):
        numbers().set(name="")


def test_sematic_spellings_of_set_still_work() -> None:
    resources = loopline.ResourceRequirements(cpus=1)
    with pytest.warns(LooplineDeprecationWarning):
        future = numbers().set(resource_requirements=resources, inline=False)
    assert future.props.resources is resources and future.props.standalone


def test_tuple_futures_unpack_into_typed_projections() -> None:
    number, text = pair()
    assert isinstance(number, Projection) and number.declared_type is int and text.declared_type is str


def test_indexing_lists_and_dicts_gives_projections() -> None:
    assert numbers()[0].declared_type is int
    assert table()["a"].declared_type is int


def test_dataclass_fields_are_projections() -> None:
    assert split().train.declared_type == list[int]


def test_unknown_dataclass_field_lists_the_fields() -> None:
    with pytest.raises(AttributeError, match="has no field 'valid'; its fields are: test, train"):
        split().valid  # noqa: B018


def test_projections_are_valid_inputs() -> None:
    assert total(split().train).kwargs["xs"].key == ("attr", "train")


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (lambda f: bool(f), "as a condition"),
        (lambda f: f + 1, "`\\+`"),
        (lambda f: f < 1, "`<`"),
        (lambda f: len(f), "len\\(\\)"),
        (lambda f: list(f), "iterating over"),
        (lambda f: 1 in f, "`in`"),
    ],
)
def test_operations_needing_the_value_explain_the_workaround(operation, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsupportedFutureOperation, match=message) as caught:
        operation(numbers())
    assert "inside a @loopline.func" in str(caught.value) or "Iterate inside a func" in str(caught.value)


def test_futures_are_immutable() -> None:
    with pytest.raises(AttributeError, match="use .set"):
        numbers().name = "x"  # type: ignore[attr-defined]


def test_containers_of_futures_are_valid_inputs() -> None:
    future = total([numbers()[0], 2])
    assert isinstance(future.kwargs["xs"][0], Projection)


def test_resolve_runs_the_pipeline_without_a_warning(home) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Sematic pipelines call it: it must stay quiet
        assert total([1, 2]).resolve(tracking=False) == 3


def test_comparing_a_future_with_a_value_raises_like_every_operator() -> None:
    future = numbers()
    with pytest.raises(NotImplementedError, match="`==` on the Future of numbers"):
        future == 1  # noqa: B015
    with pytest.raises(UnsupportedFutureOperation, match="`!=`"):
        future != 1  # noqa: B015
    assert future == future and future != numbers() and future in {future}


def test_an_item_of_a_future_is_a_future() -> None:
    item = pair()[0]
    assert isinstance(item, loopline.Future) and isinstance(item, Projection)
    with pytest.raises(UsageError, match=r"call .set\(...\) on pair\(\) itself"):
        item.set(name="first")


def test_props_have_sematic_names_and_list_tags() -> None:
    retry = loopline.RetrySettings(retries=1)
    resources = loopline.ResourceRequirements(cpus=1)
    props = numbers().set(tags=["a"], retry=retry, resources=resources).props
    assert props.retry_settings is retry and props.resource_requirements is resources
    assert props.tags == ["a"]


def test_resolve_takes_a_runner() -> None:
    assert total([1, 2]).resolve(loopline.SilentRunner()) == 3
