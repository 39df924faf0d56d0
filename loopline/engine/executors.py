"""Executors: where a ready func call runs. The state machine only sees this interface.

- `InlineExecutor`: in the runner's own thread, one at a time (SilentRunner).
- `ThreadExecutor`: a pool of threads in the runner's process (LocalRunner's default).
- `ProcessExecutor` (`loopline.engine.workers`): warm worker processes (`standalone=True`).
- `RayExecutor` (`loopline.engine.ray`): Ray tasks on a local instance or a cluster.
"""

from __future__ import annotations

import queue
import threading
from typing import Protocol

from loopline.engine.execution import StepResult, StepTask, execute_step
from loopline.engine.passing import ValueStore


class StepReporter(Protocol):
    """How an executor reports back to the runner (callable from any thread)."""

    def finished(self, result: StepResult) -> None: ...

    def log(self, run_id: str, stream: str, text: str) -> None: ...

    def metric(self, run_id: str, root_id: str, name: str, value: float, step: int | None) -> None: ...


class Executor(Protocol):
    name: str
    out_of_process: bool  # True: inputs arrive as StoredInput and outputs stay in the store
    can_interrupt: bool  # True: cancel() stops a running step for certain

    def submit(self, task: StepTask) -> None: ...

    def cancel(self, run_id: str) -> bool:
        """Stop the step if possible; True when it is certainly stopped."""

    def shutdown(self) -> None: ...


def run_in_this_process(task: StepTask, values: ValueStore, reporter: StepReporter) -> StepResult:
    return execute_step(
        task,
        values,
        on_log=lambda stream, text: reporter.log(task.run_id, stream, text),
        on_metric=lambda run_id, name, value, step: reporter.metric(run_id, task.root_id, name, value, step),
    )


class InlineExecutor:
    name = "inline"
    out_of_process = False
    can_interrupt = False

    def __init__(self, values: ValueStore, reporter: StepReporter) -> None:
        self.values = values
        self.reporter = reporter

    def submit(self, task: StepTask) -> None:
        self.reporter.finished(run_in_this_process(task, self.values, self.reporter))

    def cancel(self, run_id: str) -> bool:
        return False

    def shutdown(self) -> None:
        pass


_STOP = object()


class ThreadExecutor:
    """Daemon threads, so a step abandoned after a timeout never blocks the interpreter's exit.

    A thread cannot be stopped from outside: `cancel` abandons it and starts a replacement so
    the pool keeps its size.
    """

    name = "thread"
    out_of_process = False
    can_interrupt = False

    def __init__(self, values: ValueStore, reporter: StepReporter, size: int) -> None:
        self.values = values
        self.reporter = reporter
        self.size = size
        self._tasks: queue.SimpleQueue[StepTask | object] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def _ensure_threads(self) -> None:
        while len(self._threads) < self.size:
            thread = threading.Thread(target=self._work, name="loopline-step", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, task: StepTask) -> None:
        with self._lock:
            self._ensure_threads()
        self._tasks.put(task)

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            task = self._tasks.get()
            if task is _STOP:
                return
            assert isinstance(task, StepTask)
            with self._lock:
                self._running[task.run_id] = me
            result = run_in_this_process(task, self.values, self.reporter)
            with self._lock:
                self._running.pop(task.run_id, None)
            self.reporter.finished(result)
            # An idle thread must not keep the step's inputs and output alive (each may be a big
            # array) until its next task: the state machine frees values once read.
            del task, result
            if getattr(me, "loopline_abandoned", False):
                return  # a replacement already took this thread's place

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            thread = self._running.get(run_id)
            if thread is not None:
                thread.loopline_abandoned = True  # type: ignore[attr-defined]
                self._threads.remove(thread)
                self._ensure_threads()
        return False

    def shutdown(self) -> None:
        for _ in self._threads:
            self._tasks.put(_STOP)
        with self._lock:
            idle = [thread for thread in self._threads if thread not in self._running.values()]
        for thread in idle:
            thread.join(timeout=1)  # at once: their memory is free before the next run starts
