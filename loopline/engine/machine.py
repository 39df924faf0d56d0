"""`PipelineExecution`: drives one pipeline through the run state machine.

This is the only place that decides what runs when. It keeps the graph in memory, starts calls
whose inputs are all known on the executor the environment picks, grows the graph when a call
returns futures, applies caching, retries, timeouts and cancellation, and reports every change to
the hooks. Executors, stores and hooks are all supplied by the runner's `RunEnvironment`.
"""

from __future__ import annotations

import collections
import dataclasses
import queue
from typing import Any

from loopline.core.hashing import cache_key
from loopline.core.records import ErrorInfo, InputRef, MetricPoint, Resources, RunRecord, RunState, utcnow
from loopline.engine.environment import RunEnvironment
from loopline.engine.execution import StepResult, StepTask, StoredInput, error_info
from loopline.engine.executors import Executor
from loopline.engine.state import transition
from loopline.engine.structure import deferred_leaves, root_future, substitute
from loopline.errors import (
    PipelineRunError,
    ResourceUnavailableError,
    StepCancelledError,
    StepTimeoutError,
    UsageError,
)
from loopline.sdk.future import AbstractFuture, Future, Projection
from loopline.storage.artifacts import load_value, store_value

S = RunState
_CANCEL = object()


class _Output:
    """A node's output: always its artifact id, and the value while someone may still need it."""

    __slots__ = ("artifact_id", "loaded", "readers", "value")

    def __init__(self, artifact_id: str, value: Any = None, loaded: bool = False) -> None:
        self.artifact_id = artifact_id
        self.value = value
        self.loaded = loaded
        self.readers = 0  # dependents that have not taken the value yet


@dataclasses.dataclass(eq=False)
class Node:
    future: Future[Any]
    run: RunRecord
    parent: Node | None
    waiting_on: set[Node] = dataclasses.field(default_factory=set)
    producers: set[Node] = dataclasses.field(default_factory=set)
    consumed: bool = False  # whether this node took its producers' values already
    dependents: list[Node] = dataclasses.field(default_factory=list)
    phase: str = "inputs"  # what waiting_on is for: "inputs", then "output" when nested
    inputs: dict[str, Any] = dataclasses.field(default_factory=dict)  # value or _Output
    nested: Any = None
    output: _Output | None = None
    executor: Executor | None = None
    deadline: float | None = None
    retry_at: float | None = None
    gpu_ids: tuple[int, ...] = ()

    @property
    def done(self) -> bool:
        return self.run.state.is_terminal


class PipelineExecution:
    def __init__(self, env: RunEnvironment) -> None:
        self.env = env
        self.events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.nodes: dict[str, Node] = {}
        self.ready: dict[Executor, collections.deque[Node]] = collections.defaultdict(collections.deque)
        self.running: dict[Executor, int] = collections.defaultdict(int)
        self.retrying: set[Node] = set()
        self.timed: set[Node] = set()
        self.free_gpus: list[int] | None = None  # detected when the first GPU step starts
        self.root: Node | None = None
        self.failure: tuple[Node, BaseException] | None = None
        self._literals: dict[int, tuple[Any, InputRef]] = {}

    # -- the reporter interface executors call (from any thread) ---------------------------------

    def finished(self, result: StepResult) -> None:
        self.events.put(result)

    def log(self, run_id: str, stream: str, text: str) -> None:
        self.env.hooks.on_log(run_id=run_id, stream=stream, text=text)

    def metric(self, run_id: str, root_id: str, name: str, value: float, step: int | None) -> None:
        self.env.hooks.on_metric(point=MetricPoint(run_id, root_id, name, value, step, utcnow()))

    def request_cancel(self) -> None:
        self.events.put(_CANCEL)

    # -- driving -----------------------------------------------------------------------------

    def run(self, future: Future[Any]) -> Any:
        if not isinstance(future, Future):
            raise UsageError(
                f"runner.run() takes the Future returned by calling a @loopline.func, got {type(future).__qualname__}"
            )
        if future.id in self.nodes:
            raise UsageError("this future was already run; call the func again for a new run")
        self.root = self._register([future], parent=None)[0]
        self.env.hooks.on_pipeline_start(root=self.root.run)
        try:
            self._loop()
        except BaseException:
            self._stop_everything(reason="the runner was interrupted")
            raise
        finally:
            self.env.hooks.on_pipeline_end(root=self.root.run)
        try:
            return self._outcome()
        finally:
            self._unlink()

    def _unlink(self) -> None:
        """Break the graph's reference cycles once the run is over: its memory is then freed at
        once, and the garbage collector's full passes in the next run do not wade through it."""
        for node in self.nodes.values():
            node.parent = None
            node.dependents.clear()
            node.producers.clear()
            node.waiting_on.clear()
        self.nodes.clear()
        self._literals.clear()

    def _loop(self) -> None:
        root = self.root
        assert root is not None
        while not root.done or self._any_running():
            self._dispatch()
            if root.done and not self._any_running():
                break
            event = self.env.clock.wait(self.events, self._next_deadline())
            if isinstance(event, StepResult):
                self._on_result(event)
            elif event is _CANCEL:
                self._stop_everything(reason="the pipeline was cancelled")
            del event  # a result holds its step's output: do not keep it while waiting
            self._fire_timers()

    def _any_running(self) -> bool:
        return any(count > 0 for count in self.running.values())

    def _outcome(self) -> Any:
        root = self.root
        assert root is not None
        if root.run.state.is_success:
            assert root.output is not None
            return self._value(root.output)
        if root.run.state is S.CANCELLED and self.failure is None:
            raise PipelineRunError(
                f"pipeline {root.run.name} ({root.run.id}) was cancelled",
                run_id=root.run.id,
                function=root.run.function,
            ) from StepCancelledError("cancelled")
        node, error = self.failure or (root, StepCancelledError("stopped"))
        info = node.run.error
        message = (
            f"{node.future.function.name}() failed: {info.type}: {info.message}"
            if info
            else "the pipeline failed"
        )
        raise PipelineRunError(
            f"pipeline {root.run.name} failed: {message} (run {node.run.id})",
            run_id=node.run.id,
            function=node.run.function,
        ) from error

    # -- building the graph --------------------------------------------------------------------

    def _register(self, futures: list[Future[Any]], parent: Node | None) -> list[Node]:
        """Add these futures and every future their inputs need, producers first (iteratively,
        so a 10,000-step chain needs no deep recursion)."""
        order: list[Future[Any]] = []
        seen: set[str] = set()
        stack: list[tuple[Future[Any], bool]] = [(f, False) for f in reversed(futures)]
        while stack:
            future, expanded = stack.pop()
            if future.id in self.nodes or (future.id in seen and not expanded):
                continue
            if expanded:
                order.append(future)
                continue
            seen.add(future.id)
            stack.append((future, True))
            for leaf in reversed(deferred_leaves(future.kwargs)):
                producer = root_future(leaf)
                if producer.id not in self.nodes and producer.id not in seen:
                    stack.append((producer, False))
        for future in order:
            self._add_node(future, parent)
        return [self.nodes[f.id] for f in futures]

    def _add_node(self, future: Future[Any], parent: Node | None) -> None:
        function = future.function
        props = future.props
        run = RunRecord(
            id=future.id,
            root_id=parent.run.root_id if parent else future.id,
            parent_id=parent.run.id if parent else None,
            function=function.path,
            name=props.name,
            state=S.CREATED,
            created_at=utcnow(),
            tags=props.tags,
            code_version=function.code_version,
            source=function.source,
            docstring=function.docstring,
            resources=props.resources.to_record() if props.resources else Resources(),
            runner_id=self.env.runner_id,
        )
        if parent is None:
            run = self.env.describe_root(run, future)
        node = Node(future, run, parent)
        self.nodes[future.id] = node
        self._publish(node)
        producers = {self.nodes[root_future(leaf).id] for leaf in deferred_leaves(future.kwargs)}
        self._wait_for(node, producers, "inputs")

    def _wait_for(self, node: Node, producers: set[Node], phase: str) -> None:
        node.phase = phase
        node.producers = producers
        node.consumed = False
        node.waiting_on = {p for p in producers if not p.run.state.is_success}
        for producer in node.waiting_on:
            producer.dependents.append(node)
        if any(p.done and not p.run.state.is_success for p in producers):
            return  # a producer already failed; the failure handling cancels this node
        if not node.waiting_on:
            self._inputs_ready(node) if phase == "inputs" else self._complete_nested(node)

    # -- values ---------------------------------------------------------------------------------

    def _value(self, output: _Output) -> Any:
        if not output.loaded:
            output.value = load_value(output.artifact_id, self.env.artifacts)
            output.loaded = True
        return output.value

    def _resolve(self, deferred: AbstractFuture[Any]) -> Any:
        if isinstance(deferred, Projection):
            return deferred.apply(self._resolve(deferred.source))
        output = self.nodes[root_future(deferred).id].output
        assert output is not None
        return self._value(output)

    def _store(self, value: Any) -> str:
        artifact = store_value(value, self.env.artifacts)
        self.env.hooks.on_artifact(artifact=artifact)
        return artifact.id

    def _input(self, value: Any) -> tuple[Any, InputRef]:
        """The value (or lazy output) a parameter receives and the reference recorded for it."""
        if isinstance(value, Future):
            producer = self.nodes[value.id]
            assert producer.output is not None
            return producer.output, InputRef(producer.output.artifact_id, (producer.run.id,))
        leaves = deferred_leaves(value)
        if leaves:
            concrete = substitute(value, self._resolve)
            sources = tuple(dict.fromkeys(root_future(leaf).id for leaf in leaves))
            return concrete, InputRef(self._store(concrete), sources)
        cached = self._literals.get(id(value))
        if cached is None or cached[0] is not value:
            cached = (value, InputRef(self._store(value)))
            self._literals[id(value)] = cached
        return value, cached[1]

    # -- readiness, caching, dispatch ----------------------------------------------------------

    def _inputs_ready(self, node: Node) -> None:
        try:
            refs = {}
            for name, value in node.future.kwargs.items():
                node.inputs[name], refs[name] = self._input(value)
        except Exception as error:  # noqa: BLE001 - e.g. an input that cannot be stored
            self._update(node, transition(node.run, S.FAILED, error=error_info(error)))
            self._fail(node, error)
            return
        input_ids = {name: ref.artifact_id for name, ref in refs.items()}
        props = node.future.props
        key = cache_key(f"{node.run.function}:{node.run.code_version}", input_ids, self.env.cache_namespace)
        self._update(node, node.run.replace(inputs=refs, cache_key=key if props.cache else None))
        reused = self.env.reusable(node.run, props.cache)
        if reused is not None:
            self._consumed(node)
            node.output = _Output(reused.output_id or "")
            self._update(
                node, transition(node.run, S.CACHED, output_id=reused.output_id, cached_from=reused.id)
            )
            self._succeeded(node)
            return
        try:
            executor = self.env.place(node.future)
        except ResourceUnavailableError as error:
            self._update(node, transition(node.run, S.FAILED, error=error_info(error)))
            self._fail(node, error)
            return
        node.executor = executor
        self._update(node, transition(node.run, S.READY, executor=executor.name))
        self.ready[executor].append(node)

    def _dispatch(self) -> None:
        for executor, queue_ in self.ready.items():
            while queue_ and self.running[executor] < self.env.capacity(executor):
                node = queue_[0]
                gpus = node.future.props.resources.gpus if node.future.props.resources else 0
                if gpus:
                    if self.free_gpus is None:
                        self.free_gpus = list(self.env.gpu_ids)
                    if gpus > len(self.free_gpus):
                        break  # wait for a GPU step to finish
                    node.gpu_ids = tuple(self.free_gpus[:gpus])
                    del self.free_gpus[:gpus]
                queue_.popleft()
                self._start(node, executor)

    def _start(self, node: Node, executor: Executor) -> None:
        if executor.out_of_process:
            inputs = {
                name: StoredInput(v.artifact_id)
                if isinstance(v, _Output)
                else StoredInput(node.run.inputs[name].artifact_id)
                for name, v in node.inputs.items()
            }
        else:
            inputs = {
                name: self._value(v) if isinstance(v, _Output) else v for name, v in node.inputs.items()
            }
        self._consumed(node)
        timeout_mins = node.future.props.timeout_mins
        self._update(node, transition(node.run, S.RUNNING, attempts=node.run.attempts + 1))
        if timeout_mins is not None:
            node.deadline = self.env.clock.monotonic() + timeout_mins * 60
            self.timed.add(node)
        self.running[executor] += 1
        task = StepTask(
            node.run.id,
            node.run.root_id,
            node.future.function,
            inputs,
            node.run.attempts,
            gpu_ids=node.gpu_ids,
        )
        executor.submit(task)

    # -- results ----------------------------------------------------------------------------------

    def _release(self, node: Node) -> None:
        if node.executor is not None:
            self.running[node.executor] -= 1
        if node.gpu_ids and self.free_gpus is not None:
            self.free_gpus.extend(node.gpu_ids)
        node.gpu_ids = ()
        self.timed.discard(node)
        node.deadline = None

    def _on_result(self, result: StepResult) -> None:
        node = self.nodes.get(result.run_id)
        if node is None or node.run.state is not S.RUNNING or node.run.attempts != result.attempt:
            return  # a late result of an abandoned or cancelled attempt
        self._release(node)
        if result.error is not None:
            self._attempt_failed(
                node, result.error, result.error_info or error_info(result.error), result.executor_lost
            )
        elif result.nested is not None and self.failure is not None:
            info = ErrorInfo(
                "StepCancelledError",
                "its nested runs were not started: the pipeline had failed",
                user_error=False,
            )
            self._update(node, transition(node.run, S.CANCELLED, error=info))
        elif result.nested is not None:
            self._update(node, transition(node.run, S.WAITING))
            children = [root_future(leaf) for leaf in deferred_leaves(result.nested)]
            node.nested = result.nested
            self._register(children, parent=node)
            self._wait_for(node, {self.nodes[c.id] for c in children}, "output")
        else:
            assert result.artifact is not None
            self.env.hooks.on_artifact(artifact=result.artifact)
            node.output = _Output(result.artifact.id, result.value, result.has_value)
            self._update(node, transition(node.run, S.SUCCEEDED, output_id=result.artifact.id))
            self._succeeded(node)

    def _attempt_failed(self, node: Node, error: BaseException, info: ErrorInfo, lost: bool) -> None:
        retry = node.future.props.retry if self.failure is None else None
        attempts = node.run.attempts
        if retry is not None and (
            retry.should_retry(error, attempts) or (lost and attempts <= retry.retries)
        ):
            node.retry_at = self.env.clock.monotonic() + retry.delay_s(attempts)
            self.retrying.add(node)
            self._update(node, transition(node.run, S.RETRYING, error=info))
            return
        self._update(node, transition(node.run, S.FAILED, error=info))
        self._fail(node, error)

    def _complete_nested(self, node: Node) -> None:
        structure = node.nested
        try:
            if isinstance(structure, Future):
                output = self.nodes[structure.id].output
                assert output is not None
                node.output = _Output(output.artifact_id, output.value, output.loaded)
            else:
                value = node.future.function.check_output(substitute(structure, self._resolve))
                node.output = _Output(self._store(value), value, True)
        except Exception as error:  # noqa: BLE001 - an output that does not fit its annotation
            self._update(node, transition(node.run, S.FAILED, error=error_info(error)))
            self._fail(node, error)
            return
        node.nested = None
        self._consumed(node)
        self._update(node, transition(node.run, S.SUCCEEDED, output_id=node.output.artifact_id))
        self._succeeded(node)

    def _succeeded(self, node: Node) -> None:
        assert node.output is not None
        node.output.readers = len(node.dependents)
        self._drop_if_unread(node)
        for dependent in node.dependents:
            dependent.waiting_on.discard(node)
            if not dependent.waiting_on and not dependent.done:
                if dependent.phase == "inputs":
                    self._inputs_ready(dependent)
                else:
                    self._complete_nested(dependent)

    def _consumed(self, node: Node) -> None:
        """`node` has taken its producers' values: drop values nobody else will read."""
        if node.consumed:
            return
        node.consumed = True
        for producer in node.producers:
            if producer.output is not None and producer.output.readers > 0:
                producer.output.readers -= 1
                self._drop_if_unread(producer)

    def _drop_if_unread(self, node: Node) -> None:
        # In-memory values live only until their readers took them; the store keeps them all.
        output = node.output
        if output is not None and output.readers == 0 and output.loaded and node is not self.root:
            output.value, output.loaded = None, False

    # -- timers -----------------------------------------------------------------------------------

    def _next_deadline(self) -> float | None:
        times = [n.deadline for n in self.timed if n.deadline is not None]
        times += [n.retry_at for n in self.retrying if n.retry_at is not None]
        if not times:
            return None
        return max(0.0, min(times) - self.env.clock.monotonic())

    def _fire_timers(self) -> None:
        now = self.env.clock.monotonic()
        for node in [n for n in self.retrying if n.retry_at is not None and n.retry_at <= now]:
            self.retrying.discard(node)
            node.retry_at = None
            if node.run.state is S.RETRYING and node.executor is not None:
                self.ready[node.executor].appendleft(node)
        for node in [n for n in self.timed if n.deadline is not None and n.deadline <= now]:
            self._time_out(node)

    def _time_out(self, node: Node) -> None:
        minutes = node.future.props.timeout_mins
        assert node.executor is not None
        stopped = node.executor.cancel(node.run.id)
        self._release(node)
        error = StepTimeoutError(
            f"{node.future.function.name}() ran longer than its timeout_mins={minutes:g}"
            + (
                ""
                if stopped
                else "; it runs in a thread, which cannot be stopped, so it was abandoned (use standalone=True to have it killed)"
            )
        )
        if stopped:
            self._attempt_failed(node, error, error_info(error), lost=False)
            return
        self._update(node, transition(node.run, S.ABANDONED, error=error_info(error)))
        self._fail(node, error)

    # -- failure and cancellation -----------------------------------------------------------------

    def _fail(self, node: Node, error: BaseException) -> None:
        """A run failed for good: fail its parents, start nothing new, and let the steps that
        are running finish, so their results are recorded (and cached) for the next attempt."""
        if self.failure is None:
            self.failure = (node, error)
        parent = node.parent
        while parent is not None and not parent.done:
            info = ErrorInfo(
                "NestedRunFailed",
                f"{node.future.function.name}() failed (run {node.run.id})",
                user_error=True,
            )
            if parent.run.state is S.RUNNING:
                self._release(parent)
            self._update(parent, transition(parent.run, S.FAILED, error=info))
            parent = parent.parent
        self._stop_everything(reason=f"{node.future.function.name}() failed", running_too=False)

    def _stop_everything(self, *, reason: str, running_too: bool = True) -> None:
        """Cancel every run that has not started; with `running_too`, also stop the running
        ones: kill what can be killed, abandon the rest (a thread cannot be stopped)."""
        for node in list(self.nodes.values()):
            if node.done or (node.run.state is S.RUNNING and not running_too):
                continue
            info = ErrorInfo("StepCancelledError", reason, user_error=False)
            to = S.CANCELLED
            if node.run.state is S.RUNNING and node.executor is not None:
                if not node.executor.cancel(node.run.id):
                    to = S.ABANDONED
                    info = ErrorInfo(
                        "StepCancelledError",
                        reason + "; the step runs in a thread and was abandoned",
                        user_error=False,
                    )
                self._release(node)
            self._update(node, transition(node.run, to, error=info))
        for queue_ in self.ready.values():
            queue_.clear()
        self.retrying.clear()
        self.timed.clear()

    # -- publishing -----------------------------------------------------------------------------

    def _update(self, node: Node, run: RunRecord) -> None:
        node.run = run
        self._publish(node)

    def _publish(self, node: Node) -> None:
        self.env.hooks.on_run_update(run=node.run)
