"""`ProcessExecutor`: a pool of warm worker processes for `standalone=True` steps.

Workers are plain subprocesses (`python -m loopline.engine.worker`) talking over two pipes, so
the user's script is never re-imported in them; funcs from scripts and notebooks travel by value
with cloudpickle. A step can be stopped for certain by killing its worker; a replacement is
started on demand. GPU steps get a fresh worker of their own with `CUDA_VISIBLE_DEVICES` set.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import pickle
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from loopline.core.records import ErrorInfo
from loopline.engine.execution import StepResult, StepTask
from loopline.engine.executors import StepReporter
from loopline.errors import WorkerCrashedError
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
                worker = self._spawn(one_shot=False)
            else:
                return
            self._start(worker, self._pending.popleft())

    def _start(self, worker: _Worker, task: StepTask) -> None:
        worker.task = task
        self._busy[task.run_id] = worker
        data = cloudpickle.dumps(task)
        with worker.send_lock:
            worker.outbox.send_bytes(data)

    def _spawn(self, *, one_shot: bool, env: dict[str, str] | None = None) -> _Worker:
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
        )
        init = {"sys_path": list(sys.path), "artifacts": self.artifacts.url}
        worker.outbox.send_bytes(pickle.dumps(init))
        threading.Thread(
            target=self._listen, args=(worker,), name="loopline-worker-reader", daemon=True
        ).start()
        return worker

    # -- messages from a worker --------------------------------------------------------------

    def _listen(self, worker: _Worker) -> None:
        while True:
            try:
                message: Any = cloudpickle.loads(worker.inbox.recv_bytes())
            except (EOFError, OSError):
                self._lost(worker)
                return
            kind = message[0]
            if kind == "logs":
                for run_id, stream, text in message[1]:
                    self.reporter.log(run_id, stream, text)
            elif kind == "metric":
                self.reporter.metric(*message[1:])
            elif kind == "done":
                self._done(worker, message[1])
                if worker.one_shot:
                    self._stop(worker)
                    return

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

    def _stop(self, worker: _Worker) -> None:
        try:
            with worker.send_lock:
                worker.outbox.send_bytes(cloudpickle.dumps(None))
        except OSError:
            pass

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._idle) + list(self._busy.values())
            self._idle.clear()
        for worker in workers:
            worker.killed = True
            if worker.task is None:
                self._stop(worker)
            else:
                worker.process.kill()
        for worker in workers:
            try:
                worker.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.process.kill()
