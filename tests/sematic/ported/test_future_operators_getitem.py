"""Ported from Sematic 0.41.0 (Apache-2.0): sematic/future_operators/tests/test_getitem.py.

Written by tests/sematic/port.py: the file went through `loopline migrate` (its imports), then
lost the tests of Sematic's internals: none.
Tests marked xfail show a difference of Loopline's, explained in the marker and docs/sematic.md.
"""

import pytest
# Standard Library
from typing import List
from loopline import func
from loopline import Future
from loopline import SilentRunner


@func
def foo() -> List[str]:
    return ["foo", "bar", "bat"]


@func
def pipeline() -> str:
    return foo()[1]


@pytest.mark.xfail(strict=True, reason="f()[0] is a Future that reads part of f()'s output; it is not a call of Sematic's internal getitem func, so it has no `kwargs` or `function`")
def test_getitem():
    a = foo()[0]

    assert isinstance(a, Future)
    assert a.kwargs["key"] == 0
    assert a.function.output_type is str


def test_pipeline_run():
    assert SilentRunner().run(pipeline()) == "bar"
