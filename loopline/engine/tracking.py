"""`StoreTracker`: the hook that records runs, artifacts, logs and metrics in a MetadataStore.

Updates are collected in memory and written by a background thread in one transaction every
`interval_s` (and at the end of every pipeline), so bookkeeping costs a step microseconds, not a
database commit. Several updates of the same run within one interval become one row write.
A crash loses at most the last interval's updates; artifacts are already safe on disk, and the
steps they belong to rerun or hit the cache.
"""

from __future__ import annotations

import logging
import threading

from loopline.core.records import ArtifactRecord, LogChunk, MetricPoint, RunRecord, WriteBatch, utcnow
from loopline.engine.hooks import RunHooks
from loopline.storage.base import MetadataStore

logger = logging.getLogger(__name__)


class StoreTracker(RunHooks):
    def __init__(self, metadata: MetadataStore, interval_s: float = 0.1) -> None:
        self.metadata = metadata
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._runs: dict[str, RunRecord] = {}
        self._artifacts: dict[str, ArtifactRecord] = {}
        self._logs: list[LogChunk] = []
        self._metrics: list[MetricPoint] = []
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loopline-tracker", daemon=True)
        self._thread.start()

    def on_run_update(self, *, run: RunRecord) -> None:
        with self._lock:
            self._runs[run.id] = run

    def on_artifact(self, *, artifact: ArtifactRecord) -> None:
        with self._lock:
            self._artifacts[artifact.id] = artifact

    def on_log(self, *, run_id: str, stream: str, text: str) -> None:
        with self._lock:
            last = self._logs[-1] if self._logs else None
            if last is not None and last.run_id == run_id and last.stream == stream:
                self._logs[-1] = LogChunk(run_id, stream, last.text + text, last.created_at)
            else:
                self._logs.append(LogChunk(run_id, stream, text, utcnow()))

    def on_metric(self, *, point: MetricPoint) -> None:
        with self._lock:
            self._metrics.append(point)

    def on_pipeline_start(self, *, root: RunRecord) -> None:
        self.flush()  # the pipeline is visible (and cancellable) from its first moment

    def on_pipeline_end(self, *, root: RunRecord) -> None:
        self.flush()

    def _take(self) -> WriteBatch:
        with self._lock:
            batch = WriteBatch(
                runs=list(self._runs.values()),
                artifacts=list(self._artifacts.values()),
                logs=self._logs,
                metrics=self._metrics,
            )
            self._runs, self._artifacts, self._logs, self._metrics = {}, {}, [], []
        return batch

    def _put_back(self, batch: WriteBatch) -> None:
        with self._lock:
            for run in batch.runs:
                self._runs.setdefault(run.id, run)
            for artifact in batch.artifacts:
                self._artifacts.setdefault(artifact.id, artifact)
            self._logs[:0] = batch.logs
            self._metrics[:0] = batch.metrics

    def flush(self) -> None:
        """Write everything pending now (raises if the store refuses)."""
        with self._write_lock:
            batch = self._take()
            if not batch:
                return
            try:
                self.metadata.write(batch)
            except BaseException:
                self._put_back(batch)
                raise

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.flush()
            except Exception:
                logger.warning("could not record run updates yet; retrying", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()
