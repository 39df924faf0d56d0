"""`Runner`: the base of every runner. `run(future)` executes a pipeline and returns its value."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar, cast

from loopline.engine.environment import RunEnvironment
from loopline.engine.machine import PipelineExecution
from loopline.errors import UsageError
from loopline.sdk.context import note_run
from loopline.sdk.importing import check_not_importing_target

R = TypeVar("R")


class Runner:
    """Runs pipelines. Subclasses provide the environment: stores, hooks and executors.

    Every runner shares one state machine, so caching, retries, timeouts, nesting and
    cancellation behave the same on all of them.
    """

    def run(self, future: R) -> R:
        """Execute the pipeline whose root is `future` and return its output value.

        Raises `PipelineRunError` (chained to the step's own exception) when a step fails.
        """
        check_not_importing_target()
        note_run(future)
        with self._environment() as env:
            execution = PipelineExecution(env)
            env.start(execution)
            value: Any = None
            try:
                self._started(execution)
                value = execution.run(future)  # type: ignore[arg-type]
                return cast(R, value)
            finally:
                self._stopping(execution)
                env.stop()
                if execution.root is not None:  # for the future's display in a notebook
                    execution.root.future.note_outcome(execution.root.record, value)

    def resolve(self, future: R) -> R:
        """The same as `run(future)` (Sematic's Resolver API)."""
        return self.run(future)

    @contextlib.contextmanager
    def _environment(self) -> Iterator[RunEnvironment]:
        raise UsageError(
            f"{type(self).__name__} cannot run pipelines; use LocalRunner, SilentRunner or RayRunner"
        )
        yield  # pragma: no cover

    def _started(self, execution: PipelineExecution) -> None:
        """Called once the execution exists, before the root is registered."""

    def _stopping(self, execution: PipelineExecution) -> None:
        """Called when the execution is over (successfully or not)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
