"""`SqliteMetadataStore`: the embedded store (a SQLite file), with a runner's own traffic on the
standard library's sqlite3.

A runner talks to its store in a few ways only: it writes batches of run snapshots, artifact
records, logs and metrics; it looks up cached results; it heartbeats, marks orphaned runs and
checks for cancel requests. Those statements go straight to sqlite3, so a pipeline in a fresh
process never imports SQLAlchemy (~0.2 s) nor Alembic (~0.4 s). Every other query (listing,
search, the dashboard's) goes through `SqlMetadataStore`, loaded on first use over the same file.

Both write the same rows: JSON and times are encoded here as SQLAlchemy encodes them (a test
compares the two), and the column lists below are the schema's (a test compares those too).
Opening reads the schema revision with one query; a new file gets the head schema from one
script (`new_sqlite.py`), and Alembic loads only to migrate a database an older Loopline made.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

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
    Resources,
    RunFilter,
    RunnerRecord,
    RunRecord,
    RunState,
    WriteBatch,
    utcnow,
)
from loopline.storage.base import PipelineStats, RunPage
from loopline.storage.sql.failures import explain
from loopline.storage.sql.head import HEAD_REVISION
from loopline.storage.sql.new_sqlite import create_head_schema, is_empty, migration_lock
from loopline.storage.sql.pragmas import LOOKUP_CACHE_KIB, configure_sqlite_connection
from loopline.storage.sql.rows import (
    STORE_OWNED,
    artifact_row,
    dump_json,
    latest_runs,
    log_row,
    unique_artifacts,
)

if TYPE_CHECKING:
    from loopline.storage.sql.store import SqlMetadataStore

_URL_PREFIX = "sqlite:///"


def sqlite_file(url: str) -> str | None:
    """The file a `sqlite:///path` URL names; None for anything else (other databases, in-memory
    SQLite, URLs with options), which `SqlMetadataStore` handles."""
    if not url.startswith(_URL_PREFIX) or "?" in url:
        return None
    path = url[len(_URL_PREFIX) :]
    return None if path in ("", ":memory:") else path


# -- values as SQLAlchemy stores them in SQLite ------------------------------------------------


def _time(value: dt.datetime | None) -> str | None:
    """SQLAlchemy's DATETIME text for SQLite, in UTC (`UTCDateTime` drops the zone)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = (value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _read_time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


_NULL = "null"  # how SQLAlchemy stores None in a JSON column


def _read_json(text: str | None) -> Any:
    return None if text is None or text == _NULL else json.loads(text)


@functools.lru_cache(maxsize=256)
def _resources_json(resources: Resources) -> str:
    return dump_json({"cpus": resources.cpus, "gpus": resources.gpus, "memory_bytes": resources.memory_bytes})


@functools.lru_cache(maxsize=256)
def _tags_json(tags: tuple[str, ...]) -> str:
    return dump_json(list(tags))


def _optional_json(value: Any) -> str:
    return _NULL if value is None else dump_json(dataclasses.asdict(value))


def _run_values(run: RunRecord, updated_at: str | None) -> tuple[Any, ...]:
    """The row `run_row` describes, encoded for SQLite in `_RUNS` order, built straight from the
    record: the tracker writes one per run update, so this is the runner's hottest encoding."""
    inputs = run.inputs
    launch = run.launch
    return (
        run.id,
        run.root_id,
        run.parent_id,
        run.function,
        run.name,
        run.state.value,
        _time(run.created_at),
        _time(run.started_at),
        _time(run.ended_at),
        _tags_json(tuple(run.tags)),
        dump_json({name: [ref.artifact_id, list(ref.sources)] for name, ref in inputs.items()})
        if inputs
        else "{}",
        run.output_id,
        run.cache_key,
        run.cached_from,
        run.code_version,
        _resources_json(run.resources),
        run.attempts,
        _optional_json(run.error),
        run.runner_id,
        run.executor,
        run.user,
        _optional_json(run.git),
        _NULL if launch is None else dump_json({**dataclasses.asdict(launch), "argv": list(launch.argv)}),
        0,  # cancel_requested: the store's to set (`request_cancel`), written False as SQLAlchemy's
        updated_at,
    )


def _metric_value(value: float) -> float | str:
    return "NaN" if math.isnan(value) else value  # SQLite turns a NaN parameter into NULL


def _read_metric_value(value: float | str) -> float:
    return float(value)


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


class _Columns:
    """A table's columns in schema order, and how each value is encoded for SQLite and decoded."""

    def __init__(
        self,
        table: str,
        names: Sequence[str],
        *,
        times: Iterable[str] = (),
        jsons: Iterable[str] = (),
        custom: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] | None = None,
    ) -> None:
        self.table = table
        self.names = tuple(names)
        codecs: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
            **dict.fromkeys(times, (_time, _read_time)),
            **dict.fromkeys(jsons, (dump_json, _read_json)),
            **(custom or {}),
        }
        self._encode = {name: codec[0] for name, codec in codecs.items()}
        self._decode = [codecs[name][1] if name in codecs else None for name in self.names]
        self.select = ", ".join(f"{table}.{name}" for name in self.names)

    def insert(self, names: Sequence[str] | None = None) -> str:
        names = names or self.names
        return f"INSERT INTO {self.table} ({', '.join(names)}) VALUES ({_placeholders(len(names))})"

    def values(self, row: dict[str, Any], names: Sequence[str] | None = None) -> tuple[Any, ...]:
        """The row's values in column order (of `names`, default: every column), encoded."""
        encode = self._encode
        return tuple(
            encode[name](row[name]) if name in encode else row[name] for name in (names or self.names)
        )

    def mapping(self, values: Sequence[Any]) -> dict[str, Any]:
        """A row read back (its columns in order, maybe more after them), decoded."""
        return {
            name: value if decode is None else decode(value)
            for name, decode, value in zip(self.names, self._decode, values, strict=False)
        }


_RUNS = _Columns(
    "runs",
    (
        *("id", "root_id", "parent_id", "function", "name", "state", "created_at", "started_at"),
        *("ended_at", "tags", "inputs", "output_id", "cache_key", "cached_from", "code_version"),
        *("resources", "attempts", "error", "runner_id", "executor", "user", "git", "launch"),
        *("cancel_requested", "updated_at"),
    ),
)  # encoded by `_run_values`
_ARTIFACTS = _Columns(
    "artifacts",
    ("id", "type_name", "size", "summary", "created_at"),
    times=("created_at",),
    jsons=("summary",),
)
_CODE_VERSIONS = _Columns("code_versions", ("version", "source", "docstring"))
_LOGS = _Columns("logs", ("seq", "run_id", "stream", "text", "created_at"), times=("created_at",))
_METRICS = _Columns(
    "metrics",
    ("id", "run_id", "root_id", "name", "value", "step", "created_at"),
    times=("created_at",),
    custom={"value": (_metric_value, _read_metric_value)},
)
_RUNNERS = _Columns(
    "runners",
    ("id", "host", "pid", "started_at", "heartbeat_at", "stopped_at"),
    times=("started_at", "heartbeat_at", "stopped_at"),
)
TABLES = (_RUNS, _ARTIFACTS, _CODE_VERSIONS, _LOGS, _METRICS, _RUNNERS)  # for the schema test

_RUN_UPSERT = (
    _RUNS.insert()
    + " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _RUNS.names if name not in STORE_OWNED)
)
_ARTIFACT_INSERT = _ARTIFACTS.insert() + " ON CONFLICT (id) DO NOTHING"
_CODE_INSERT = _CODE_VERSIONS.insert() + " ON CONFLICT (version) DO NOTHING"
_LOG_COLUMNS = ("run_id", "stream", "text", "created_at")
_METRIC_COLUMNS = ("run_id", "root_id", "name", "value", "step", "created_at")
_RUNNER_UPSERT = (
    _RUNNERS.insert()
    + " ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, stopped_at = excluded.stopped_at"
)
# As SqlMetadataStore does it (an index seek on key and state): a run that executed first, else
# (gc deleted it) one that reused its output.
_FIND_CACHED = (
    "SELECT id, output_id FROM runs WHERE cache_key = ? AND state = ? "
    "ORDER BY coalesce(ended_at, created_at) DESC, id DESC LIMIT 1"
)
_TERMINAL = tuple(state.value for state in TERMINAL_STATES)


class _Connection:
    """One sqlite3 connection, used by one thread at a time, with a small page cache (a runner's
    statements look rows up by key)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.connection = sqlite3.connect(path, timeout=60, check_same_thread=False, cached_statements=64)
        configure_sqlite_connection(self.connection, cache_kib=LOOKUP_CACHE_KIB)
        self.lock = threading.Lock()

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with self.lock:
            return self.connection.execute(sql, parameters).fetchall()

    def writing(self) -> _Transaction:
        return _Transaction(self)

    def close(self) -> None:
        with self.lock:
            self.connection.close()


class _Transaction:
    """`with connection.writing() as db:` a write transaction (BEGIN IMMEDIATE), rolled back on error."""

    def __init__(self, owner: _Connection) -> None:
        self.owner = owner

    def __enter__(self) -> sqlite3.Connection:
        self.owner.lock.acquire()
        try:
            self.owner.connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.owner.lock.release()
            raise
        return self.owner.connection

    def __exit__(self, kind: object, error: BaseException | None, _tb: object) -> None:
        """Commit, or roll back; a failure of the file or its disk (full, read-only, corrupt)
        becomes a `StoreError` that says so. SQLite has rolled back already after some of them:
        the failure then stays the one to report, not the ROLLBACK that finds no transaction."""
        connection = self.owner.connection
        try:
            if error is None:
                try:
                    connection.execute("COMMIT")
                except sqlite3.Error as commit_error:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise explain(commit_error, self.owner.path) or commit_error from commit_error
                return
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                explained = explain(error, self.owner.path)
                if explained is not None:
                    raise explained from error
        finally:
            self.owner.lock.release()


class SqliteMetadataStore:
    """The MetadataStore on a SQLite file (`sqlite:///path`), migrated on open when needed."""

    def __init__(self, url: str) -> None:
        path = sqlite_file(url)
        if path is None:
            raise ValueError(f"SqliteMetadataStore needs a sqlite:///path URL, got {url!r}")
        self.url = url
        self.path = path
        self._sql: SqlMetadataStore | None = None
        self._sql_lock = threading.Lock()
        self._writer = _Connection(path)  # batches, heartbeats, orphans
        self._reader = _Connection(path)  # cache lookups and cancel checks, never behind a write
        if self._revision() != HEAD_REVISION:
            self._migrate()
        self._known_code: set[str] = set()

    def _revision(self) -> str | None:
        try:
            rows = self._reader.query("SELECT version_num FROM alembic_version")
        except sqlite3.OperationalError:  # no such table: a new database
            return None
        return str(rows[0][0]) if rows else None

    def _migrate(self) -> None:
        """The head schema for a new database; Alembic for one an older Loopline made (which
        takes the same lock itself, and leaves SQLAlchemy loaded for this store)."""
        with migration_lock(self.path):
            if self._revision() == HEAD_REVISION:
                return  # another process made it meanwhile
            with self._writer.lock:
                if is_empty(self._writer.connection):
                    create_head_schema(self._writer.connection)
                    return
        from loopline.storage.sql.database import create_sql_engine, upgrade
        from loopline.storage.sql.store import SqlMetadataStore

        engine = create_sql_engine(self.url)
        upgrade(engine)
        self._sql = SqlMetadataStore(engine, migrate=False)

    @property
    def sql(self) -> SqlMetadataStore:
        """The SQLAlchemy store over the same file, for every query a runner does not make."""
        with self._sql_lock:
            if self._sql is None:
                from loopline.storage.sql.store import SqlMetadataStore

                self._sql = SqlMetadataStore(self.url, migrate=False)
            return self._sql

    @property
    def engine(self) -> Any:  # a sqlalchemy.Engine (not named here: this module stays SQLAlchemy-free)
        """SQLAlchemy's engine on this file (the continuous-learning tables use it)."""
        return self.sql.engine

    # -- a runner's traffic, on sqlite3 ------------------------------------------------------

    def write(self, batch: WriteBatch) -> None:
        if not batch:
            return
        if batch.id is not None:  # a client's batch through a server: applied once however often sent
            self.sql.write(batch)
            return
        new_code: dict[str, RunRecord] = {}
        with self._writer.writing() as db:
            if batch.artifacts:
                db.executemany(
                    _ARTIFACT_INSERT,
                    (_ARTIFACTS.values(artifact_row(a)) for a in unique_artifacts(batch.artifacts)),
                )
            if batch.runs:
                new_code = {
                    r.code_version: r
                    for r in batch.runs
                    if r.code_version and r.code_version not in self._known_code
                }
                if new_code:
                    db.executemany(_CODE_INSERT, [(v, r.source, r.docstring) for v, r in new_code.items()])
                now = _time(utcnow())
                # Rows made one at a time: a batch of many runs is never held as rows too.
                db.executemany(_RUN_UPSERT, (_run_values(r, now) for r in latest_runs(batch.runs)))
            if batch.logs:
                db.executemany(
                    _LOGS.insert(_LOG_COLUMNS), (_LOGS.values(log_row(c), _LOG_COLUMNS) for c in batch.logs)
                )
            if batch.metrics:
                db.executemany(
                    _METRICS.insert(_METRIC_COLUMNS),
                    (_METRICS.values(dataclasses.asdict(m), _METRIC_COLUMNS) for m in batch.metrics),
                )
        self._known_code.update(new_code)  # only once committed: a failed batch wrote none

    def find_cached(self, cache_key: str) -> CacheHit | None:
        for state in (RunState.SUCCEEDED, RunState.CACHED):
            rows = self._reader.query(_FIND_CACHED, (cache_key, state.value))
            if rows:
                return CacheHit(rows[0][0], rows[0][1])
        return None

    def save_runner(self, runner: RunnerRecord) -> None:
        with self._writer.writing() as db:
            db.execute(_RUNNER_UPSERT, _RUNNERS.values(dataclasses.asdict(runner)))

    def live_runners(self) -> list[RunnerRecord]:
        rows = self._reader.query(f"SELECT {_RUNNERS.select} FROM runners WHERE stopped_at IS NULL")
        return [RunnerRecord(**_RUNNERS.mapping(row)) for row in rows]

    def unfinished_runners(self) -> list[RunnerRecord]:
        rows = self._reader.query(
            f"SELECT {_RUNNERS.select} FROM runners WHERE id IN (SELECT runner_id FROM runs "
            f"WHERE state NOT IN ({_placeholders(len(_TERMINAL))}))",
            _TERMINAL,
        )
        return [RunnerRecord(**_RUNNERS.mapping(row)) for row in rows]

    def orphan_runs(self, runner_ids: Iterable[str], at: dt.datetime, reason: str) -> list[str]:
        ids = list(runner_ids)
        if not ids:
            return []
        error = dump_json(dataclasses.asdict(ErrorInfo("RunnerDied", reason, user_error=False)))
        with self._writer.writing() as db:
            marked = [
                row[0]
                for row in db.execute(
                    f"SELECT id FROM runs WHERE runner_id IN ({_placeholders(len(ids))}) "
                    f"AND state NOT IN ({_placeholders(len(_TERMINAL))})",
                    (*ids, *_TERMINAL),
                )
            ]
            db.executemany(
                "UPDATE runs SET state = ?, ended_at = ?, error = ?, updated_at = ? WHERE id = ?",
                [(RunState.ORPHANED.value, _time(at), error, _time(utcnow()), run_id) for run_id in marked],
            )
            db.execute(
                f"UPDATE runners SET stopped_at = coalesce(stopped_at, ?) WHERE id IN ({_placeholders(len(ids))})",
                (_time(at), *ids),
            )
        return marked

    def cancel_requested(self, root_ids: Sequence[str]) -> set[str]:
        if not root_ids:
            return set()
        found: set[str] = set()
        ids = list(root_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self._reader.query(
                f"SELECT id FROM runs WHERE id IN ({_placeholders(len(chunk))}) AND cancel_requested = 1",
                chunk,
            )
            found.update(row[0] for row in rows)
        return found

    # -- everything else, through SQLAlchemy ----------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        return self.sql.get_run(run_id)

    def get_runs(self, run_ids: Sequence[str]) -> list[RunRecord]:
        return self.sql.get_runs(run_ids)

    def list_runs(
        self, filter: RunFilter = RunFilter(), *, limit: int = 100, cursor: str | None = None
    ) -> RunPage:
        return self.sql.list_runs(filter, limit=limit, cursor=cursor)

    def changed_runs(self, since: dt.datetime, *, limit: int = 1000) -> list[RunRecord]:
        return self.sql.changed_runs(since, limit=limit)

    def count_runs(self, filter: RunFilter = RunFilter()) -> int:
        return self.sql.count_runs(filter)

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        return self.sql.get_artifact(artifact_id)

    def read_logs(self, run_id: str, *, after_seq: int = 0, limit: int = 10_000) -> list[LogChunk]:
        return self.sql.read_logs(run_id, after_seq=after_seq, limit=limit)

    def read_log_window(self, run_id: str, *, offset: int | None = None, limit: int) -> LogWindow:
        return self.sql.read_log_window(run_id, offset=offset, limit=limit)

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
        return self.sql.read_pipeline_logs(
            run_id,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
            max_chars=max_chars,
            step=step,
            stream=stream,
            text=text,
        )

    def pipeline_log_steps(self, run_id: str, *, limit: int = 1000) -> list[LogStep]:
        return self.sql.pipeline_log_steps(run_id, limit=limit)

    def read_metrics(self, *, run_id: str | None = None, root_id: str | None = None) -> list[MetricPoint]:
        return self.sql.read_metrics(run_id=run_id, root_id=root_id)

    def add_note(self, note: Note) -> Note:
        return self.sql.add_note(note)

    def notes(self, run_id: str) -> list[Note]:
        return self.sql.notes(run_id)

    def request_cancel(self, run_id: str) -> str:
        return self.sql.request_cancel(run_id)

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        self.sql.delete_runs(run_ids)

    def referenced_artifact_ids(self) -> set[str]:
        return self.sql.referenced_artifact_ids()

    def delete_artifact_records(self, artifact_ids: Sequence[str]) -> None:
        self.sql.delete_artifact_records(artifact_ids)

    def pipeline_stats(self, *, recent: int = 30) -> list[PipelineStats]:
        return self.sql.pipeline_stats(recent=recent)

    def pipeline_outline(self, root_id: str) -> list[RunRecord]:
        return self.sql.pipeline_outline(root_id)

    def close(self) -> None:
        self._writer.close()
        self._reader.close()
        with self._sql_lock:
            if self._sql is not None:
                self._sql.close()
