"""What a running func can ask about itself: `context()` and `log_metric()`."""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from loopline.errors import NotInFuncError, UsageError

MetricSink = Callable[[str, str, float, "int | None"], None]  # (run id, name, value, step)


@dataclasses.dataclass(frozen=True)
class Context:
    """The run a func body is executing as, and the pipeline (root run) it belongs to."""

    run_id: str
    root_id: str


@dataclasses.dataclass(frozen=True)
class StepScope:
    context: Context
    log_metric: MetricSink
    created: list[object] = dataclasses.field(default_factory=list)  # futures the body made


_CURRENT: ContextVar[StepScope | None] = ContextVar("loopline_step", default=None)


@contextlib.contextmanager
def step_scope(scope: StepScope) -> Iterator[None]:
    """Entered by executors around a func body."""
    token = _CURRENT.set(scope)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def note_created(future: object) -> None:
    """Called for every new Future: inside a func body, the step remembers it (to tell about
    futures that were never returned nor passed on, and so never run)."""
    scope = _CURRENT.get()
    if scope is not None:
        scope.created.append(future)


def note_run(future: object) -> None:
    """Called when a runner runs `future` as a pipeline of its own: inside a func body, that
    future is then used, though the body neither returns it nor passes it on."""
    scope = _CURRENT.get()
    if scope is not None:
        scope.created[:] = [f for f in scope.created if f is not future]


def _current(what: str) -> StepScope:
    scope = _CURRENT.get()
    if scope is None:
        raise NotInFuncError(
            f"loopline.{what} can only be called inside a running @loopline.func "
            "(it describes the run being executed)"
        )
    return scope


def context() -> Context:
    """The current run's ids. Only valid inside a func body while a runner executes it."""
    return _current("context()").context


def log_metric(name: str, value: float, step: int | None = None, *, pipeline: bool = False) -> None:
    """Record a metric point for the current run (shown as a chart in the dashboard); with
    `pipeline=True`, for the pipeline's root run instead."""
    if not isinstance(name, str) or not name:
        raise UsageError(f"log_metric(name=...) must be a non-empty string, got {name!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"log_metric({name!r}, value=...) must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise UsageError(f"log_metric({name!r}, ...) got {number}: metrics must be finite numbers")
    scope = _current("log_metric()")
    run_id = scope.context.root_id if pipeline else scope.context.run_id
    scope.log_metric(run_id, name, number, step)
