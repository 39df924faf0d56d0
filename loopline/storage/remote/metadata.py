"""`HttpMetadataStore`: the MetadataStore of a Loopline server, over HTTP.

Each method is one request to `POST /api/v1/rpc/metadata/METHOD` (`loopline.storage.rpc`). A
runner's tracker sends its batched writes (one request per flush), after the small values the
connection holds back (so a record never names a value the server lacks); each batch carries an
id the server records with it, so a batch sent again after a lost answer is applied once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from loopline.core.records import (
    ArtifactRecord,
    CacheHit,
    LogChunk,
    LogStep,
    LogWindow,
    MetricPoint,
    Note,
    PipelineLogPage,
    RunFilter,
    RunnerRecord,
    RunRecord,
    WriteBatch,
)
from loopline.storage.base import MetadataStore, PipelineStats, RunPage
from loopline.storage.remote.client import ServerConnection


class HttpMetadataStore:
    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection

    def __repr__(self) -> str:
        return f"HttpMetadataStore({self.connection.url!r})"

    def _call(self, method: str, /, **arguments: Any) -> Any:
        return self.connection.call(MetadataStore, "metadata", method, **arguments)

    def write(self, batch: WriteBatch) -> None:
        if batch.id is None:  # the same id on every try of this batch: applied once
            batch = dataclasses.replace(batch, id=uuid.uuid4().hex)
        self.connection.send_deferred_values()
        self._call("write", batch=batch)

    def get_run(self, run_id: str) -> RunRecord:
        result: RunRecord = self._call("get_run", run_id=run_id)
        return result

    def get_runs(self, run_ids: Sequence[str]) -> list[RunRecord]:
        result: list[RunRecord] = self._call("get_runs", run_ids=run_ids)
        return result

    def list_runs(
        self, filter: RunFilter = RunFilter(), *, limit: int = 100, cursor: str | None = None
    ) -> RunPage:
        result: RunPage = self._call("list_runs", filter=filter, limit=limit, cursor=cursor)
        return result

    def changed_runs(self, since: dt.datetime, *, limit: int = 1000) -> list[RunRecord]:
        result: list[RunRecord] = self._call("changed_runs", since=since, limit=limit)
        return result

    def count_runs(self, filter: RunFilter = RunFilter()) -> int:
        result: int = self._call("count_runs", filter=filter)
        return result

    def find_cached(self, cache_key: str) -> CacheHit | None:
        result: CacheHit | None = self._call("find_cached", cache_key=cache_key)
        return result

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        result: ArtifactRecord = self._call("get_artifact", artifact_id=artifact_id)
        return result

    def read_logs(self, run_id: str, *, after_seq: int = 0, limit: int = 10_000) -> list[LogChunk]:
        result: list[LogChunk] = self._call("read_logs", run_id=run_id, after_seq=after_seq, limit=limit)
        return result

    def read_log_window(self, run_id: str, *, offset: int | None = None, limit: int) -> LogWindow:
        result: LogWindow = self._call("read_log_window", run_id=run_id, offset=offset, limit=limit)
        return result

    def read_pipeline_logs(
        self,
        run_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int,
        max_chars: int,
        step: str | None = None,
        stream: str | None = None,
        text: str | None = None,
    ) -> PipelineLogPage:
        result: PipelineLogPage = self._call(
            "read_pipeline_logs",
            run_id=run_id,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
            max_chars=max_chars,
            step=step,
            stream=stream,
            text=text,
        )
        return result

    def pipeline_log_steps(self, run_id: str, *, limit: int = 1000) -> list[LogStep]:
        result: list[LogStep] = self._call("pipeline_log_steps", run_id=run_id, limit=limit)
        return result

    def read_metrics(self, *, run_id: str | None = None, root_id: str | None = None) -> list[MetricPoint]:
        result: list[MetricPoint] = self._call("read_metrics", run_id=run_id, root_id=root_id)
        return result

    def add_note(self, note: Note) -> Note:
        result: Note = self._call("add_note", note=note)
        return result

    def notes(self, run_id: str) -> list[Note]:
        result: list[Note] = self._call("notes", run_id=run_id)
        return result

    def save_runner(self, runner: RunnerRecord) -> None:
        self._call("save_runner", runner=runner)

    def live_runners(self) -> list[RunnerRecord]:
        result: list[RunnerRecord] = self._call("live_runners")
        return result

    def unfinished_runners(self) -> list[RunnerRecord]:
        result: list[RunnerRecord] = self._call("unfinished_runners")
        return result

    def orphan_runs(self, runner_ids: Iterable[str], at: dt.datetime, reason: str) -> list[str]:
        result: list[str] = self._call("orphan_runs", runner_ids=list(runner_ids), at=at, reason=reason)
        return result

    def request_cancel(self, run_id: str) -> str:
        result: str = self._call("request_cancel", run_id=run_id)
        return result

    def cancel_requested(self, root_ids: Sequence[str]) -> set[str]:
        result: set[str] = self._call("cancel_requested", root_ids=root_ids)
        return result

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        self._call("delete_runs", run_ids=run_ids)

    def referenced_artifact_ids(self) -> set[str]:
        result: set[str] = self._call("referenced_artifact_ids")
        return result

    def delete_artifact_records(self, artifact_ids: Sequence[str]) -> None:
        self._call("delete_artifact_records", artifact_ids=artifact_ids)

    def pipeline_stats(self, *, recent: int = 30) -> list[PipelineStats]:
        result: list[PipelineStats] = self._call("pipeline_stats", recent=recent)
        return result

    def pipeline_outline(self, root_id: str) -> list[RunRecord]:
        result: list[RunRecord] = self._call("pipeline_outline", root_id=root_id)
        return result

    def close(self) -> None:
        self.connection.close()
