"""`RunEnvironment`: everything a PipelineExecution needs from its runner, in one place.

A runner differs from another only in what it puts here: its stores, its hooks, its cache, and
the executors its steps run on. The state machine (`machine.py`) is the same for all.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from loopline.core.clock import Clock, SystemClock
from loopline.core.hashing import cache_key
from loopline.core.records import CacheHit, RunRecord, RunState
from loopline.engine.executors import Executor, StepReporter
from loopline.engine.hooks import RunHooks
from loopline.engine.passing import StoredValues, ValueStore
from loopline.errors import LooplineWarning, ResourceUnavailableError
from loopline.sdk.future import Future
from loopline.sdk.resources import ResourceRequirements
from loopline.storage.base import ArtifactStore, MetadataStore

if TYPE_CHECKING:
    from loopline.engine.machine import PipelineExecution

ExecutorFactory = Callable[[StepReporter], Mapping[str, Executor]]


def reuse_key(run: RunRecord) -> str:
    """What must match for a rerun to reuse an earlier run: function, code and inputs."""
    inputs = {name: ref.artifact_id for name, ref in run.inputs.items()}
    return cache_key(f"{run.function}:{run.code_version}", inputs, None)


class StoreCache(RunHooks):
    """Cache lookups in a MetadataStore, plus the results this runner produced lately, which the
    store may not have yet (so a repeated call within one pipeline hits too). The tracker writes
    them within a fraction of a second, so only the latest `RECENT` are kept."""

    RECENT = 10_000

    def __init__(self, metadata: MetadataStore, artifacts: ArtifactStore) -> None:
        self.metadata = metadata
        self.artifacts = artifacts
        self._recent: dict[str, CacheHit] = {}

    def on_run_update(self, *, run: RunRecord) -> None:
        if run.cache_key and run.state is RunState.SUCCEEDED and run.output_id:
            if len(self._recent) >= self.RECENT:
                del self._recent[next(iter(self._recent))]  # the oldest
            self._recent[run.cache_key] = CacheHit(run.id, run.output_id)

    def lookup(self, key: str) -> CacheHit | None:
        recent = self._recent.get(key)
        if recent is not None:
            return recent  # produced by this runner moments ago: its output is in the store
        hit = self.metadata.find_cached(key)
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
    namespace_of: Callable[[Future[Any]], str | None] | None = None  # a namespace per root future
    cache: StoreCache | None = None
    rerun: RerunPlan = RerunPlan()
    describe_root: Callable[[RunRecord, Future[Any]], RunRecord] = lambda run, future: run
    gpu_detector: Callable[[], list[int]] = list
    strict_types: bool = False  # refuse the Sematic-style conversions made when funcs were called
    runner_name: str = "this runner"
    values: ValueStore | None = None  # how values pass between steps (default: into `artifacts`)
    _executors: Mapping[str, Executor] = dataclasses.field(default_factory=dict)
    _gpu_ids: list[int] | None = None
    _warned: set[str] = dataclasses.field(default_factory=set)

    def __post_init__(self) -> None:
        if self.values is None:
            self.values = StoredValues(self.artifacts)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, execution: PipelineExecution) -> None:
        self._executors = self.executors(execution)

    def stop(self) -> None:
        for executor in self.executor_set():
            executor.shutdown()
        # The executors report to the execution, which holds this environment: break the cycle,
        # so what the run held is freed now rather than at the next full garbage collection.
        self._executors = {}

    def executor_set(self) -> list[Executor]:
        """Each executor once (one may serve several kinds of step)."""
        return list({id(e): e for e in self._executors.values()}.values())

    # -- placement ------------------------------------------------------------------------------

    @property
    def gpu_ids(self) -> list[int]:
        if self._gpu_ids is None:
            self._gpu_ids = self.gpu_detector()
        return self._gpu_ids

    def resources_for(self, future: Future[Any]) -> ResourceRequirements | None:
        """What this runner honours of the call's resource request: everything, except Sematic's
        Kubernetes settings, which describe a pod on a cluster. Their pod-only settings, and
        their requests beyond what this runner can give, are dropped with one warning per func."""
        resources = future.props.resources
        if resources is None or resources.kubernetes is None:
            return resources
        unmet = self.unmet(resources) & resources.from_kubernetes
        ignored = resources.ignored_settings()
        if unmet or ignored:
            self._warn_ignored(future, ignored, sorted(unmet))
        return resources.without(unmet) if unmet else resources

    def unmet(self, resources: ResourceRequirements) -> set[str]:
        """Which of cpus, gpus and memory this machine can never provide."""
        unmet = set()
        if resources.gpus > len(self.gpu_ids):
            unmet.add("gpus")
        if resources.cpus is not None and resources.cpus > (os.cpu_count() or 1):
            unmet.add("cpus")
        total_memory = _total_memory()
        if resources.memory is not None and total_memory and resources.memory > total_memory:
            unmet.add("memory")
        return unmet

    def _warn_ignored(self, future: Future[Any], settings: list[str], requests: list[str]) -> None:
        name = future.function.name
        if name in self._warned:
            return
        self._warned.add(name)
        parts = []
        if settings:
            parts.append(f"its Kubernetes-only settings ({', '.join(settings)}) have no effect")
        if requests:
            parts.append(f"its Kubernetes requests for {' and '.join(requests)} exceed what it can give")
        warnings.warn(
            f"{name}() runs on {self.runner_name}: {'; '.join(parts)}, so they are ignored. They "
            "describe a Kubernetes pod; to size steps here, use ResourceRequirements(cpus=, gpus=, "
            "memory=), and on a KubeRay cluster, set them on its worker group (docs/ray.md)",
            LooplineWarning,
            stacklevel=2,
        )

    def place(self, future: Future[Any], resources: ResourceRequirements | None) -> Executor:
        """The executor for this call; ResourceUnavailableError if it can never run here."""
        props = future.props
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

    def total_capacity(self) -> int:
        """How many steps may run at once, on every executor together."""
        return sum(self.capacity(executor) for executor in self.executor_set())

    # -- caching and reruns ---------------------------------------------------------------------

    def reusable(self, run: RunRecord, cache_enabled: bool) -> CacheHit | None:
        """An earlier run whose output this run can take instead of executing."""
        if self.rerun.reuse or self.rerun.redo:
            key = reuse_key(run)
            if key in self.rerun.redo:
                return None
            earlier = self.rerun.reuse.get(key)
            if earlier is not None and earlier.output_id and self.artifacts.exists(earlier.output_id):
                return CacheHit(earlier.id, earlier.output_id)
        if cache_enabled and self.cache is not None and run.cache_key:
            return self.cache.lookup(run.cache_key)
        return None


def _total_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
