"""The two storage seams: `MetadataStore` (runs, logs, metrics, notes) and `ArtifactStore` (bytes).

Every backend implements one of these protocols and passes the shared conformance suite in
`tests/storage/`. The engine, the client and the server only ever talk to these protocols.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

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
from loopline.core.serialization import Encoded


@dataclasses.dataclass(frozen=True)
class RunPage:
    runs: list[RunRecord]
    next_cursor: str | None


@runtime_checkable
class MetadataStore(Protocol):
    """Where runs and everything about them are recorded."""

    def write(self, batch: WriteBatch) -> None:
        """Persist a batch atomically. Runs are upserted (the latest snapshot wins, except for
        `created_at` and `cancel_requested`, which only the store changes); artifacts are
        inserted once; logs and metrics are appended."""

    def get_run(self, run_id: str) -> RunRecord:
        """The run, or RunNotFoundError."""

    def get_runs(self, run_ids: Sequence[str]) -> list[RunRecord]:
        """The runs that exist among `run_ids`, in no particular order."""

    def list_runs(
        self, filter: RunFilter = RunFilter(), *, limit: int = 100, cursor: str | None = None
    ) -> RunPage:
        """Runs matching `filter`, newest first, `limit` at a time."""

    def changed_runs(self, since: dt.datetime, *, limit: int = 1000) -> list[RunRecord]:
        """Runs written at or after `since`, oldest change first (for live updates)."""

    def count_runs(self, filter: RunFilter = RunFilter()) -> int: ...

    def find_cached(self, cache_key: str) -> CacheHit | None:
        """The most recent run with this cache key that succeeded by executing; failing that (gc
        deleted it), the most recent one that reused such a run's output. One lookup: what a
        cached step costs."""

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        """The artifact's record, or ArtifactNotFoundError."""

    def read_logs(self, run_id: str, *, after_seq: int = 0, limit: int = 10_000) -> list[LogChunk]: ...

    def read_log_window(self, run_id: str, *, offset: int | None = None, limit: int) -> LogWindow:
        """At most `limit` characters of the run's output, from character `offset` on, or, with no
        offset, its last `limit` characters; with the total it wrote so far."""

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
        """The output of `run_id` and of every run nested under it, in the order it was written:
        at most `limit` chunks and about `max_chars` characters (whole chunks; a first chunk
        longer than that is cut to it), the first ones after `after_seq` (and before
        `before_seq`, given both), or the last ones before `before_seq`, or, with neither, the
        last ones. Only the chunks of the run `step`,
        of one `stream`, or that contain `text` (ignoring case), when given. RunNotFoundError if
        there is no such run."""

    def pipeline_log_steps(self, run_id: str, *, limit: int = 1000) -> list[LogStep]:
        """The runs, `run_id` and those nested under it, that wrote output, in the order of their
        first output; at most `limit`."""

    def read_metrics(self, *, run_id: str | None = None, root_id: str | None = None) -> list[MetricPoint]: ...

    def add_note(self, note: Note) -> Note: ...

    def notes(self, run_id: str) -> list[Note]: ...

    def save_runner(self, runner: RunnerRecord) -> None:
        """Insert or update a runner (its heartbeat, its stop)."""

    def live_runners(self) -> list[RunnerRecord]:
        """Runners that have not stopped."""

    def unfinished_runners(self) -> list[RunnerRecord]:
        """Runners, stopped or not, that some unfinished run still belongs to (a stopped one
        among them left its runs behind: they are orphans)."""

    def orphan_runs(self, runner_ids: Iterable[str], at: dt.datetime, reason: str) -> list[str]:
        """Mark every unfinished run of these (dead) runners ORPHANED and stop the runners;
        return the ids of the runs marked."""

    def request_cancel(self, run_id: str) -> str:
        """Ask the runner of `run_id`'s pipeline to cancel it; returns the root run's id."""

    def cancel_requested(self, root_ids: Sequence[str]) -> set[str]:
        """Which of these pipelines have been asked to cancel."""

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Delete runs with their logs, metrics and notes (not their artifacts)."""

    def referenced_artifact_ids(self) -> set[str]:
        """Every artifact id some run uses as input or output."""

    def delete_artifact_records(self, artifact_ids: Sequence[str]) -> None: ...

    def close(self) -> None: ...

    def pipeline_stats(self, *, recent: int = 30) -> list[PipelineStats]:
        """Per pipeline (root runs grouped by function): run counts per state, and its `recent`
        latest root runs, newest first. Pipelines ordered by their latest run, newest first."""

    def pipeline_outline(self, root_id: str) -> list[RunRecord]:
        """Every run of one pipeline, fast, with only what drawing its graph needs: identity,
        names, state, timings, tags and inputs (source, docstring, git, launch, error, resources
        and cache fields are left at their defaults). In no particular order."""


class ArtifactReader(Protocol):
    """A readable stream over one artifact that checks its hash once fully read."""

    def read(self, size: int = -1) -> bytes: ...

    def readinto(self, buffer: memoryview) -> int: ...

    def verify(self) -> None:
        """Read what is left and raise ArtifactCorruptedError if the hash does not match."""

    def close(self) -> None: ...


@runtime_checkable
class ArtifactStore(Protocol):
    """Write-once, content-addressed bytes. Ids are the SHA-256 of the bytes."""

    url: str

    def put(self, encoded: Encoded) -> str:
        """Store the bytes (atomically; never half-written) and return their id."""

    def open(self, artifact_id: str) -> ArtifactReader:
        """A reader for the artifact, or ArtifactNotFoundError."""

    def exists(self, artifact_id: str) -> bool: ...

    def delete(self, artifact_id: str) -> None: ...

    def ids(self) -> Iterator[str]: ...

    def written_at(self, artifact_id: str) -> float | None:
        """When the artifact was last put (seconds since the epoch; putting bytes the store holds
        already counts), or None when the store cannot tell. Garbage collection spares recent ones:
        a run in progress may have put one without having recorded it yet."""

    def discard_partial_writes(self, older_than_s: float) -> int:
        """Delete the temporary files of writes that never finished (their process died) and are
        older than `older_than_s`; returns how many."""

    def flush(self) -> None:
        """Make every value put so far readable by other processes: a store that sends small
        values in batches (a server's, over HTTP) sends them now; the others write at once."""


@dataclasses.dataclass(frozen=True)
class PipelineStats:
    """One pipeline (the function of root runs): its run count per state and its latest runs."""

    function: str
    counts: dict[str, int]  # RunState value -> number of root runs
    recent: list[RunRecord]  # the latest root runs, newest first
