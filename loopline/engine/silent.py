"""`SilentRunner`: runs a pipeline in memory, one step at a time, tracking nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from loopline.core.clock import Clock, SystemClock
from loopline.engine.environment import RunEnvironment
from loopline.engine.executors import InlineExecutor, StepReporter
from loopline.engine.gpu import visible_gpu_ids
from loopline.engine.hooks import RunHooks
from loopline.engine.passing import StoredValues, ValueReferences, ValueStore
from loopline.engine.runner import Runner
from loopline.storage.artifacts import MemoryArtifactStore


class SilentRunner(Runner):
    """Untracked, in-memory execution: for unit tests and quick checks of a pipeline.

    Arguments and outputs are type-checked as on the other runners, and passed by reference: a
    step gets the very object its producer returned, nothing is encoded or copied (so a 100 MiB
    array costs nothing to pass, and a step that changes its input in place changes it for the
    other steps that read it).

    - `encode_values=True`: encode every value as the tracked runners store it (into memory),
      so that a value that cannot be stored fails here already; it costs what storing costs.
    - `strict_types=True`: refuse Sematic's conversions, as `LOOPLINE_STRICT_TYPES=1` does on
      LocalRunner.
    """

    def __init__(
        self, *, encode_values: bool = False, strict_types: bool = False, clock: Clock | None = None
    ) -> None:
        self.encode_values = encode_values
        self.strict_types = strict_types
        self.clock = clock or SystemClock()

    @contextlib.contextmanager
    def _environment(self) -> Iterator[RunEnvironment]:
        artifacts = MemoryArtifactStore()
        references = ValueReferences()
        values: ValueStore = StoredValues(artifacts) if self.encode_values else references

        def executors(reporter: StepReporter) -> dict[str, InlineExecutor]:
            return {"default": InlineExecutor(values, reporter)}

        try:
            yield RunEnvironment(
                artifacts=artifacts,
                hooks=RunHooks(),
                executors=executors,
                clock=self.clock,
                gpu_detector=visible_gpu_ids,
                strict_types=self.strict_types,
                runner_name="SilentRunner",
                values=values,
            )
        finally:
            references.clear()  # the run's values go as soon as it is over (not at the next gc)

    def __repr__(self) -> str:
        return f"SilentRunner(encode_values={self.encode_values}, strict_types={self.strict_types})"
