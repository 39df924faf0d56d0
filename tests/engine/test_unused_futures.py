"""A func called in a body whose future is neither returned nor passed on never runs: say so."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import loopline
from loopline.engine.structure import unused_futures
from loopline.errors import LooplineWarning

SAVED: list[float] = []


@loopline.func
def add(a: float, b: float) -> float:
    return a + b


@loopline.func
def save(total: float) -> float:
    SAVED.append(total)
    return total


@loopline.func
def forgets_to_return_save(a: float, b: float) -> float:
    total = add(a, b)
    save(total)
    return total


@loopline.func
def returns_everything(a: float, b: float) -> tuple[float, float]:
    total = add(a, b)
    return total, save(total)


def test_only_futures_the_output_leads_to_are_used() -> None:
    total = add(1, 2)
    doubled = add(total, total)
    stray = save(total)
    assert unused_futures([total, doubled, stray], [doubled]) == [stray]
    assert unused_futures([total, stray], {"report": stray}) == []  # stray's input is total


def test_a_forgotten_call_is_reported_at_the_func_that_made_it(home: Path) -> None:
    SAVED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LooplineWarning)
        result = loopline.LocalRunner(home=home, echo=False).run(forgets_to_return_save(1, 2))
    assert result == 3 and SAVED == []  # save() never ran...
    (warning,) = [w for w in caught if issubclass(w.category, LooplineWarning)]
    message = str(warning.message)
    assert "forgets_to_return_save() called save()" in message and "will not run" in message
    assert warning.filename == __file__  # ...and the warning points at the func that forgot it


def test_returned_calls_run_without_a_warning(home: Path) -> None:
    SAVED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", LooplineWarning)
        assert loopline.LocalRunner(home=home, echo=False).run(returns_everything(1, 2)) == (3, 3)
    assert SAVED == [3]


def test_under_warnings_as_errors_the_forgetful_step_fails(home: Path) -> None:
    with pytest.raises(loopline.PipelineRunError, match="will not run"):
        loopline.LocalRunner(home=home, echo=False).run(forgets_to_return_save(1, 2))
