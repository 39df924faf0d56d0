"""Ported from Sematic 0.41.0 (Apache-2.0): sematic/tests/test_3_10_function.py.

Written by tests/sematic/port.py: the file went through `loopline migrate` (its imports), then
lost the tests of Sematic's internals: none.
Tests marked xfail show a difference of Loopline's, explained in the marker and docs/sematic.md.
"""

import sys

# Third-party
import pytest

# Sematic
from loopline import Function, func
from loopline import SilentRunner


@pytest.mark.skipif(sys.version_info < (3, 10), reason="Requires python >=3.10")
def test_decorator_3_10_style_hints():
    @func
    def f(a: list[int], b: dict[str, str]) -> int | float:
        return 42

    assert isinstance(f, Function)
    result = SilentRunner().run(f([1, 2, 3], {"hi": "there"}))
    assert result == 42


@pytest.mark.xfail(strict=True, reason='Loopline accepts a bare `list` annotation (any list); Sematic required `list[...]`')
def test_decorator_unparameterized_generic():
    expected_exception = (
        r"Invalid type annotation for argument 'a' of "
        r"sematic.tests.test_3_10_function.f: "
        r"list must be parametrized \(list\[...\] instead of list\)."
    )
    with pytest.raises(TypeError, match=expected_exception):

        @func
        def f(a: list) -> int:
            return 42
