"""`MemoryMetadataStore`: the reference MetadataStore, kept in dicts behind one lock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import threading
from collections.abc import Iterable, Sequence

from loopline.core.records import (
    TERMINAL_STATES,
    ArtifactRecord,
    CacheHit,
    ErrorInfo,
    LogChunk,
    LogStep,
    LogWindow,
    MetricPoint,
    Note,
    PipelineLogPage,
    RunFilter,
    RunnerRecord,
    RunRecord,
    RunState,
    WriteBatch,
    cut_window,
    page_size,
    utcnow,
    window_start,
)
from loopline.errors import ArtifactNotFoundError, RunNotFoundError
from loopline.storage.base import PipelineStats, RunPage
from loopline.storage.paging import decode_cursor, encode_cursor


def run_matches(run: RunRecord, f: RunFilter) -> bool:
    """The meaning of every RunFilter field; SQL stores must agree with this function."""
    if f.states is not None and run.state not in f.states:
        return False
    if f.name is not None and not _contains(run.name, f.name):
        return False
    if f.function is not None and run.function != f.function:
        return False
    if any(tag not in run.tags for tag in f.tags):
        return False
    if f.root_only and run.parent_id is not None:
        return False
    if f.root_id is not None and run.root_id != f.root_id:
        return False
    if f.parent_id is not None and run.parent_id != f.parent_id:
        return False
    if f.created_after is not None and run.created_at < f.created_after:
        return False
    if f.created_before is not None and run.created_at >= f.created_before:
        return False
    if f.artifact is not None and not (
        run.output_id == f.artifact or any(ref.artifact_id == f.artifact for ref in run.inputs.values())
    ):
        return False
    return not f.search or any(
        _contains(text, f.search) for text in (run.id, run.name, run.function, *run.tags)
    )


def _contains(text: str, part: str) -> bool:
    """Case-insensitive substring. SQL stores agree for ASCII letters; other letters may need to
    match exactly there (SQLite's LOWER only folds ASCII)."""
    return part.lower() in text.lower()


class MemoryMetadataStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._runs: dict[str, RunRecord] = {}
        self._artifacts: dict[str, ArtifactRecord] = {}
        self._logs: list[LogChunk] = []
        self._metrics: list[MetricPoint] = []
        self._notes: list[Note] = []
        self._runners: dict[str, RunnerRecord] = {}
        self._by_cache_key: dict[str, set[str]] = {}  # cache key -> ids of runs with it
        self._next_seq = 1
        self._next_note_id = 1
        self._applied_batches: set[str] = set()

    def write(self, batch: WriteBatch) -> None:
        with self._lock:
            if batch.id is not None:
                if batch.id in self._applied_batches:
                    return
                self._applied_batches.add(batch.id)
            now = utcnow()
            for run in batch.runs:
                old = self._runs.get(run.id)
                if old is None:  # created_at and cancel_requested belong to the store
                    run = run.replace(cancel_requested=False, updated_at=now)
                else:
                    run = run.replace(
                        created_at=old.created_at, cancel_requested=old.cancel_requested, updated_at=now
                    )
                    if old.cache_key and old.cache_key != run.cache_key:
                        self._by_cache_key[old.cache_key].discard(run.id)
                self._runs[run.id] = run
                if run.cache_key:
                    self._by_cache_key.setdefault(run.cache_key, set()).add(run.id)
            for artifact in batch.artifacts:
                self._artifacts.setdefault(artifact.id, artifact)
            for chunk in batch.logs:
                self._logs.append(dataclasses.replace(chunk, seq=self._next_seq))
                self._next_seq += 1
            self._metrics.extend(batch.metrics)

    def get_run(self, run_id: str) -> RunRecord:
        with self._lock:
            try:
                return self._runs[run_id]
            except KeyError:
                raise RunNotFoundError(f"no run with id {run_id!r}") from None

    def get_runs(self, run_ids: Sequence[str]) -> list[RunRecord]:
        with self._lock:
            return [self._runs[i] for i in run_ids if i in self._runs]

    def _sorted(self, f: RunFilter) -> list[RunRecord]:
        runs = [r for r in self._runs.values() if run_matches(r, f)]
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return runs

    def list_runs(
        self, filter: RunFilter = RunFilter(), *, limit: int = 100, cursor: str | None = None
    ) -> RunPage:
        with self._lock:
            runs = self._sorted(filter)
        if cursor is not None:
            after = decode_cursor(cursor)
            runs = [r for r in runs if (r.created_at, r.id) < after]
        page = runs[:limit]
        more = len(runs) > limit
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
        return RunPage(page, next_cursor)

    def changed_runs(self, since: dt.datetime, *, limit: int = 1000) -> list[RunRecord]:
        with self._lock:
            changed = [r for r in self._runs.values() if r.updated_at is not None and r.updated_at >= since]
        return sorted(changed, key=lambda r: (r.updated_at or since, r.id))[:limit]

    def count_runs(self, filter: RunFilter = RunFilter()) -> int:
        with self._lock:
            return sum(1 for r in self._runs.values() if run_matches(r, filter))

    def find_cached(self, cache_key: str) -> CacheHit | None:
        with self._lock:
            runs = [self._runs[i] for i in self._by_cache_key.get(cache_key, ()) if i in self._runs]
        hits = [r for r in runs if r.state in (RunState.SUCCEEDED, RunState.CACHED)]
        executed = [r for r in hits if r.state is RunState.SUCCEEDED] or hits
        best = max(executed, key=lambda r: (r.ended_at or r.created_at, r.id), default=None)
        return None if best is None else CacheHit(best.id, best.output_id)

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        with self._lock:
            try:
                return self._artifacts[artifact_id]
            except KeyError:
                raise ArtifactNotFoundError(f"no artifact with id {artifact_id!r}") from None

    def read_logs(self, run_id: str, *, after_seq: int = 0, limit: int = 10_000) -> list[LogChunk]:
        with self._lock:
            chunks = [c for c in self._logs if c.run_id == run_id and c.seq > after_seq]
        return chunks[:limit]

    def read_log_window(self, run_id: str, *, offset: int | None = None, limit: int) -> LogWindow:
        with self._lock:
            chunks = [c for c in self._logs if c.run_id == run_id]
        ends = list(itertools.accumulate(len(c.text) for c in chunks))
        total = ends[-1] if ends else 0
        start = window_start(total, offset, limit)
        return cut_window(
            run_id, total, start, limit, ((end - len(c.text), c) for end, c in zip(ends, chunks, strict=True))
        )

    def _subtree(self, run_id: str) -> set[str]:
        """The ids of `run_id` and of every run nested under it (the caller holds the lock)."""
        root = self.get_run(run_id)
        children: dict[str, list[str]] = {}
        for run in self._runs.values():
            if run.root_id == root.root_id and run.parent_id is not None:
                children.setdefault(run.parent_id, []).append(run.id)
        found, todo = set(), [run_id]
        while todo:
            current = todo.pop()
            found.add(current)
            todo.extend(children.get(current, ()))
        return found

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
        needle = (text or "").lower()
        with self._lock:
            ids = self._subtree(run_id)
            matching = [
                c
                for c in self._logs
                if c.run_id in ids
                and (step is None or c.run_id == step)
                and (stream is None or c.stream == stream)
                and needle in c.text.lower()
            ]
            names = {i: self._runs[i].name for i in ids}
        if after_seq is not None:
            ahead = [c for c in matching if c.seq > after_seq]
            chunks = ahead[: page_size((len(c.text) for c in ahead), limit, max_chars)]
            earlier, later = any(c.seq <= after_seq for c in matching), len(chunks) < len(ahead)
            if before_seq is not None:  # a range: what lies past it is later output
                chunks = [c for c in chunks if c.seq < before_seq]
                later = later or any(c.seq >= before_seq for c in ahead)
        else:
            behind = [c for c in matching if before_seq is None or c.seq < before_seq][::-1]
            chunks = behind[: page_size((len(c.text) for c in behind), limit, max_chars)][::-1]
            earlier = len(chunks) < len(behind)
            later = before_seq is not None and any(c.seq >= before_seq for c in matching)
        chunks = [dataclasses.replace(c, text=c.text[:max_chars]) for c in chunks]
        return PipelineLogPage(chunks, {c.run_id: names[c.run_id] for c in chunks}, earlier, later)

    def pipeline_log_steps(self, run_id: str, *, limit: int = 1000) -> list[LogStep]:
        with self._lock:
            ids = self._subtree(run_id)
            steps: dict[str, LogStep] = {}
            for chunk in self._logs:
                if chunk.run_id in ids:
                    seen = steps.get(chunk.run_id)
                    steps[chunk.run_id] = (
                        LogStep(chunk.run_id, self._runs[chunk.run_id].name, 1, chunk.seq)
                        if seen is None
                        else dataclasses.replace(seen, chunks=seen.chunks + 1)
                    )
        return sorted(steps.values(), key=lambda s: s.first_seq)[:limit]

    def read_metrics(self, *, run_id: str | None = None, root_id: str | None = None) -> list[MetricPoint]:
        with self._lock:
            return [
                m
                for m in self._metrics
                if (run_id is None or m.run_id == run_id) and (root_id is None or m.root_id == root_id)
            ]

    def add_note(self, note: Note) -> Note:
        with self._lock:
            self.get_run(note.run_id)
            stored = dataclasses.replace(note, id=self._next_note_id)
            self._next_note_id += 1
            self._notes.append(stored)
            return stored

    def notes(self, run_id: str) -> list[Note]:
        with self._lock:
            return [n for n in self._notes if n.run_id == run_id]

    def save_runner(self, runner: RunnerRecord) -> None:
        with self._lock:
            self._runners[runner.id] = runner

    def live_runners(self) -> list[RunnerRecord]:
        with self._lock:
            return [r for r in self._runners.values() if r.stopped_at is None]

    def unfinished_runners(self) -> list[RunnerRecord]:
        with self._lock:
            ids = {r.runner_id for r in self._runs.values() if r.state not in TERMINAL_STATES}
            return [r for r in self._runners.values() if r.id in ids]

    def orphan_runs(self, runner_ids: Iterable[str], at: dt.datetime, reason: str) -> list[str]:
        ids = set(runner_ids)
        marked = []
        with self._lock:
            for run in list(self._runs.values()):
                if run.runner_id in ids and run.state not in TERMINAL_STATES:
                    error = ErrorInfo("RunnerDied", reason, user_error=False)
                    self._runs[run.id] = run.replace(
                        state=RunState.ORPHANED, ended_at=at, error=error, updated_at=utcnow()
                    )
                    marked.append(run.id)
            for runner_id in ids:
                runner = self._runners.get(runner_id)
                if runner is not None and runner.stopped_at is None:
                    self._runners[runner_id] = dataclasses.replace(runner, stopped_at=at)
        return marked

    def request_cancel(self, run_id: str) -> str:
        with self._lock:
            root_id = self.get_run(run_id).root_id
            if root_id in self._runs:
                self._runs[root_id] = self._runs[root_id].replace(cancel_requested=True, updated_at=utcnow())
            return root_id

    def cancel_requested(self, root_ids: Sequence[str]) -> set[str]:
        with self._lock:
            return {i for i in root_ids if i in self._runs and self._runs[i].cancel_requested}

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        doomed = set(run_ids)
        with self._lock:
            for run_id in doomed:
                self._runs.pop(run_id, None)
            self._logs = [c for c in self._logs if c.run_id not in doomed]
            self._metrics = [m for m in self._metrics if m.run_id not in doomed]
            self._notes = [n for n in self._notes if n.run_id not in doomed]

    def referenced_artifact_ids(self) -> set[str]:
        with self._lock:
            ids: set[str] = set()
            for run in self._runs.values():
                ids.update(ref.artifact_id for ref in run.inputs.values())
                if run.output_id:
                    ids.add(run.output_id)
            return ids

    def delete_artifact_records(self, artifact_ids: Sequence[str]) -> None:
        with self._lock:
            for artifact_id in artifact_ids:
                self._artifacts.pop(artifact_id, None)

    def close(self) -> None:
        pass

    def pipeline_stats(self, *, recent: int = 30) -> list[PipelineStats]:
        with self._lock:
            roots = self._sorted(RunFilter(root_only=True))
        stats: dict[str, PipelineStats] = {}
        for run in roots:
            entry = stats.setdefault(run.function, PipelineStats(run.function, {}, []))
            entry.counts[run.state.value] = entry.counts.get(run.state.value, 0) + 1
            if len(entry.recent) < recent:
                entry.recent.append(run)
        return list(stats.values())

    def pipeline_outline(self, root_id: str) -> list[RunRecord]:
        with self._lock:
            return [r for r in self._runs.values() if r.root_id == root_id]
