"""SilentRunner passes values by reference (only their types are checked), or, asked to, encodes
them as the tracked runners store them."""

from __future__ import annotations

import threading

import pytest

import loopline
from loopline.errors import OutputTypeError, PipelineRunError, SerializationError

SEEN: list[object] = []


@loopline.func
def make() -> list[int]:
    value = [1, 2, 3]
    SEEN.append(value)
    return value


@loopline.func
def same(xs: list[int]) -> bool:
    return xs is SEEN[-1]


@loopline.func
def lock() -> threading.Lock:  # a value no store can keep (it cannot be pickled)
    return threading.Lock()


@loopline.func
def holds_a_lock(value: threading.Lock) -> bool:
    return isinstance(value, type(threading.Lock()))


@loopline.func
def lies() -> int:
    return "not an int"  # type: ignore[return-value]


def test_a_step_gets_the_very_object_its_producer_returned() -> None:
    assert loopline.SilentRunner().run(same(make())) is True


def test_a_value_no_store_can_keep_passes_by_reference() -> None:
    assert loopline.SilentRunner().run(holds_a_lock(lock())) is True


def test_encoding_values_fails_where_a_tracked_runner_would() -> None:
    with pytest.raises(PipelineRunError) as caught:
        loopline.SilentRunner(encode_values=True).run(holds_a_lock(lock()))
    assert isinstance(caught.value.__cause__, SerializationError)


def test_encoded_values_reach_the_next_step_as_they_were_returned() -> None:
    assert loopline.SilentRunner(encode_values=True).run(same(make())) is True


@pytest.mark.parametrize("encode_values", [False, True])
def test_outputs_are_type_checked_either_way(encode_values: bool) -> None:
    with pytest.raises(PipelineRunError) as caught:
        loopline.SilentRunner(encode_values=encode_values).run(lies())
    assert isinstance(caught.value.__cause__, OutputTypeError)
