from __future__ import annotations

import pytest

import loopline
from loopline.errors import OutputTypeError, PipelineRunError, UsageError
from loopline.testing import mock_funcs, mock_sematic_funcs


@loopline.func
def fetch(url: str) -> list[int]:
    raise RuntimeError("no network in tests")


@loopline.func
def count(values: list[int]) -> int:
    return len(values)


@loopline.func
def pipeline(url: str) -> int:
    return count(fetch(url))


def test_mocked_funcs_keep_the_graph_and_return_what_the_mock_says() -> None:
    with mock_funcs([fetch]) as mocks:
        mocks[fetch].mock.return_value = [1, 2, 3]
        assert loopline.SilentRunner().run(pipeline("http://example")) == 3
    mocks[fetch].mock.assert_called_once_with(url="http://example")


def test_mocked_outputs_are_still_type_checked() -> None:
    with mock_sematic_funcs([fetch]) as mocks:
        mocks[fetch].mock.return_value = "not a list"
        with pytest.raises(PipelineRunError) as caught:
            loopline.SilentRunner().run(pipeline("u"))
    assert isinstance(caught.value.__cause__, OutputTypeError)


def test_the_original_body_comes_back() -> None:
    with mock_funcs([count]):
        pass
    assert loopline.SilentRunner().run(count([1])) == 1


def test_only_funcs_can_be_mocked() -> None:
    with pytest.raises(UsageError, match="decorated with @loopline.func"), mock_funcs([len]):  # type: ignore[list-item]
        pass
