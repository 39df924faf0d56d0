"""`StoreTracker`: the hook that records runs, artifacts, logs and metrics in a MetadataStore.

Updates are collected in memory and written by a background thread in one transaction every
`interval_s` (and at the end of every pipeline), so bookkeeping costs a step microseconds, not a
database commit. Several updates of the same run within one interval become one row write.
A crash loses at most the last interval's updates; artifacts are already safe on disk, and the
steps they belong to rerun or hit the cache. A burst of updates (a pipeline that registers a
hundred thousand steps at once) is written as soon as `FLUSH_AT` runs wait, and a step's output
as soon as `LOGS_FLUSH_AT` characters wait (the step waits for that write), so what waits in
memory stays bounded however much a step prints. A run that was just created waits up to HOLD_CREATED_S more: it is
usually ready, running or done by then, and is written once (the dashboard shows it a quarter
of a second later; the pipeline's root is written at once).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from loopline.core.records import (
    ArtifactRecord,
    LogChunk,
    MetricPoint,
    RunRecord,
    RunState,
    WriteBatch,
    utcnow,
)
from loopline.engine.hooks import RunHooks
from loopline.storage.base import MetadataStore

logger = logging.getLogger(__name__)
FLUSH_AT = 2_000  # runs waiting: write now rather than at the end of the interval
CHUNK_CHARS = 64 * 1024  # a stored log chunk holds at most this much output
LOGS_FLUSH_AT = 1024 * 1024  # characters of output waiting: write them now, the step waits
# While the store refuses writes (a full disk), output waits up to this much; older output is
# dropped past it (a line in the log says how much), so a step that prints on keeps its memory.
LOGS_WAITING_AT_MOST = 16 * LOGS_FLUSH_AT
# A run created this recently that is still `created` waits for the next interval: most steps
# (and every cache hit) move on within it, and their run is then written once, not twice.
HOLD_CREATED_S = 0.25


class StoreTracker(RunHooks):
    def __init__(self, metadata: MetadataStore, interval_s: float = 0.1) -> None:
        self.metadata = metadata
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._runs: dict[str, RunRecord] = {}
        self._artifacts: dict[str, ArtifactRecord] = {}
        self._logs: list[LogChunk] = []
        self._open: tuple[str, str, dt.datetime] | None = None  # the chunk being added to
        self._open_parts: list[str] = []
        self._open_chars = 0
        self._log_chars = 0  # output waiting, in characters
        self._writing = threading.local()  # `now` is set while this thread writes
        self._metrics: list[MetricPoint] = []
        self._write_lock = threading.Lock()
        self._failure: str | None = None  # the last failed write's error, said once
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loopline-tracker", daemon=True)
        self._thread.start()

    def on_run_update(self, *, run: RunRecord) -> None:
        with self._lock:
            self._runs[run.id] = run
            burst = len(self._runs) >= FLUSH_AT
        if burst:
            self._write_burst()

    def _write_burst(self) -> None:
        """Write what waits now, in the caller's thread (a burst of updates holds the interpreter,
        so the writer thread would barely get to run), unless a write is under way already."""
        self._write_now(wait=False)

    def _write_now(self, *, wait: bool) -> None:
        """Write what waits in this thread, logging a failure; with `wait`, after the write under
        way if there is one, else not at all then."""
        if getattr(self._writing, "now", False):
            return  # output printed by this thread's own write (a warning) waits for the next one
        if not self._write_lock.acquire(blocking=wait):
            return
        self._writing.now = True
        try:
            self._write(self._take())
        except Exception as error:  # noqa: BLE001 - written again later; said by _retrying
            self._retrying(error)
        else:
            self._failure = None
        finally:
            self._writing.now = False
            self._write_lock.release()

    def on_artifact(self, *, artifact: ArtifactRecord) -> None:
        with self._lock:
            self._artifacts[artifact.id] = artifact

    def on_log(self, *, run_id: str, stream: str, text: str) -> None:
        # NUL would end the text early for SQLite's length() and is refused by PostgreSQL.
        text = text.replace("\x00", "\ufffd")
        with self._lock:
            for at in range(0, len(text), CHUNK_CHARS):
                self._add_log(run_id, stream, text[at : at + CHUNK_CHARS])
            full = self._log_chars >= LOGS_FLUSH_AT
        if full and self._failure is None:
            # Stored before the step prints on, so what waits in memory stays near LOGS_FLUSH_AT.
            # While writes fail, the writer thread retries each interval and the step goes on.
            self._write_now(wait=True)

    def _add_log(self, run_id: str, stream: str, text: str) -> None:
        """Append to the open chunk, or close it and open another (the run or stream changed, or
        it would grow past CHUNK_CHARS). Parts are joined once, when the chunk closes."""
        if (
            self._open is None
            or self._open[:2] != (run_id, stream)
            or self._open_chars + len(text) > CHUNK_CHARS
        ):
            self._close_log()
            self._open = (run_id, stream, utcnow())
        self._open_parts.append(text)
        self._open_chars += len(text)
        self._log_chars += len(text)

    def _close_log(self) -> None:
        if self._open is not None and self._open_parts:
            self._logs.append(
                LogChunk(self._open[0], self._open[1], "".join(self._open_parts), self._open[2])
            )
        self._open, self._open_parts, self._open_chars = None, [], 0

    def on_metric(self, *, point: MetricPoint) -> None:
        with self._lock:
            self._metrics.append(point)

    def on_pipeline_start(self, *, root: RunRecord) -> None:
        self.flush()  # the pipeline is visible (and cancellable) from its first moment

    def on_pipeline_end(self, *, root: RunRecord) -> None:
        self.flush()

    def _take(self, *, hold_young: bool = False) -> WriteBatch:
        held: dict[str, RunRecord] = {}
        with self._lock:
            self._close_log()
            self._log_chars = 0
            runs = self._runs
            if hold_young:
                young = utcnow() - dt.timedelta(seconds=HOLD_CREATED_S)
                held = {i: r for i, r in runs.items() if r.state is RunState.CREATED and r.created_at > young}
                if held:
                    runs = {i: r for i, r in runs.items() if i not in held}
            batch = WriteBatch(
                runs=list(runs.values()),
                artifacts=list(self._artifacts.values()),
                logs=self._logs,
                metrics=self._metrics,
            )
            self._runs, self._artifacts, self._logs, self._metrics = held, {}, [], []
        return batch

    def _put_back(self, batch: WriteBatch) -> None:
        with self._lock:
            for run in batch.runs:
                self._runs.setdefault(run.id, run)
            for artifact in batch.artifacts:
                self._artifacts.setdefault(artifact.id, artifact)
            self._logs[:0] = batch.logs
            self._log_chars += sum(len(c.text) for c in batch.logs)
            self._drop_oldest_output()
            self._metrics[:0] = batch.metrics

    def _drop_oldest_output(self) -> None:
        """Past LOGS_WAITING_AT_MOST characters waiting, drop the oldest output, saying so in the
        log of each run that lost some."""
        dropped: dict[tuple[str, str], int] = {}
        while self._log_chars > LOGS_WAITING_AT_MOST and self._logs:
            chunk = self._logs.pop(0)
            self._log_chars -= len(chunk.text)
            key = (chunk.run_id, chunk.stream)
            dropped[key] = dropped.get(key, 0) + len(chunk.text)
        notes = [
            LogChunk(
                run_id,
                "log",
                f"[{count:,} characters of {stream} dropped: the store refused them]\n",
                utcnow(),
            )
            for (run_id, stream), count in dropped.items()
        ]
        self._logs[:0] = notes
        self._log_chars += sum(len(n.text) for n in notes)

    def flush(self) -> None:
        """Write everything pending now (raises if the store refuses)."""
        with self._write_lock:
            self._writing.now = True
            try:
                self._write(self._take())
            finally:
                self._writing.now = False

    def _write(self, batch: WriteBatch) -> None:
        if not batch:
            return
        try:
            self.metadata.write(batch)
        except BaseException:
            self._put_back(batch)
            raise

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                with self._write_lock:
                    self._write(self._take(hold_young=True))
            except Exception as error:  # noqa: BLE001 - written again later; said by _retrying
                self._retrying(error)
            else:
                self._failure = None

    def _retrying(self, error: Exception) -> None:
        """Say once (not every interval) that writes fail, and each time the reason changes."""
        if str(error) != self._failure:
            self._failure = str(error)
            logger.warning("could not record run updates yet; retrying", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()
        self.flush()
