"""`SilentRunner`: runs a pipeline in memory, one step at a time, tracking nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from loopline.core.clock import Clock, SystemClock
from loopline.engine.environment import RunEnvironment
from loopline.engine.executors import InlineExecutor, StepReporter
from loopline.engine.gpu import visible_gpu_ids
from loopline.engine.hooks import RunHooks
from loopline.engine.runner import Runner
from loopline.storage.artifacts import MemoryArtifactStore


class SilentRunner(Runner):
    """Untracked, in-memory execution: for unit tests and quick checks of a pipeline.

    Types are checked and values serialized exactly as on the other runners, so a pipeline that
    passes here does not fail later for a type or storage reason.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()

    @contextlib.contextmanager
    def _environment(self) -> Iterator[RunEnvironment]:
        artifacts = MemoryArtifactStore()

        def executors(reporter: StepReporter) -> dict[str, InlineExecutor]:
            return {"default": InlineExecutor(artifacts, reporter)}

        yield RunEnvironment(
            artifacts=artifacts,
            hooks=RunHooks(),
            executors=executors,
            clock=self.clock,
            gpu_detector=visible_gpu_ids,
        )
