"""The worker process: `python -m loopline.engine.worker READ_FD WRITE_FD`.

It receives pickled StepTasks from its runner, reads inputs from the artifact store, runs the
step, writes the output to the store and sends back a StepResult; output and metrics travel
as messages while the step runs. Between runs a worker can be parked (kept warm for the next
run of its runner's process); a parked worker whose imported code changed on disk refuses the
next run and exits, and one that no run takes within its idle limit exits by itself. Ctrl-C is
the runner's to handle: workers ignore SIGINT and are stopped by their runner. A worker whose
runner died (killed, crashed) exits too, even in the middle of a step: nobody would record it.
"""

from __future__ import annotations

import os
import signal
import sys
import sysconfig
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from loopline.core import pickling
from loopline.core.records import ErrorInfo
from loopline.engine import capture
from loopline.engine.execution import StepResult, StepTask, execute_step
from loopline.engine.passing import StoredValues
from loopline.errors import LooplineError
from loopline.sdk.context import MetricSink
from loopline.storage.embedded import open_artifact_store

FLUSH_INTERVAL_S = 0.1
LOGS_SEND_AT = 1024 * 1024  # characters of output waiting: send them now rather than on the tick
PARENT_CHECK_S = 1.0


def exit_with_parent(check_s: float = PARENT_CHECK_S) -> None:
    """Exit this process as soon as the process that started it is gone (it is adopted by
    another, so its parent id changes)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(check_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="loopline-parent-watch", daemon=True).start()


class RemoteStepError(LooplineError):
    """A step failed with an exception that could not be sent back from its worker."""


def portable_result(result: StepResult) -> bytes:
    """The result pickled, with an unpicklable exception replaced by a RemoteStepError."""
    result.value, result.has_value = None, False
    try:
        return pickling.dumps(("done", result))
    except Exception:  # noqa: BLE001 - any pickling failure
        info = result.error_info or ErrorInfo("Exception", "unknown error")
        result.error = RemoteStepError(f"{info.type}: {info.message}")
        return pickling.dumps(("done", result))


class Channel:
    """Messages to the runner, with output buffered and sent every 0.1 s, or at once when
    LOGS_SEND_AT characters wait."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.lock = threading.Lock()
        self.pending: list[tuple[str, str, str]] = []
        self.pending_chars = 0
        self.wake = threading.Event()
        threading.Thread(target=self._flusher, daemon=True).start()

    def send(self, message: Any) -> None:
        data = message if isinstance(message, bytes) else pickling.dumps(message)
        with self.lock:
            self.connection.send_bytes(data)

    def log(self, run_id: str, stream: str, text: str) -> None:
        with self.lock:
            self.pending.append((run_id, stream, text))
            self.pending_chars += len(text)
            full = self.pending_chars >= LOGS_SEND_AT
        if full:
            self.flush()  # the step waits while the runner takes it: memory stays bounded

    def flush(self) -> None:
        with self.lock:
            pending, self.pending, self.pending_chars = self.pending, [], 0
        if pending:
            self.send(("logs", pending))

    def _flusher(self) -> None:
        while not self.wake.wait(FLUSH_INTERVAL_S):
            try:
                self.flush()
            except OSError:
                return


def _log_to(channel: Channel, task: StepTask) -> capture.LogSink:
    def log(stream: str, text: str) -> None:
        channel.log(task.run_id, stream, text)

    return log


def _metric_to(channel: Channel, task: StepTask) -> MetricSink:
    def metric(run_id: str, name: str, value: float, step: int | None) -> None:
        channel.send(("metric", run_id, task.root_id, name, value, step))

    return metric


_LIBRARY_DIRS = tuple(
    {sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")}
)


class CodeWatch:
    """The source files of the modules this worker imported (libraries excluded), with their
    modification times when first seen: `changed()` tells whether any was edited since."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self._modules = 0

    def update(self) -> None:
        if len(sys.modules) == self._modules:
            return  # nothing new imported
        self._modules = len(sys.modules)
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if path and path not in self.seen and not path.startswith(_LIBRARY_DIRS):
                self.seen[path] = _mtime(path)

    def changed(self) -> bool:
        return any(_mtime(path) != mtime for path, mtime in self.seen.items())


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def serve(read_fd: int, write_fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    inbox = Connection(read_fd, writable=False)
    channel = Channel(Connection(write_fd, readable=False))
    capture.install(echo=False)
    artifacts = None
    code = CodeWatch()
    code.update()
    idle_limit: float | None = None  # set while parked: exit when no run takes this worker in time
    while True:
        try:
            if idle_limit is not None and not inbox.poll(idle_limit):
                return  # a spare nobody wanted
            message = cloudpickle.loads(inbox.recv_bytes())
        except (EOFError, OSError):
            return  # the runner has gone
        if message is None:
            return
        if isinstance(message, tuple) and message[0] == "park":
            idle_limit = message[1]
            channel.send(("parked",))
            continue
        if isinstance(message, tuple) and message[0] == "init":
            if idle_limit is not None and code.changed():
                channel.send(("stale",))
                return
            idle_limit = None
            sys.path[:] = message[1]["sys_path"]
            artifacts = open_artifact_store(message[1]["artifacts"], api_key=message[1].get("api_key"))
            channel.send(("ready",))
            continue
        task = message
        assert isinstance(task, StepTask) and artifacts is not None
        result = execute_step(
            task, StoredValues(artifacts), on_log=_log_to(channel, task), on_metric=_metric_to(channel, task)
        )
        code.update()
        channel.flush()
        channel.send(portable_result(result))


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
