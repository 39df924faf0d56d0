"""`PipelineExecution`: drives one pipeline through the run state machine.

This is the only place that decides what runs when. It keeps the graph in memory, starts calls
whose inputs are all known on the executor the environment picks, grows the graph when a call
returns futures, applies caching, retries, timeouts and cancellation, and reports every change to
the hooks. Executors, stores and hooks are all supplied by the runner's `RunEnvironment`.

Memory stays flat per step, so a pipeline of a million steps fits in memory: a node holds a full
`RunRecord` only while it is in flight (from the moment its inputs are all there until it ends;
the hooks have every snapshot), a finished node keeps its output's id and, until its readers
took it, its value; and a node whose inputs are there waits in a queue, without a record, until
the executors have room for it (caching and placement are decided then), so a fan-out of a
million steps never holds a million records at once.
"""

from __future__ import annotations

import collections
import queue
import sys
from typing import Any

from loopline.core.hashing import cache_key
from loopline.core.records import ErrorInfo, InputRef, MetricPoint, Resources, RunRecord, RunState, utcnow
from loopline.core.types import Conversions, conversion_note
from loopline.engine import capture
from loopline.engine.environment import RunEnvironment
from loopline.engine.execution import StepResult, StepTask, StoredInput, error_info
from loopline.engine.executors import Executor
from loopline.engine.state import transition
from loopline.engine.structure import deferred_leaves, root_future, substitute
from loopline.errors import (
    ArgumentTypeError,
    FunctionError,
    PipelineRunError,
    ResourceUnavailableError,
    StepCancelledError,
    StepTimeoutError,
    UsageError,
)
from loopline.sdk.future import AbstractFuture, Future, Projection, is_call
from loopline.sdk.resources import ResourceRequirements

S = RunState
_CANCEL = object()
_LITERALS_KEPT = 1024  # literal inputs remembered (a config passed to many calls is stored once)
_QUEUED_PER_SLOT = 2  # nodes made ready per executor slot, ahead of a slot freeing up


class _Output:
    """A node's output: always its artifact id, and the value while someone may still need it."""

    __slots__ = ("artifact_id", "loaded", "readers", "value")

    def __init__(self, artifact_id: str, value: Any = None, loaded: bool = False) -> None:
        self.artifact_id = artifact_id
        self.value = value
        self.loaded = loaded
        self.readers = 0  # dependents that have not taken the value yet


class Node:
    """One func call of the graph. `run` is its record while in flight (None before its inputs
    are all there, and once it succeeded: the hooks have it)."""

    __slots__ = (
        "consumed",
        "created_at",
        "dependents",
        "executor",
        "future",
        "id",
        "inputs",
        "nested",
        "output",
        "parent",
        "phase",
        "raised_by_func",
        "resources",
        "run",
        "state",
        "waiting",
    )

    def __init__(self, future: Future[Any], parent: Node | None, created_at: Any) -> None:
        self.future = future
        self.id = future.id
        self.parent = parent
        self.created_at = created_at  # until its record is built (it holds the time then)
        self.run: RunRecord | None = None
        self.state = S.CREATED
        self.waiting = 0  # producers that have not succeeded yet
        self.dependents: list[Node] | None = None  # those waiting for it (None: none, saving a list)
        self.phase = "inputs"  # what `waiting` is for: "inputs", then "output" when nested
        self.consumed = False  # whether this node took its producers' values already
        self.inputs: dict[str, Any] | None = None  # value or _Output, once its inputs are there
        self.nested: Any = None
        self.output: _Output | None = None
        self.executor: Executor | None = None
        self.resources: ResourceRequirements | None = None  # what the runner honours of the request
        self.raised_by_func = False  # its last failure came from the func's own code

    @property
    def done(self) -> bool:
        return self.state.is_terminal

    @property
    def record(self) -> RunRecord:
        assert self.run is not None, f"run {self.id} has no record now"
        return self.run


def function_error(name: str, error: BaseException) -> FunctionError:
    """A FunctionError for what a func's code raised, chained to it both ways."""
    wrapper = FunctionError(f"{name}() raised {type(error).__name__}: {error}")
    wrapper.__cause__ = wrapper.__context__ = error
    return wrapper


class PipelineExecution:
    def __init__(self, env: RunEnvironment) -> None:
        self.env = env
        assert env.values is not None
        self.values = env.values
        self.events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.nodes: dict[str, Node] = {}
        self.inputs_ready: collections.deque[Node] = collections.deque()  # to look at (cache, placement)
        self.ready: dict[Executor, collections.deque[Node]] = collections.defaultdict(collections.deque)
        self.queued = 0  # nodes in `ready`, waiting for a slot
        self.running: dict[Executor, int] = collections.defaultdict(int)
        self.retrying: dict[Node, float] = {}  # node -> when to try again (monotonic)
        self.timed: dict[Node, float] = {}  # node -> its deadline (monotonic)
        self.gpus: dict[Node, tuple[int, ...]] = {}  # GPUs a running node holds
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
        if not is_call(future):
            got = future._describe() if isinstance(future, Projection) else type(future).__qualname__
            raise UsageError(f"runner.run() takes the Future returned by calling a @loopline.func, got {got}")
        if future.id in self.nodes:
            raise UsageError("this future was already run; call the func again for a new run")
        if self.env.namespace_of is not None:
            namespace = self.env.namespace_of(future)
            self.env.cache_namespace = namespace
            if namespace is None:
                self.env.cache = None
        self.root = self._register([future], parent=None)[0]
        self.env.hooks.on_pipeline_start(root=self.root.record)
        try:
            self._loop()
        except BaseException:
            self._stop_everything(reason="the runner was interrupted")
            raise
        finally:
            self.env.hooks.on_pipeline_end(root=self.root.record)
        try:
            return self._outcome()
        finally:
            self._unlink()

    def _unlink(self) -> None:
        """Break the graph's reference cycles once the run is over: its memory is then freed at
        once, and the garbage collector's full passes in the next run do not wade through it."""
        for node in self.nodes.values():
            node.parent = None
            node.dependents = None
        self.nodes.clear()
        self.inputs_ready.clear()
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
        run = root.record
        if root.state.is_success:
            assert root.output is not None
            return self._value(root.output)
        if root.state is S.CANCELLED and self.failure is None:
            raise PipelineRunError(
                f"pipeline {run.name} ({run.id}) was cancelled",
                run_id=run.id,
                function=run.function,
            ) from StepCancelledError("cancelled")
        node, error = self.failure or (root, StepCancelledError("stopped"))
        info = node.record.error
        message = (
            f"{node.future.function.name}() failed: {info.type}: {info.message}"
            if info
            else "the pipeline failed"
        )
        failure = PipelineRunError(
            f"pipeline {run.name} failed: {message} (run {node.id})",
            run_id=node.id,
            function=node.record.function,
        )
        # `__cause__` is the step's exception; `__context__` leads there too, through the
        # FunctionError Sematic put between them when the func's own code raised.
        failure.__cause__ = error
        failure.__context__ = (
            function_error(node.future.function.name, error) if node.raised_by_func else error
        )
        raise failure

    # -- building the graph --------------------------------------------------------------------

    def _register(self, futures: list[Future[Any]], parent: Node | None) -> list[Node]:
        """Add these futures and every future their inputs need, each once its producers are in
        (a depth-first walk with a stack of its own, so a chain of a million steps needs no deep
        recursion)."""
        seen: set[str] = set()
        stack: list[tuple[Future[Any], list[Future[Any]] | None]] = [(f, None) for f in reversed(futures)]
        while stack:
            future, producers = stack.pop()
            if producers is not None:  # its producers are in now
                self._add_node(future, parent, producers)
                continue
            if future.id in self.nodes or future.id in seen:
                continue
            seen.add(future.id)
            producers = [root_future(leaf) for leaf in deferred_leaves(future.args)]
            stack.append((future, producers))
            stack.extend(
                (p, None) for p in reversed(producers) if p.id not in self.nodes and p.id not in seen
            )
        return [self.nodes[f.id] for f in futures]

    def _created(self, node: Node) -> RunRecord:
        """The record of a node that has none yet: as it was created."""
        future, parent = node.future, node.parent
        function = future.function
        props = future.props
        return RunRecord(
            id=node.id,
            root_id=self.root.id if self.root else node.id,
            parent_id=parent.id if parent else None,
            function=function.path,
            name=props.name,
            state=S.CREATED,
            created_at=node.created_at,
            tags=tuple(props.tags),
            code_version=function.code_version,
            source=function.recorded_source,
            docstring=function.docstring,
            resources=props.resources.to_record() if props.resources else _NO_RESOURCES,
            runner_id=self.env.runner_id,
        )

    def _add_node(self, future: Future[Any], parent: Node | None, producers: list[Future[Any]]) -> None:
        node = Node(future, parent, utcnow())
        self.nodes[node.id] = node
        run = self._created(node)
        if parent is None:
            node.run = self.env.describe_root(run, future)  # the root keeps its record: git, launch
            self._publish(node.run)
        else:
            self._publish(run)  # visible at once; the node builds it again when its inputs are there
        self._wait_for(node, {self.nodes[p.id] for p in producers}, "inputs")

    def _producers(self, node: Node, phase: str) -> set[Node]:
        """The nodes whose outputs `node` waits for: its inputs' producers, or (once its body
        returned futures) the nested runs that make its output. Found from the futures again
        when needed, rather than kept on every node."""
        source = node.future.args if phase == "inputs" else node.nested
        return {self.nodes[root_future(leaf).id] for leaf in deferred_leaves(source)}

    def _wait_for(self, node: Node, producers: set[Node], phase: str) -> None:
        node.phase = phase
        node.consumed = False
        node.waiting = 0
        for producer in producers:
            if not producer.state.is_success:
                node.waiting += 1
                if producer.dependents is None:
                    producer.dependents = [node]
                else:
                    producer.dependents.append(node)
        if any(p.done and not p.state.is_success for p in producers):
            return  # a producer already failed; the failure handling cancels this node
        if not node.waiting:
            self.inputs_ready.append(node) if phase == "inputs" else self._complete_nested(node)

    # -- values ---------------------------------------------------------------------------------

    def _value(self, output: _Output) -> Any:
        if not output.loaded:
            output.value = self.values.get(output.artifact_id)
            output.loaded = True
        return output.value

    def _resolve(self, deferred: AbstractFuture[Any]) -> Any:
        if isinstance(deferred, Projection):
            return deferred.apply(self._resolve(deferred.source))
        output = self.nodes[root_future(deferred).id].output
        assert output is not None
        return self._value(output)

    def _store(self, value: Any) -> str:
        artifact = self.values.put(value)
        self.env.hooks.on_artifact(artifact=artifact)
        return artifact.id

    def _input(self, value: Any) -> tuple[Any, InputRef]:
        """The value (or lazy output) a parameter receives and the reference recorded for it."""
        if is_call(value):
            producer = self.nodes[value.id]
            assert producer.output is not None
            return producer.output, InputRef(producer.output.artifact_id, (producer.id,))
        leaves = deferred_leaves(value)
        if leaves:
            concrete = substitute(value, self._resolve)
            sources = tuple(dict.fromkeys(root_future(leaf).id for leaf in leaves))
            return concrete, InputRef(self._store(concrete), sources)
        cached = self._literals.get(id(value))
        if cached is None or cached[0] is not value:
            cached = (value, InputRef(self._store(value)))
            if len(self._literals) >= _LITERALS_KEPT:
                del self._literals[next(iter(self._literals))]  # the oldest
            self._literals[id(value)] = cached
        return value, cached[1]

    # -- type conversions ----------------------------------------------------------------------

    def _strict(self, node: Node) -> bool:
        return self.env.strict_types or node.future.function.options.strict_types

    def _conversions(self, node: Node) -> Conversions | None:
        """A record for Sematic's conversions, or None when this run's types are strict."""
        return None if self._strict(node) else Conversions()

    def _note(self, node: Node, text: str) -> None:
        """A line of Loopline's own in the run's log (and on the terminal, as the step's output)."""
        with capture.capturing(lambda stream, chunk: self.log(node.id, stream, chunk)):
            print(text, file=sys.stderr)

    # -- readiness, caching, dispatch ----------------------------------------------------------

    def _inputs_ready(self, node: Node) -> None:
        run = node.run or self._created(node)
        conversions = node.future.props.conversions
        name = node.future.function.name
        if conversions and self._strict(node):
            error = ArgumentTypeError(
                f"{name}() was called with values that fit its annotations only once converted "
                f"({'; '.join(conversions)}), and this runner takes strict types (LOOPLINE_STRICT_TYPES=1 "
                "or SilentRunner(strict_types=True)): "
                "pass values of the declared types"
            )
            node.run = run
            self._update(node, transition(run, S.FAILED, error=error_info(error)))
            self._fail(node, error)
            return
        if conversions:
            self._note(node, conversion_note(f"{name}() was called with", conversions))
        node.inputs = inputs = {}
        try:
            refs = {}
            for name, value in zip(node.future.function.parameters, node.future.args, strict=True):
                inputs[name], refs[name] = self._input(value)
        except Exception as error:  # noqa: BLE001 - e.g. an input that cannot be stored
            node.run = run
            self._update(node, transition(run, S.FAILED, error=error_info(error)))
            self._fail(node, error)
            return
        props = node.future.props
        key = None
        if props.cache:
            input_ids = {name: ref.artifact_id for name, ref in refs.items()}
            key = cache_key(f"{run.function}:{run.code_version}", input_ids, self.env.cache_namespace)
        node.run = run.replace(inputs=refs, cache_key=key)
        node.created_at = None
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
            node.resources = self.env.resources_for(node.future)
            executor = self.env.place(node.future, node.resources)
        except ResourceUnavailableError as error:
            self._update(node, transition(node.run, S.FAILED, error=error_info(error)))
            self._fail(node, error)
            return
        node.executor = executor
        self._update(node, transition(node.run, S.READY, executor=executor.name))
        self.ready[executor].append(node)
        self.queued += 1

    def _dispatch(self) -> None:
        """Start what the executors have room for, looking at nodes whose inputs are there only
        as fast as slots free up (a cache hit succeeds at once and readies its dependents)."""
        window = max(1, _QUEUED_PER_SLOT * self.env.total_capacity())
        while True:
            while self.inputs_ready and self.queued < window:
                node = self.inputs_ready.popleft()
                if not node.done:
                    self._inputs_ready(node)
            if not self._start_ready() or not self.inputs_ready:
                return

    def _start_ready(self) -> int:
        started = 0
        for executor, queue_ in self.ready.items():
            while queue_ and self.running[executor] < self.env.capacity(executor):
                node = queue_[0]
                gpus = node.resources.gpus if node.resources else 0
                if gpus:
                    if self.free_gpus is None:
                        self.free_gpus = list(self.env.gpu_ids)
                    if gpus > len(self.free_gpus):
                        break  # wait for a GPU step to finish
                    self.gpus[node] = tuple(self.free_gpus[:gpus])
                    del self.free_gpus[:gpus]
                queue_.popleft()
                self.queued -= 1
                self._start(node, executor)
                started += 1
        return started

    def _start(self, node: Node, executor: Executor) -> None:
        run = node.record
        assert node.inputs is not None
        if executor.out_of_process:
            inputs = {
                name: StoredInput(v.artifact_id)
                if isinstance(v, _Output)
                else StoredInput(run.inputs[name].artifact_id)
                for name, v in node.inputs.items()
            }
        else:
            inputs = {
                name: self._value(v) if isinstance(v, _Output) else v for name, v in node.inputs.items()
            }
        self._consumed(node)
        timeout_mins = node.future.props.timeout_mins
        self._update(node, transition(run, S.RUNNING, attempts=run.attempts + 1))
        if timeout_mins is not None:
            self.timed[node] = self.env.clock.monotonic() + timeout_mins * 60
        self.running[executor] += 1
        task = StepTask(
            node.id,
            node.record.root_id,
            node.future.function,
            inputs,
            node.record.attempts,
            gpu_ids=self.gpus.get(node, ()),
            strict_types=self.env.strict_types,
        )
        executor.submit(task)

    # -- results ----------------------------------------------------------------------------------

    def _release(self, node: Node) -> None:
        if node.executor is not None:
            self.running[node.executor] -= 1
        gpus = self.gpus.pop(node, ())
        if gpus and self.free_gpus is not None:
            self.free_gpus.extend(gpus)
        self.timed.pop(node, None)

    def _on_result(self, result: StepResult) -> None:
        node = self.nodes.get(result.run_id)
        if node is None or node.state is not S.RUNNING or node.record.attempts != result.attempt:
            return  # a late result of an abandoned or cancelled attempt
        self._release(node)
        if result.error is not None:
            node.raised_by_func = result.raised_by_func
            self._attempt_failed(
                node, result.error, result.error_info or error_info(result.error), result.executor_lost
            )
        elif result.nested is not None and self.failure is not None:
            info = ErrorInfo(
                "StepCancelledError",
                "its nested runs were not started: the pipeline had failed",
                user_error=False,
            )
            self._update(node, transition(node.record, S.CANCELLED, error=info))
        elif result.nested is not None:
            self._update(node, transition(node.record, S.WAITING))
            children = [root_future(leaf) for leaf in deferred_leaves(result.nested)]
            node.nested = result.nested
            self._register(children, parent=node)
            self._wait_for(node, self._producers(node, "output"), "output")
        else:
            assert result.artifact is not None
            self.env.hooks.on_artifact(artifact=result.artifact)
            node.output = _Output(result.artifact.id, result.value, result.has_value)
            self._update(node, transition(node.record, S.SUCCEEDED, output_id=result.artifact.id))
            self._succeeded(node)

    def _attempt_failed(self, node: Node, error: BaseException, info: ErrorInfo, lost: bool) -> None:
        retry = node.future.props.retry if self.failure is None else None
        attempts = node.record.attempts
        if retry is not None and (
            retry.should_retry(error, attempts) or (lost and attempts <= retry.retries)
        ):
            self.retrying[node] = self.env.clock.monotonic() + retry.delay_s(attempts)
            self._update(node, transition(node.record, S.RETRYING, error=info))
            return
        self._update(node, transition(node.record, S.FAILED, error=info))
        self._fail(node, error)

    def _complete_nested(self, node: Node) -> None:
        structure = node.nested
        try:
            if is_call(structure):
                output = self.nodes[structure.id].output
                assert output is not None
                node.output = _Output(output.artifact_id, output.value, output.loaded)
            else:
                conversions = self._conversions(node)
                value = node.future.function.check_output(substitute(structure, self._resolve), conversions)
                if conversions:
                    self._note(node, conversions.note(f"{node.future.function.name}() returned"))
                node.output = _Output(self._store(value), value, True)
        except Exception as error:  # noqa: BLE001 - an output that does not fit its annotation
            self._update(node, transition(node.record, S.FAILED, error=error_info(error)))
            self._fail(node, error)
            return
        self._consumed(node)
        node.nested = None
        self._update(node, transition(node.record, S.SUCCEEDED, output_id=node.output.artifact_id))
        self._succeeded(node)

    def _succeeded(self, node: Node) -> None:
        assert node.output is not None
        dependents, node.dependents = node.dependents or [], None
        node.output.readers = len(dependents)
        node.inputs = None
        node.executor = None
        if node is not self.root:
            node.run = None  # the hooks have its last snapshot; a finished node is its output
        self._drop_if_unread(node)
        for dependent in dependents:
            dependent.waiting -= 1
            if not dependent.waiting and not dependent.done:
                if dependent.phase == "inputs":
                    self.inputs_ready.append(dependent)
                else:
                    self._complete_nested(dependent)

    def _consumed(self, node: Node) -> None:
        """`node` has taken its producers' values: drop values nobody else will read."""
        if node.consumed:
            return
        node.consumed = True
        for producer in self._producers(node, node.phase):
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
        times = [*self.timed.values(), *self.retrying.values()]
        if not times:
            return None
        return max(0.0, min(times) - self.env.clock.monotonic())

    def _fire_timers(self) -> None:
        now = self.env.clock.monotonic()
        for node in [n for n, at in self.retrying.items() if at <= now]:
            del self.retrying[node]
            if node.state is S.RETRYING and node.executor is not None:
                self.ready[node.executor].appendleft(node)
                self.queued += 1
        for node in [n for n, at in self.timed.items() if at <= now]:
            self._time_out(node)

    def _time_out(self, node: Node) -> None:
        minutes = node.future.props.timeout_mins
        assert node.executor is not None
        stopped = node.executor.cancel(node.id)
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
        self._update(node, transition(node.record, S.ABANDONED, error=error_info(error)))
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
                f"{node.future.function.name}() failed (run {node.id})",
                user_error=True,
            )
            if parent.state is S.RUNNING:
                self._release(parent)
            self._update(parent, transition(parent.record, S.FAILED, error=info))
            parent = parent.parent
        self._stop_everything(reason=f"{node.future.function.name}() failed", running_too=False)

    def _stop_everything(self, *, reason: str, running_too: bool = True) -> None:
        """Cancel every run that has not started; with `running_too`, also stop the running
        ones: kill what can be killed, abandon the rest (a thread cannot be stopped)."""
        for node in list(self.nodes.values()):
            if node.done or (node.state is S.RUNNING and not running_too):
                continue
            info = ErrorInfo("StepCancelledError", reason, user_error=False)
            to = S.CANCELLED
            if node.state is S.RUNNING and node.executor is not None:
                if not node.executor.cancel(node.id):
                    to = S.ABANDONED
                    info = ErrorInfo(
                        "StepCancelledError",
                        reason + "; the step runs in a thread and was abandoned",
                        user_error=False,
                    )
                self._release(node)
            self._update(node, transition(node.run or self._created(node), to, error=info))
        for queue_ in self.ready.values():
            queue_.clear()
        self.queued = 0
        self.inputs_ready.clear()
        self.retrying.clear()
        self.timed.clear()

    # -- publishing -----------------------------------------------------------------------------

    def _update(self, node: Node, run: RunRecord) -> None:
        node.run = run
        node.state = run.state
        self._publish(run)

    def _publish(self, run: RunRecord) -> None:
        self.env.hooks.on_run_update(run=run)


_NO_RESOURCES = Resources()
