"""`RunEnvironment`: everything a PipelineExecution needs from its runner, in one place.

A runner differs from another only in what it puts here: its stores, its hooks, its cache, and
the executors its steps run on. The state machine (`machine.py`) is the same for all.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from loopline.core.clock import Clock, SystemClock
from loopline.core.hashing import cache_key
from loopline.core.records import RunRecord, RunState
from loopline.engine.executors import Executor, StepReporter
from loopline.engine.hooks import RunHooks
from loopline.errors import ResourceUnavailableError
from loopline.sdk.future import Future
from loopline.storage.base import ArtifactStore, MetadataStore

if TYPE_CHECKING:
    from loopline.engine.machine import PipelineExecution

ExecutorFactory = Callable[[StepReporter], Mapping[str, Executor]]


def reuse_key(run: RunRecord) -> str:
    """What must match for a rerun to reuse an earlier run: function, code and inputs."""
    inputs = {name: ref.artifact_id for name, ref in run.inputs.items()}
    return cache_key(f"{run.function}:{run.code_version}", inputs, None)


class StoreCache(RunHooks):
    """Cache lookups in a MetadataStore, plus the hits this runner produced but has not
    flushed yet (so a repeated call within one pipeline hits too)."""

    def __init__(self, metadata: MetadataStore, artifacts: ArtifactStore) -> None:
        self.metadata = metadata
        self.artifacts = artifacts
        self._recent: dict[str, RunRecord] = {}

    def on_run_update(self, *, run: RunRecord) -> None:
        if run.cache_key and run.state is RunState.SUCCEEDED:
            self._recent[run.cache_key] = run

    def lookup(self, key: str) -> RunRecord | None:
        hit = self._recent.get(key) or self.metadata.find_cached(key)
        if hit is None or not hit.output_id or not self.artifacts.exists(hit.output_id):
            return None  # never recorded, or its output was garbage-collected
        return hit


@dataclasses.dataclass(frozen=True)
class RerunPlan:
    """A rerun from an earlier run: the earlier runs it reuses (by reuse key), and the reuse keys
    it must execute again, cache or not (the chosen run, what it nests, what is downstream of
    it, and their parents)."""

    reuse: Mapping[str, RunRecord] = dataclasses.field(default_factory=dict)
    redo: frozenset[str] = frozenset()


@dataclasses.dataclass
class RunEnvironment:
    artifacts: ArtifactStore
    hooks: RunHooks
    executors: ExecutorFactory
    clock: Clock = dataclasses.field(default_factory=SystemClock)
    runner_id: str | None = None
    cache_namespace: str | None = None
    cache: StoreCache | None = None
    rerun: RerunPlan = RerunPlan()
    describe_root: Callable[[RunRecord, Future[Any]], RunRecord] = lambda run, future: run
    gpu_detector: Callable[[], list[int]] = list
    _executors: Mapping[str, Executor] = dataclasses.field(default_factory=dict)
    _gpu_ids: list[int] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, execution: PipelineExecution) -> None:
        self._executors = self.executors(execution)

    def stop(self) -> None:
        for executor in self._executors.values():
            executor.shutdown()

    # -- placement ------------------------------------------------------------------------------

    @property
    def gpu_ids(self) -> list[int]:
        if self._gpu_ids is None:
            self._gpu_ids = self.gpu_detector()
        return self._gpu_ids

    def place(self, future: Future[Any]) -> Executor:
        """The executor for this call; ResourceUnavailableError if it can never run here."""
        props = future.props
        resources = props.resources
        name = future.function.name
        if resources is not None:
            if resources.gpus > len(self.gpu_ids):
                have = (
                    f"only {len(self.gpu_ids)}" if self.gpu_ids else "none (nvidia-smi found no NVIDIA GPU)"
                )
                raise ResourceUnavailableError(
                    f"{name}() asks for {resources.gpus} GPU(s), but this machine has {have}. Run it "
                    "where GPUs are (e.g. RayRunner on a cluster with GPU nodes), or lower `gpus`"
                )
            cpus = os.cpu_count() or 1
            if resources.cpus is not None and resources.cpus > cpus:
                raise ResourceUnavailableError(
                    f"{name}() asks for {resources.cpus:g} CPUs, but this machine has {cpus}; lower "
                    "`cpus` or run it on a bigger machine (RayRunner)"
                )
            total_memory = _total_memory()
            if resources.memory is not None and total_memory and resources.memory > total_memory:
                raise ResourceUnavailableError(
                    f"{name}() asks for {resources.memory / 2**30:.1f} GiB of memory, but this machine "
                    f"has {total_memory / 2**30:.1f} GiB"
                )
        wants_process = props.standalone or (resources is not None and resources.gpus > 0)
        key = "process" if wants_process and "process" in self._executors else "default"
        return self._executors[key]

    def capacity(self, executor: Executor) -> int:
        return int(getattr(executor, "size", 1))

    # -- caching and reruns ---------------------------------------------------------------------

    def reusable(self, run: RunRecord, cache_enabled: bool) -> RunRecord | None:
        """An earlier run whose output this run can take instead of executing."""
        if self.rerun.reuse or self.rerun.redo:
            key = reuse_key(run)
            if key in self.rerun.redo:
                return None
            earlier = self.rerun.reuse.get(key)
            if earlier is not None and earlier.output_id and self.artifacts.exists(earlier.output_id):
                return earlier
        if cache_enabled and self.cache is not None and run.cache_key:
            return self.cache.lookup(run.cache_key)
        return None


def _total_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
