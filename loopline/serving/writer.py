"""The end of the recorder that owns the `InferenceLog`: in the serving process (a lock away),
or in a writer process of its own (`loopline serve` does this), so that checking records,
packing inputs and writing batches to the store never take the serving process's time.

    python -m loopline.serving.writer FD   # started by `ChildWriter`; FD: its end of a socket pair

Both ends speak the same messages, handled by `Writer.handle`:

- ("log", [ServedBatch, ...]): record these predictions (no answer);
- ("feedback", request_id, kind, label, score, note, source): answered with the Feedback;
- ("flush",), ("pending",), ("close",): answered with the request ids written, the count of
  records not written yet, None.

An error the log raises for an answered message is sent back and raised in the serving process
(InferenceNotFoundError for feedback on a request never served, ...). The writer process exits,
after writing what it holds, when the serving process closes it or goes away.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any, Protocol

from loopline.cl.production.log import InferenceLog
from loopline.cl.store.errors import InvalidRecordError
from loopline.cl.store.records import ModelVersion
from loopline.cl.store.workspace import Workspace
from loopline.errors import LooplineError, StoreError
from loopline.settings import Settings

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ServedBatch:
    """The predictions of one request, as the inference log takes them."""

    version: ModelVersion
    alias: str | None
    display: str
    request_ids: list[str]
    inputs: Any
    predictions: list[Any]
    scores: Any
    confidence: list[float] | None
    metadata: Any


@dataclasses.dataclass(frozen=True)
class LogOptions:
    """Where and how the writer's InferenceLog writes."""

    settings: Settings
    batch_size: int = 1000
    flush_interval_s: float = 1.0

    def open(self) -> InferenceLog:
        s = self.settings
        if s.server is not None:
            return InferenceLog(
                server=s.server,
                api_key=s.api_key,
                batch_size=self.batch_size,
                flush_interval_s=self.flush_interval_s,
            )
        return InferenceLog(
            Workspace.open(s), batch_size=self.batch_size, flush_interval_s=self.flush_interval_s
        )


class Writer:
    def __init__(self, log: InferenceLog) -> None:
        self.log = log

    def handle(self, message: tuple[Any, ...]) -> Any:
        kind = message[0]
        if kind == "log":
            for batch in message[1]:
                self._log_batch(batch)
            return None
        if kind == "feedback":
            request_id, feedback_kind, label, score, note, source = message[1:]
            return self.log.feedback(
                request_id, feedback_kind, label=label, score=score, note=note, source=source
            )
        if kind == "flush":
            return self.log.flush()
        if kind == "pending":
            return self.log.pending
        if kind == "close":
            self.log.close()
            return None
        raise ValueError(f"unknown message {kind!r}")

    def _log_batch(self, batch: ServedBatch) -> None:
        try:
            self.log.log_batch(
                batch.version,
                batch.inputs,
                batch.predictions,
                scores=batch.scores,
                confidence=batch.confidence,
                request_ids=batch.request_ids,
                metadata=batch.metadata,
                display=batch.display,
                alias=batch.alias,
            )
        except InvalidRecordError as error:  # the outputs were checked when served: a bug
            _log.error("the inference log refused %d prediction(s): %s", len(batch.request_ids), error)
        except LooplineError as error:  # a write failed: the log keeps them for its next flush
            _log.warning("logging served predictions: %s (%d buffered)", error, self.log.pending)


class Channel(Protocol):
    """How the serving process reaches its Writer."""

    def send(self, message: tuple[Any, ...]) -> None: ...

    def call(self, message: tuple[Any, ...]) -> Any: ...

    def close(self) -> None: ...


class LocalWriter:
    """The Writer in this process (tests, the demo): each message handled under a lock."""

    def __init__(self, options: LogOptions) -> None:
        self.writer = Writer(options.open())
        self._lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self.writer.handle(message)

    def call(self, message: tuple[Any, ...]) -> Any:
        with self._lock:
            return self.writer.handle(message)

    def close(self) -> None:
        self.call(("close",))


class ChildWriter:
    """The Writer in a process of its own, reached over a socket pair."""

    def __init__(self, options: LogOptions) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "loopline.serving.writer", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        self.connection = Connection(ours.detach())
        self._lock = threading.Lock()
        self.connection.send((options, list(sys.path)))

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self._send(message)

    def call(self, message: tuple[Any, ...]) -> Any:
        with self._lock:
            self._send(message)
            try:
                ok, value = self.connection.recv()
            except (EOFError, OSError):
                raise self._gone() from None
        if not ok:
            raise value
        return value

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            self.connection.send(message)
        except OSError:
            raise self._gone() from None

    def _gone(self) -> StoreError:
        code = self.process.poll()
        return StoreError(
            f"the inference log's writer process (pid {self.process.pid}) "
            + ("is not answering" if code is None else f"exited with code {code}")
            + ": predictions are not being logged; see the server's error output and restart it"
        )

    def close(self) -> None:
        try:
            self.call(("close",))
        finally:
            self.connection.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def main() -> None:
    connection = Connection(int(sys.argv[1]))
    options, path = connection.recv()
    sys.path.extend(p for p in path if p not in sys.path)  # the serving process's: its predictors' types
    writer = Writer(options.open())
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the serving process went away: write what is held, and end
            writer.log.close()
            return
        try:
            value = writer.handle(message)
        except Exception as error:  # noqa: BLE001 - sent back, raised in the serving process
            if message[0] == "log":
                _log.exception("logging served predictions failed")
            else:
                _answer_error(connection, error)
            continue
        if message[0] != "log":
            connection.send((True, value))
        if message[0] == "close":
            return


def _answer_error(connection: Connection, error: Exception) -> None:
    try:
        connection.send((False, error))
    except Exception:  # noqa: BLE001 - an error that does not pickle is sent in words
        connection.send((False, StoreError(f"{type(error).__name__}: {error}")))


if __name__ == "__main__":
    logging.basicConfig(format="%(asctime)s loopline serve (writer) %(message)s", datefmt="%H:%M:%S")
    main()
