"""Helpers for testing pipelines: mock funcs' bodies while keeping their types and graph."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from unittest import mock

from loopline.core.clock import ManualClock
from loopline.errors import UsageError
from loopline.sdk.function import Function


@dataclasses.dataclass
class FuncMock:
    """`mock` replaces the body; `original` is the undecorated function."""

    mock: mock.MagicMock
    original: Callable[..., Any]
    signature: inspect.Signature


@contextlib.contextmanager
def mock_funcs(funcs: Sequence[Function[..., Any]]) -> Iterator[dict[Function[..., Any], FuncMock]]:
    """Replace the bodies of `funcs` by mocks. Calls still return futures, arguments and
    outputs are still type-checked, and the graph is built as usual:

        with mock_funcs([train]) as mocks:
            mocks[train].mock.return_value = fake_model
            SilentRunner().run(pipeline())
    """
    for function in funcs:
        if not isinstance(function, Function):
            raise UsageError(
                f"mock_funcs(funcs=[...]) takes functions decorated with @loopline.func; got {function!r}"
            )
    mocks: dict[Function[..., Any], FuncMock] = {}
    try:
        for function in funcs:
            fake = mock.MagicMock()
            fake.__signature__ = function.signature
            mocks[function] = FuncMock(fake, function.fn, function.signature)
            function._body = fake
        yield mocks
    finally:
        for function, entry in mocks.items():
            function._body = entry.original


mock_sematic_funcs = mock_funcs

__all__ = ["FuncMock", "ManualClock", "mock_funcs", "mock_sematic_funcs"]
