"""`ProcessExecutor`: a pool of warm worker processes for `standalone=True` steps.

Workers are plain subprocesses (`python -m loopline.engine.worker`) talking over two pipes, so
the user's script is never re-imported in them; funcs from scripts and notebooks travel by value
with cloudpickle. A step can be stopped for certain by killing its worker; a replacement is
started on demand. GPU steps get a fresh worker of their own with `CUDA_VISIBLE_DEVICES` set.

Workers outlive their run: when a runner shuts down, its idle workers are parked in this
process's spare pool and the next run takes them, already warm (interpreter started, libraries
imported). A spare is only reused by a run with the same interpreter, working directory and
environment variables, and a spare whose imported code changed on disk since it ran its last
step refuses the new run and exits, so a step never runs stale code. A spare that no run takes
within `SPARE_IDLE_S` exits by itself.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import hashlib
import os
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from loopline.core import pickling
from loopline.core.records import ErrorInfo
from loopline.engine.execution import StepResult, StepTask
from loopline.engine.executors import StepReporter
from loopline.errors import WorkerCrashedError
from loopline.storage.artifacts import store_address
from loopline.storage.base import ArtifactStore


@dataclasses.dataclass(eq=False)
class _Worker:
    process: subprocess.Popen[bytes]
    outbox: Connection
    inbox: Connection
    one_shot: bool
    task: StepTask | None = None
    killed: bool = False
    send_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    released: threading.Event = dataclasses.field(default_factory=threading.Event)  # parked or gone
    spare_key: str = ""  # the interpreter, directory and environment it was started with

    def send(self, message: Any) -> None:
        with self.send_lock:
            self.outbox.send_bytes(pickling.dumps(message))

    def stop(self) -> None:
        """Ask the worker to exit once it is idle (it exits on its own if the pipe is gone)."""
        try:
            self.send(None)
        except OSError:
            pass


HANDSHAKE_TIMEOUT_S = 10.0
SPARE_IDLE_S = 600.0  # a spare worker nobody took for this long exits (and frees its memory)


def _spare_key() -> str:
    """What a spare worker inherited and must match to be reused: interpreter, working
    directory, environment variables."""
    text = repr((sys.executable, os.getcwd(), sorted(os.environ.items())))
    return hashlib.sha256(text.encode()).hexdigest()


class _SparePool:
    """Idle workers kept between the runs of this process (at most one per core)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: list[tuple[str, _Worker]] = []
        self._pid = os.getpid()
        atexit.register(self.clear)

    def _forget_if_forked(self) -> None:
        """A forked child must not talk to its parent's workers (called with the lock held)."""
        if self._pid != os.getpid():
            self._workers, self._pid = [], os.getpid()

    def put(self, worker: _Worker) -> None:
        with self._lock:
            self._forget_if_forked()
            self._workers.append((worker.spare_key, worker))
            surplus = self._workers[: max(0, len(self._workers) - (os.cpu_count() or 1))]
            del self._workers[: len(surplus)]
        for _, old in surplus:
            old.stop()

    def take(self, artifacts: tuple[str, str | None]) -> _Worker | None:
        """A warm worker re-initialised for this run, or None. Spares started under another
        environment are stopped; so is one whose code changed on disk (it says so itself)."""
        key = _spare_key()
        while True:
            with self._lock:
                self._forget_if_forked()
                stale = [w for k, w in self._workers if k != key]
                self._workers = [(k, w) for k, w in self._workers if k == key]
                worker = self._workers.pop()[1] if self._workers else None
            for old in stale:
                old.stop()
            if worker is None:
                return None
            if _handshake(worker, artifacts):
                return worker
            worker.stop()

    def clear(self) -> None:
        with self._lock:
            self._forget_if_forked()
            workers, self._workers = [w for _, w in self._workers], []
        for worker in workers:
            worker.stop()


def _init_message(artifacts: tuple[str, str | None]) -> tuple[str, dict[str, Any]]:
    url, api_key = artifacts
    return ("init", {"sys_path": list(sys.path), "artifacts": url, "api_key": api_key})


def _handshake(worker: _Worker, artifacts: tuple[str, str | None]) -> bool:
    """Point a parked worker at this run; True when it is ready (False: changed code, or gone)."""
    try:
        worker.send(_init_message(artifacts))
        if not worker.inbox.poll(HANDSHAKE_TIMEOUT_S):
            return False
        return bool(cloudpickle.loads(worker.inbox.recv_bytes()) == ("ready",))
    except (EOFError, OSError):
        return False


SPARES = _SparePool()


class ProcessExecutor:
    name = "process"
    out_of_process = True
    can_interrupt = True

    def __init__(self, artifacts: ArtifactStore, reporter: StepReporter, size: int) -> None:
        self.artifacts = artifacts
        self.reporter = reporter
        self.size = size
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: dict[str, _Worker] = {}
        self._pending: collections.deque[StepTask] = collections.deque()
        self._pool_count = 0  # pooled workers alive (idle or busy), one-shot ones excluded
        self._closed = False

    # -- scheduling --------------------------------------------------------------------------

    def submit(self, task: StepTask) -> None:
        self.artifacts.flush()  # the step's inputs, readable by the worker before it starts
        if task.gpu_ids:
            env = {"CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in task.gpu_ids)}
            worker = self._spawn(one_shot=True, env=env)
            with self._lock:
                self._start(worker, task)
            return
        with self._lock:
            self._pending.append(task)
            self._dispatch()

    def _dispatch(self) -> None:
        """Hand pending tasks to idle workers, starting workers up to the pool size (locked)."""
        while self._pending and not self._closed:
            if self._idle:
                worker = self._idle.pop()
            elif self._pool_count < self.size:
                self._pool_count += 1
                worker = self._lease() or self._spawn(one_shot=False)
            else:
                return
            self._start(worker, self._pending.popleft())

    def _start(self, worker: _Worker, task: StepTask) -> None:
        worker.task = task
        self._busy[task.run_id] = worker
        worker.send(task)

    def _lease(self) -> _Worker | None:
        worker = SPARES.take(store_address(self.artifacts))
        if worker is not None:
            self._listen_to(worker)
        return worker

    def _spawn(self, *, one_shot: bool, env: dict[str, str] | None = None) -> _Worker:
        key = _spare_key()  # before the start: what the worker inherits
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        process = subprocess.Popen(
            [sys.executable, "-m", "loopline.engine.worker", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
        os.close(to_child_r)
        os.close(from_child_w)
        worker = _Worker(
            process,
            Connection(to_child_w, readable=False),
            Connection(from_child_r, writable=False),
            one_shot,
            spare_key=key,
        )
        worker.send(_init_message(store_address(self.artifacts)))
        self._listen_to(worker)
        return worker

    # -- messages from a worker --------------------------------------------------------------

    def _listen_to(self, worker: _Worker) -> None:
        threading.Thread(
            target=self._listen, args=(worker,), name="loopline-worker-reader", daemon=True
        ).start()

    def _listen(self, worker: _Worker) -> None:
        """Read the worker's messages until it is parked (the spare pool then owns it) or gone."""
        while True:
            try:
                message: Any = cloudpickle.loads(worker.inbox.recv_bytes())
            except (EOFError, OSError):
                self._lost(worker)
                return
            kind = message[0]
            if kind == "parked":
                SPARES.put(worker)
                worker.released.set()
                return
            if kind == "logs":
                for run_id, stream, text in message[1]:
                    self.reporter.log(run_id, stream, text)
            elif kind == "metric":
                self.reporter.metric(*message[1:])
            elif kind == "done":
                self._done(worker, message[1])
                if worker.one_shot:
                    worker.stop()

    def _done(self, worker: _Worker, result: StepResult) -> None:
        with self._lock:
            if worker.task is not None:
                self._busy.pop(worker.task.run_id, None)
            worker.task = None
            if not worker.one_shot and not self._closed:
                self._idle.append(worker)
                self._dispatch()
        self.reporter.finished(result)

    def _lost(self, worker: _Worker) -> None:
        code = worker.process.wait()
        worker.released.set()
        with self._lock:
            task = worker.task
            if task is not None:
                self._busy.pop(task.run_id, None)
            if worker in self._idle:
                self._idle.remove(worker)
            if not worker.one_shot:
                self._pool_count -= 1
            self._dispatch()
        if task is not None and not worker.killed:
            error = WorkerCrashedError(
                f"the worker process (pid {worker.process.pid}) running {task.function.name}() "
                f"died with exit code {code} before it finished (out of memory, or killed?)"
            )
            info = ErrorInfo("WorkerCrashedError", str(error), user_error=False)
            self.reporter.finished(
                StepResult(task.run_id, task.attempt, error=error, error_info=info, executor_lost=True)
            )

    # -- stopping ----------------------------------------------------------------------------

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            for task in self._pending:
                if task.run_id == run_id:
                    self._pending.remove(task)
                    return True
            worker = self._busy.pop(run_id, None)
            if worker is None:
                return True
            worker.killed = True
            worker.task = None
        worker.process.kill()
        return True

    def shutdown(self) -> None:
        """Park the idle workers as spares for the next run; kill the busy ones."""
        with self._lock:
            self._closed = True
            idle = list(self._idle)
            busy = list(self._busy.values())
            self._idle.clear()
        for worker in idle:
            worker.released.clear()  # set again once parked (or gone)
            try:
                worker.send(("park", SPARE_IDLE_S))
            except OSError:
                pass  # already gone: its reader reports it
        for worker in busy:
            worker.killed = True
            worker.process.kill()
        for worker in busy:
            try:
                worker.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.process.kill()
        for worker in idle:  # parked before the next run asks for spares
            worker.released.wait(HANDSHAKE_TIMEOUT_S)
