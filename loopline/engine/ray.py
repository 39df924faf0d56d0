"""`RayRunner`: the same pipelines, each step a Ray task, on a local Ray instance or a cluster.

The run state machine is LocalRunner's (tracking, caching, retries, timeouts, cancellation,
reruns); only where a step runs changes. Each step becomes one Ray task asking for its
`ResourceRequirements` (CPUs, GPUs, memory). Inputs travel as artifact ids and the task writes
its output to the artifact store, so the driver never pulls a value it does not need, and every
node must reach the artifact store (a shared folder, or an fsspec URL such as `s3://...`).

Ray's own task retries are off: a worker that dies mid-step is retried by the step's
RetrySettings alone. What a step prints and the metrics it logs reach the runner while the step
runs, through a small relay actor; whatever is left arrives with the step's result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future as ConcurrentFuture
from pathlib import Path
from typing import Any

import cloudpickle
import ray
import ray.exceptions

from loopline.core import pickling
from loopline.core.clock import Clock
from loopline.core.records import ErrorInfo
from loopline.engine import capture
from loopline.engine.environment import RunEnvironment
from loopline.engine.execution import StepResult, StepTask, execute_step
from loopline.engine.executors import Executor, StepReporter
from loopline.engine.hooks import RunHooks
from loopline.engine.local import LocalRunner
from loopline.engine.passing import StoredValues
from loopline.engine.worker import portable_result
from loopline.errors import ResourceUnavailableError, UsageError, WorkerCrashedError
from loopline.sdk.future import Future
from loopline.sdk.resources import ResourceRequirements
from loopline.settings import Settings
from loopline.storage.artifacts import store_address
from loopline.storage.base import ArtifactStore, MetadataStore
from loopline.storage.embedded import open_artifact_store

LIVE_INTERVAL_S = 0.25  # how often output of running steps travels to the runner
_GPU_SLOTS_UNBOUNDED = 1 << 16

logger = logging.getLogger(__name__)

# ("log", run_id, stream, text) or ("metric", run_id, root_id, name, value, step)
Message = tuple[Any, ...]


# -- joining Ray --------------------------------------------------------------------------------


def connect(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    runtime_env: Mapping[str, Any] | None = None,
    log_to_driver: bool = True,
) -> bool:
    """Join Ray: the instance this process already uses, else `address`, else the one of the
    environment (`RAY_ADDRESS`, or one started on this machine with `ray start`), else a new local
    instance (of `num_cpus` CPUs, listening on 127.0.0.1 only). True when this call connected."""
    if ray.is_initialized():
        return False
    env = dict(runtime_env) if runtime_env else None
    target = address or os.environ.get("RAY_ADDRESS")
    if target:
        try:
            ray.init(address=target, runtime_env=env, log_to_driver=log_to_driver)
        except (ConnectionError, ValueError) as error:
            raise UsageError(
                f"cannot connect to the Ray cluster at {target!r}: {error}. Check the address "
                "(ray://HOST:10001 through Ray Client, HOST:6379 from a node of the cluster) and that "
                "the cluster is up"
            ) from None
        return True
    try:
        ray.init(address="auto", runtime_env=env, log_to_driver=log_to_driver)
    except ConnectionError:  # no instance on this machine: start one
        _start_local(num_cpus, env, log_to_driver)
    return True


def _start_local(num_cpus: int | None, runtime_env: dict[str, Any] | None, log_to_driver: bool) -> None:
    # An instance for this process alone listens on the loopback interface only, as Ray does on
    # macOS and Windows; Ray reads this switch when it picks the node's address.
    constants = getattr(getattr(ray, "_private", None), "ray_constants", None)
    previous = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    if previous is not None:
        constants.ENABLE_RAY_CLUSTER = False  # type: ignore[union-attr]
    try:
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            runtime_env=runtime_env,
            log_to_driver=log_to_driver,
        )
    finally:
        if previous is not None:
            constants.ENABLE_RAY_CLUSTER = previous  # type: ignore[union-attr]


# -- what the cluster can run -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NodeShape:
    """The resources of one live Ray node."""

    cpus: float
    gpus: float
    memory: float  # bytes

    def fits(self, cpus: float, gpus: int, memory: int | None) -> bool:
        return self.cpus >= cpus and self.gpus >= gpus and (memory is None or self.memory >= memory)

    def describe(self) -> str:
        return f"{self.cpus:g} CPUs, {self.gpus:g} GPUs, {self.memory / 2**30:.1f} GiB"


def cluster_nodes() -> list[NodeShape]:
    return [
        NodeShape(
            float(node["Resources"].get("CPU", 0)),
            float(node["Resources"].get("GPU", 0)),
            float(node["Resources"].get("memory", 0)),
        )
        for node in ray.nodes()  # type: ignore[no-untyped-call]
        if node.get("Alive")
    ]


def task_cpus(resources: ResourceRequirements | None) -> float:
    """The CPUs a step's task reserves: its request, else one (Ray's default for a task)."""
    return 1.0 if resources is None or resources.cpus is None else resources.cpus


def check_fits(name: str, resources: ResourceRequirements, nodes: Sequence[NodeShape]) -> None:
    """ResourceUnavailableError unless one node of the cluster can run this step (a task never
    spans nodes, so a request that no single node meets would wait forever)."""
    cpus = task_cpus(resources)
    if any(node.fits(cpus, resources.gpus, resources.memory) for node in nodes):
        return
    wants = [f"{cpus:g} CPU" + ("" if cpus == 1 else "s")]
    if resources.gpus:
        wants.append(f"{resources.gpus} GPU(s)")
    if resources.memory is not None:
        wants.append(f"{resources.memory / 2**30:.1f} GiB of memory")
    largest = ", ".join(sorted({n.describe() for n in nodes})) or "no live node"
    raise ResourceUnavailableError(
        f"{name}() asks for {', '.join(wants)}, but no node of the Ray cluster has that much "
        f"(its nodes: {largest}). Lower the request, add a node that fits, or use "
        "RayRunner(autoscaling=True) if the cluster grows on demand"
    )


@dataclasses.dataclass
class RayEnvironment(RunEnvironment):
    """Placement on a Ray cluster: requests are checked against its nodes, Ray picks the node."""

    nodes: list[NodeShape] = dataclasses.field(default_factory=list)
    autoscaling: bool = False

    @property
    def gpu_ids(self) -> list[int]:
        # Ray assigns the devices (CUDA_VISIBLE_DEVICES); these slots only cap how many GPU steps
        # the state machine hands to Ray at once.
        slots = _GPU_SLOTS_UNBOUNDED if self.autoscaling else int(sum(n.gpus for n in self.nodes))
        return list(range(slots))

    def unmet(self, resources: ResourceRequirements) -> set[str]:
        # A task never spans nodes: when no node fits the request, what came from Kubernetes
        # requests is what may be dropped (an explicit request that does not fit still fails).
        cpus = task_cpus(resources)
        if self.autoscaling or any(n.fits(cpus, resources.gpus, resources.memory) for n in self.nodes):
            return set()
        return set(resources.from_kubernetes)

    def place(self, future: Future[Any], resources: ResourceRequirements | None) -> Executor:
        if resources is not None and not self.autoscaling:
            check_fits(future.function.name, resources, self.nodes)
        executor = self._executors["default"]
        assert isinstance(executor, RayExecutor)
        executor.requests[future.id] = resources
        return executor


# -- the worker side ----------------------------------------------------------------------------


class RelayState:
    """Holds what running steps print and measure until their runner collects it (an actor)."""

    def __init__(self) -> None:
        self.pending: dict[str, list[Message]] = {}

    def push(self, key: str, batch: list[Message]) -> None:
        self.pending.setdefault(key, []).extend(batch)

    def drain(self, key: str) -> list[Message]:
        return self.pending.pop(key, [])


# Ray pickles remote functions and actor classes by reference when their module has them under
# their own names, so the plain ones are module attributes too and workers import this module.
_Relay = ray.remote(num_cpus=0)(RelayState)


class _Outbox:
    """One step's output and metrics: sent to the relay every LIVE_INTERVAL_S, the rest returned."""

    def __init__(self, relay: Any, key: str) -> None:
        self.relay = relay
        self.key = key
        self.lock = threading.Lock()
        self.pending: list[Message] = []
        self.last_push: Any = None
        self.closed = False

    def add(self, message: Message) -> None:
        with self.lock:
            self.pending.append(message)

    def send_live(self) -> None:
        with self.lock:
            if self.closed or not self.pending:
                return
            batch, self.pending = self.pending, []
            self.last_push = self.relay.push.remote(self.key, batch)

    def close(self) -> tuple[list[Message], bool]:
        """(what was not sent yet, whether anything was sent live). Waits until what was sent
        has reached the relay, so the runner finds it there before it sees the result."""
        with self.lock:
            self.closed = True
            rest, self.pending = self.pending, []
        if self.last_push is None:
            return rest, False
        try:
            ray.get(self.last_push, timeout=30)
        except (ray.exceptions.RayError, TimeoutError):
            logger.warning("could not hand step output to the runner's relay", exc_info=True)
        return rest, True


class _LiveOutput:
    """The worker process's one thread that sends the output of its running steps."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outboxes: set[_Outbox] = set()
        self.thread: threading.Thread | None = None

    def add(self, outbox: _Outbox) -> None:
        with self.lock:
            self.outboxes.add(outbox)
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="loopline-live-output", daemon=True)
                self.thread.start()

    def remove(self, outbox: _Outbox) -> None:
        with self.lock:
            self.outboxes.discard(outbox)

    def _loop(self) -> None:
        while True:
            time.sleep(LIVE_INTERVAL_S)
            with self.lock:
                outboxes = list(self.outboxes)
            for outbox in outboxes:
                try:
                    outbox.send_live()
                except Exception:  # output is best effort; the step goes on
                    logger.warning("could not send step output", exc_info=True)


@dataclasses.dataclass(frozen=True)
class _Session:
    """What every task of one runner shares, sent as bytes so the worker decodes it once."""

    artifacts_url: str
    sys_path: tuple[str, ...]
    api_key: str | None = None  # for a Loopline server's artifact store


_LIVE = _LiveOutput()
_worker_state: dict[bytes, ArtifactStore] = {}


def _worker_artifacts(session_bytes: bytes) -> ArtifactStore:
    store = _worker_state.get(session_bytes)
    if store is None:
        session: _Session = cloudpickle.loads(session_bytes)
        # The driver's import path, so funcs from its modules import here as they did there.
        sys.path.extend(p for p in session.sys_path if p not in sys.path and Path(p or ".").exists())
        capture.install(echo=False)
        store = _worker_state[session_bytes] = open_artifact_store(
            session.artifacts_url, api_key=session.api_key
        )
    return store


def run_step(
    session_bytes: bytes, relay: Any, key: str, run_id: str, attempt: int, task_bytes: bytes
) -> tuple[bytes, list[Message], bool]:
    """One attempt of one step on a Ray worker; returns (StepResult, output left, sent live)."""
    outbox = _Outbox(relay, key)
    _LIVE.add(outbox)
    try:
        result = _execute(session_bytes, outbox, run_id, attempt, task_bytes)
    finally:
        _LIVE.remove(outbox)
    rest, live = outbox.close()
    return portable_result(result), rest, live


_run_step = ray.remote(max_retries=0, retry_exceptions=False)(run_step)


def _execute(
    session_bytes: bytes, outbox: _Outbox, run_id: str, attempt: int, task_bytes: bytes
) -> StepResult:
    try:
        artifacts = _worker_artifacts(session_bytes)
        task: StepTask = cloudpickle.loads(task_bytes)
    except Exception as error:  # noqa: BLE001 - reported as the step's failure
        message = (
            f"the Ray worker could not load this step: {type(error).__name__}: {error}. Every node "
            "needs the code that defines the func and the artifact store: install the same code "
            "there, or pass RayRunner(runtime_env={'working_dir': ...})"
        )
        info = ErrorInfo(type(error).__name__, message, user_error=False)
        return StepResult(run_id, attempt, error=UsageError(message), error_info=info)

    def on_log(stream: str, text: str) -> None:
        outbox.add(("log", run_id, stream, text))

    def on_metric(metric_run_id: str, name: str, value: float, step: int | None) -> None:
        outbox.add(("metric", metric_run_id, task.root_id, name, value, step))

    return execute_step(task, StoredValues(artifacts), on_log=on_log, on_metric=on_metric)


# -- the driver side ----------------------------------------------------------------------------


_LOST = (
    ray.exceptions.WorkerCrashedError,
    ray.exceptions.OutOfMemoryError,
    ray.exceptions.NodeDiedError,
    ray.exceptions.ObjectLostError,
    ray.exceptions.LocalRayletDiedError,
)
_STOP = object()


class _RelayHandle:
    """The relay actor of this process's Ray job, shared by its runners. The handle is held here
    for the life of the job: Ray ends an actor once no handle to it remains."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.job: str | None = None
        self.actor: Any = None

    def get(self) -> Any:
        context = ray.get_runtime_context()
        job = f"{context.gcs_address}/{context.get_job_id()}"
        with self.lock:
            if job != self.job:
                self.job, self.actor = job, _Relay.remote()
            return self.actor


_RELAY = _RelayHandle()


class RayExecutor:
    """Steps as Ray tasks. `size`: how many are handed to Ray at once."""

    name = "ray"
    out_of_process = True
    can_interrupt = True

    def __init__(self, artifacts: ArtifactStore, reporter: StepReporter, size: int) -> None:
        self.reporter = reporter
        self.size = size
        self.artifacts = artifacts
        url, api_key = store_address(artifacts)
        self._session = cloudpickle.dumps(_Session(url, tuple(sys.path), api_key))
        self._relay = _RELAY.get()
        self._relay_works = True
        self._key = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self.requests: dict[str, ResourceRequirements | None] = {}  # run id -> what its task asks for
        self._running: dict[str, Any] = {}  # run id -> ObjectRef of its current attempt
        self._options: dict[tuple[str, float, int, int | None], Any] = {}
        self._done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._collect, name="loopline-ray-results", daemon=True),
            threading.Thread(target=self._pump, name="loopline-ray-output", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, task: StepTask) -> None:
        self.artifacts.flush()  # the step's inputs, readable on the cluster before it starts
        remote = self._remote_for(task)
        ref = remote.remote(
            self._session, self._relay, self._key, task.run_id, task.attempt, pickling.dumps(task)
        )
        with self._lock:
            self._running[task.run_id] = ref
        future: ConcurrentFuture[Any] = ref.future()
        future.add_done_callback(lambda done: self._done.put((task, ref, done)))

    def _remote_for(self, task: StepTask) -> Any:
        resources = self.requests.get(task.run_id)
        gpus = resources.gpus if resources else 0
        memory = resources.memory if resources else None
        key = (task.function.name, task_cpus(resources), gpus, memory)
        remote = self._options.get(key)
        if remote is None:
            options: dict[str, Any] = {"num_cpus": key[1], "num_gpus": gpus, "name": f"loopline:{key[0]}"}
            if memory is not None:
                options["memory"] = memory
            remote = self._options[key] = _run_step.options(**options)
        return remote

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            ref = self._running.pop(run_id, None)
        if ref is not None:
            ray.cancel(ref, force=True)  # kills the worker running it, or takes it off Ray's queue
        return True

    def shutdown(self) -> None:
        with self._lock:
            refs = list(self._running.values())
            self._running.clear()
        for ref in refs:
            ray.cancel(ref, force=True)
        self._stopped.set()
        self._done.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=10)

    # -- results and output ----------------------------------------------------------------------

    def _collect(self) -> None:
        while True:
            item = self._done.get()
            if item is _STOP:
                return
            task, ref, done = item
            with self._lock:
                if self._running.get(task.run_id) is not ref:
                    continue  # cancelled: the state machine has moved on
                del self._running[task.run_id]
            self.reporter.finished(self._result(task, done))

    def _result(self, task: StepTask, done: ConcurrentFuture[Any]) -> StepResult:
        try:
            data, rest, live = done.result()
            if live:
                self._drain()  # what the step sent while it ran comes before what it left
            self._deliver(rest)
            result: StepResult = cloudpickle.loads(data)[1]
            return result
        except _LOST as error:
            crash = WorkerCrashedError(
                f"the Ray worker running {task.function.name}() died before it finished "
                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'no detail'})"
            )
            info = ErrorInfo("WorkerCrashedError", str(crash), user_error=False)
            return StepResult(task.run_id, task.attempt, error=crash, error_info=info, executor_lost=True)
        except Exception as error:  # noqa: BLE001 - any other Ray failure fails the attempt
            info = ErrorInfo(type(error).__name__, f"Ray could not run the step: {error}", user_error=False)
            return StepResult(task.run_id, task.attempt, error=error, error_info=info)

    def _pump(self) -> None:
        while not self._stopped.wait(LIVE_INTERVAL_S):
            with self._lock:
                busy = bool(self._running)
            if busy:
                self._drain()

    def _drain(self) -> None:
        with self._drain_lock:
            if not self._relay_works:
                return
            try:
                messages = ray.get(self._relay.drain.remote(self._key), timeout=30)
            except (ray.exceptions.RayError, TimeoutError):
                self._relay_works = False
                logger.warning(
                    "cannot collect the output of running steps from Ray; what steps print from now "
                    "on arrives when they end",
                    exc_info=True,
                )
                return
            self._deliver(messages)

    def _deliver(self, messages: list[Message]) -> None:
        for message in messages:
            if message[0] == "log":
                self.reporter.log(*message[1:])
            else:
                self.reporter.metric(*message[1:])


# -- the runner ---------------------------------------------------------------------------------


class RayRunner(LocalRunner):
    """Run pipelines on Ray: each step a Ray task, on a local instance or a cluster.

    Tracking, caching, retries, timeouts, cancellation and reruns are LocalRunner's.

    - `address`: the cluster (`ray://HOST:10001`, or `HOST:6379` from one of its nodes), used
      when this process is not connected to Ray yet. Without it the runner joins the Ray of the
      environment (`RAY_ADDRESS`, or one started with `ray start` on this machine), or starts a
      local one (of `num_cpus` CPUs, default all) that stops when the process exits.
    - `runtime_env`: Ray's runtime environment for the job, e.g. `{"working_dir": "."}` to ship
      your code to a cluster whose image lacks it.
    - `autoscaling=True`: the cluster grows on demand (KubeRay's autoscaler): steps that no
      current node can run wait for one instead of failing, and every ready step goes to Ray.
    - `max_parallelism`: how many steps are handed to Ray at once (default: the cluster's CPUs
      and a quarter more, so the next step already waits in Ray's queue when one ends).
    - The artifact store (`LOOPLINE_ARTIFACTS_URL`) must be reachable from every node.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        cache_namespace: str | None = None,
        rerun_from: str | None = None,
        max_parallelism: int | None = None,
        autoscaling: bool = False,
        num_cpus: int | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        home: str | Path | None = None,
        settings: Settings | None = None,
        metadata: MetadataStore | None = None,
        artifacts: ArtifactStore | None = None,
        cache: bool = True,
        echo: bool = True,
        hooks: Sequence[RunHooks] = (),
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            cache_namespace,
            rerun_from,
            max_parallelism,
            home=home,
            settings=settings,
            metadata=metadata,
            artifacts=artifacts,
            cache=cache,
            echo=echo,
            hooks=hooks,
            clock=clock,
        )
        self.address = address
        self.autoscaling = autoscaling
        self.num_cpus = num_cpus
        self.runtime_env = runtime_env
        self._nodes: list[NodeShape] = []

    @contextlib.contextmanager
    def _environment(self) -> Iterator[RunEnvironment]:
        _, artifacts = self.stores()
        if artifacts.url == "memory":
            raise UsageError(
                "RayRunner needs an artifact store its Ray workers can reach (a folder, or an fsspec "
                "URL such as s3://bucket/prefix), not the in-memory one; use LocalRunner for in-memory stores"
            )
        connect(self.address, num_cpus=self.num_cpus, runtime_env=self.runtime_env)
        self._nodes = cluster_nodes()
        with super()._environment() as env:
            fields = {f.name: getattr(env, f.name) for f in dataclasses.fields(env) if f.init}
            yield RayEnvironment(**fields, nodes=self._nodes, autoscaling=self.autoscaling)

    def _executors(self, artifacts: ArtifactStore) -> Any:
        def build(reporter: StepReporter) -> dict[str, Executor]:
            if self.max_parallelism is not None:
                size = self.max_parallelism
            elif self.autoscaling:
                size = 1_000_000  # Ray queues them; the autoscaler sizes the cluster to the queue
            else:
                # The cluster's CPUs and a quarter more: a step already waits in Ray's queue when
                # one ends, so a CPU never idles while its next step makes the round trip here.
                cpus = max(1, int(sum(n.cpus for n in self._nodes)))
                size = cpus + max(1, cpus // 4)
            return {"default": RayExecutor(artifacts, reporter, size)}

        return build

    def __repr__(self) -> str:
        return f"RayRunner(address={self.address!r}, cache_namespace={self.cache_namespace!r})"
