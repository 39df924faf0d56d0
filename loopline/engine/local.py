"""`LocalRunner`: runs pipelines on this machine, tracked in the embedded (or configured) store."""

from __future__ import annotations

import collections
import contextlib
import enum
import logging
import os
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from loopline.core.clock import Clock, SystemClock
from loopline.core.records import RunFilter, RunRecord
from loopline.engine import capture
from loopline.engine.environment import RerunPlan, RunEnvironment, StoreCache, reuse_key
from loopline.engine.executors import Executor, StepReporter, ThreadExecutor
from loopline.engine.gpu import visible_gpu_ids
from loopline.engine.hooks import HookList, RunHooks
from loopline.engine.launch import current_user, git_info, launch_spec, source_directory
from loopline.engine.liveness import Liveness, mark_orphans
from loopline.engine.machine import PipelineExecution
from loopline.engine.notebook_progress import notebook_hooks
from loopline.engine.passing import StoredValues
from loopline.engine.runner import Runner
from loopline.engine.tracking import StoreTracker
from loopline.engine.workers import ProcessExecutor
from loopline.errors import LooplineWarning, UsageError
from loopline.sdk.future import Future
from loopline.settings import Settings
from loopline.storage.base import ArtifactStore, MetadataStore
from loopline.storage.embedded import open_stores
from loopline.storage.lookup import find_run

logger = logging.getLogger(__name__)

CacheNamespace = str | Callable[[Future[Any]], str] | None


class RerunMode(enum.Enum):
    """What `rerun_from` means (Sematic's modes).

    - `SPECIFIC_RUN` (the default): that run, what it nests and everything downstream of it
      execute again; everything else of its pipeline is reused.
    - `CONTINUE`: `rerun_from` is a pipeline's root run; every run of it that succeeded is
      reused, and only what failed, was cancelled or never ran executes.
    - `REENTER`: Sematic's way to resume the very same pipeline run after its runner died.
      Loopline never resumes a run in place (a crashed runner's runs are marked as such and
      stay so): it raises, pointing to `CONTINUE`, which does the same in a new pipeline run.
    """

    SPECIFIC_RUN = "SPECIFIC_RUN"
    CONTINUE = "CONTINUE"
    REENTER = "REENTER"


EXECUTORS = ("thread", "process")


class LocalRunner(Runner):
    """Run pipelines on this machine, tracking every run, input, output, log and metric.

    - `cache_namespace`: cached results are only shared within one namespace: a string, or a
      function of the pipeline's root future that returns one (Sematic's callable form).
    - `rerun_from`: a run id of an earlier pipeline; that run and everything downstream of it
      execute again, everything upstream is reused (see `rerun_mode` for the other modes).
    - `executor`: where steps run. `"thread"` (default): in a pool of threads (best for steps that
      wait on I/O, and for tiny steps), and `standalone=True` or GPU steps in warm worker
      processes. `"process"`: every step in the worker processes (one per core), so CPU-bound
      pure-Python steps use every core; funcs defined in a script or a notebook travel by value.
    - `max_parallelism`: how many steps run at once (default: 8 threads or 4 per core, and one
      worker process per core).
    - `home` / `settings` / `metadata` + `artifacts`: where to track (default: `LOOPLINE_HOME`).
    - `cache=False` ignores every cache (the CLI's `--no-cache`).
    - `echo=False` keeps step output out of the terminal (it is still recorded).
    - In a Jupyter notebook the cell shows the pipeline's progress live (`engine.notebook_progress`).
    """

    def __init__(
        self,
        cache_namespace: CacheNamespace = None,
        rerun_from: str | None = None,
        max_parallelism: int | None = None,
        *,
        rerun_mode: RerunMode | None = None,
        executor: str = "thread",
        home: str | Path | None = None,
        settings: Settings | None = None,
        metadata: MetadataStore | None = None,
        artifacts: ArtifactStore | None = None,
        cache: bool = True,
        echo: bool = True,
        hooks: Sequence[RunHooks] = (),
        clock: Clock | None = None,
    ) -> None:
        if isinstance(max_parallelism, RerunMode) and rerun_mode is None:  # Sematic's third positional
            max_parallelism, rerun_mode = None, max_parallelism
        if rerun_mode is not None and not isinstance(rerun_mode, RerunMode):
            raise UsageError(f"LocalRunner(rerun_mode=...) must be a RerunMode, got {rerun_mode!r}")
        if rerun_mode is RerunMode.REENTER:
            raise UsageError(
                "LocalRunner(rerun_mode=RerunMode.REENTER) resumes a pipeline run in place, which "
                "Loopline never does; use RerunMode.CONTINUE: a new pipeline run that reuses every "
                "successful run of the old one and executes the rest"
            )
        if cache_namespace is not None and not (
            isinstance(cache_namespace, str) or callable(cache_namespace)
        ):
            raise UsageError(
                f"LocalRunner(cache_namespace=...) must be a string or a function of the root future, got {cache_namespace!r}"
            )
        if max_parallelism is not None and (not isinstance(max_parallelism, int) or max_parallelism < 1):
            raise UsageError(f"LocalRunner(max_parallelism=...) must be an int >= 1, got {max_parallelism!r}")
        if executor not in EXECUTORS:
            raise UsageError(
                f"LocalRunner(executor=...) is one of {', '.join(map(repr, EXECUTORS))}, got {executor!r}"
            )
        if (metadata is None) != (artifacts is None):
            raise UsageError("LocalRunner takes both `metadata` and `artifacts`, or neither")
        if home is not None and settings is not None:
            raise UsageError("LocalRunner takes `home` or `settings`, not both")
        self.cache_namespace = cache_namespace
        self.rerun_from = rerun_from
        self.rerun_mode = rerun_mode or RerunMode.SPECIFIC_RUN
        self.max_parallelism = max_parallelism
        self.executor = executor
        self.settings = Settings.for_home(home, os.environ) if home is not None else settings
        self._stores = (metadata, artifacts) if metadata is not None and artifacts is not None else None
        self.use_cache = cache
        self.echo = echo
        self.hooks = list(hooks)
        self.clock = clock or SystemClock()
        self._liveness: Liveness | None = None

    def stores(self) -> tuple[MetadataStore, ArtifactStore]:
        """The stores this runner tracks into (opened on first use)."""
        if self._stores is None:
            self._stores = open_stores(self.settings or Settings.from_env())
        return self._stores

    def _executors(self, artifacts: ArtifactStore) -> Any:
        cores = os.cpu_count() or 1
        threads = self.max_parallelism or max(8, 4 * cores)
        processes = min(self.max_parallelism or cores, cores)

        def build(reporter: StepReporter) -> dict[str, Executor]:
            workers = ProcessExecutor(artifacts, reporter, processes)
            if self.executor == "process":
                return {"default": workers, "process": workers}
            return {"default": ThreadExecutor(StoredValues(artifacts), reporter, threads), "process": workers}

        return build

    @contextlib.contextmanager
    def _environment(self) -> Iterator[RunEnvironment]:
        metadata, artifacts = self.stores()
        mark_orphans(metadata, self.clock.now())
        runner_id = uuid.uuid4().hex
        liveness = Liveness.register(metadata, self.clock, runner_id)
        tracker = StoreTracker(metadata)
        cache = StoreCache(metadata, artifacts)
        capture.install(echo=self.echo)
        self._liveness = liveness
        try:
            yield RunEnvironment(
                artifacts=artifacts,
                hooks=HookList([tracker, cache, *self.hooks, *notebook_hooks(self.hooks, echo=self.echo)]),
                executors=self._executors(artifacts),
                clock=self.clock,
                runner_id=runner_id,
                cache_namespace=self.cache_namespace if isinstance(self.cache_namespace, str) else None,
                namespace_of=namespace_function(self.cache_namespace),
                cache=cache if self.use_cache else None,
                rerun=self._rerun_plan(metadata),
                describe_root=_describe_root,
                gpu_detector=visible_gpu_ids,
                strict_types=(self.settings or Settings.from_env()).strict_types,
                runner_name=type(self).__name__,
            )
        finally:
            self._liveness = None
            try:
                tracker.close()
            except BaseException as error:
                why = f"could not record it: {error}" if isinstance(error, Exception) else "was interrupted"
                _close_after_failure(liveness, f"its runner {why}")
                raise
            liveness.close()

    def _started(self, execution: PipelineExecution) -> None:
        assert self._liveness is not None
        self._liveness.watch(
            root_id=lambda: execution.root.id if execution.root is not None else None,
            on_cancel=execution.request_cancel,
        )

    def _stopping(self, execution: PipelineExecution) -> None:
        if self._liveness is not None:
            self._liveness.unwatch()

    def _rerun_plan(self, metadata: MetadataStore) -> RerunPlan:
        if not self.rerun_from:
            return RerunPlan()
        if self.rerun_mode is RerunMode.CONTINUE:
            return continue_plan(metadata, self.rerun_from)
        return rerun_plan(metadata, self.rerun_from)

    def __repr__(self) -> str:
        return (
            f"LocalRunner(cache_namespace={self.cache_namespace!r}, rerun_from={self.rerun_from!r}, "
            f"executor={self.executor!r})"
        )


def _close_after_failure(liveness: Liveness, reason: str) -> None:
    """Stop the runner whose bookkeeping failed, orphaning its unfinished runs with `reason`.
    When even that cannot be written (the disk is still full), the failure that stopped the
    runner is the one to raise: its runs are found by `loopline clean` (or the next runner)
    once its process is gone."""
    try:
        liveness.close(reason)
    except Exception:
        logger.warning("could not mark the runner stopped: %s", reason, exc_info=True)


def namespace_function(cache_namespace: CacheNamespace) -> Callable[[Future[Any]], str | None] | None:
    """Sematic's callable cache namespace, as the runner calls it with the root future: a
    namespace that cannot be computed turns caching off for that run, with a warning (as in
    Sematic), so that no run ever reads another namespace's results."""
    if cache_namespace is None or isinstance(cache_namespace, str):
        return None
    compute = cache_namespace

    def namespace_of(root: Future[Any]) -> str | None:
        try:
            namespace = compute(root)
        except Exception as error:  # noqa: BLE001 - user code; the run goes on without the cache
            warnings.warn(
                f"cache_namespace function {getattr(compute, '__name__', compute)!r} raised "
                f"{type(error).__name__}: {error}; this run uses no cached results",
                LooplineWarning,
                stacklevel=2,
            )
            return None
        return str(namespace)

    return namespace_of


def _describe_root(run: RunRecord, future: Future[Any]) -> RunRecord:
    fn = future.function.fn
    return run.replace(user=current_user(), git=git_info(source_directory(fn)), launch=launch_spec(fn))


def pipeline_runs(metadata: MetadataStore, root_id: str) -> list[RunRecord]:
    runs: list[RunRecord] = []
    cursor = None
    while True:
        page = metadata.list_runs(RunFilter(root_id=root_id), limit=1000, cursor=cursor)
        runs += page.runs
        cursor = page.next_cursor
        if cursor is None:
            return runs


def continue_plan(metadata: MetadataStore, run_id: str) -> RerunPlan:
    """`RerunMode.CONTINUE` from the pipeline whose root run is `run_id`: every successful run
    of it may be reused; the rest executes."""
    root = find_run(metadata, run_id)
    if root.id != root.root_id:
        raise UsageError(
            f"RerunMode.CONTINUE needs the root run of a pipeline, but {root.id} is a step of "
            f"pipeline {root.root_id}: pass rerun_from={root.root_id!r}, or use "
            "RerunMode.SPECIFIC_RUN to rerun from this step"
        )
    reuse = {
        reuse_key(run): run
        for run in pipeline_runs(metadata, root.id)
        if run.state.is_success and run.output_id
    }
    return RerunPlan(reuse)


def rerun_plan(metadata: MetadataStore, run_id: str) -> RerunPlan:
    """A rerun from `run_id`: it executes again `run_id`, everything nested in it, everything that
    consumed their outputs, and their parents (cache or not), and may reuse every other
    successful run of that pipeline."""
    target = find_run(metadata, run_id)  # an id, or a unique prefix of one
    runs = {r.id: r for r in pipeline_runs(metadata, target.root_id)}
    children: dict[str, list[str]] = collections.defaultdict(list)
    consumers: dict[str, list[str]] = collections.defaultdict(list)
    for run in runs.values():
        if run.parent_id:
            children[run.parent_id].append(run.id)
        for ref in run.inputs.values():
            for source in ref.sources:
                consumers[source].append(run.id)
    invalid: set[str] = set()
    work: list[tuple[str, bool]] = [(target.id, True)]  # (run, whether its nested runs are invalid too)
    while work:
        current, with_children = work.pop()
        if current in invalid:
            if with_children:
                work += [(c, True) for c in children[current] if c not in invalid]
            continue
        invalid.add(current)
        if with_children:
            work += [(c, True) for c in children[current]]
        work += [(c, True) for c in consumers[current]]
        parent = runs[current].parent_id if current in runs else None
        if parent:
            work.append((parent, False))
    reuse = {
        reuse_key(run): run
        for run in runs.values()
        if run.id not in invalid and run.state.is_success and run.output_id
    }
    return RerunPlan(reuse, frozenset(reuse_key(runs[i]) for i in invalid if i in runs))
