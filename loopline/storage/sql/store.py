"""`SqlMetadataStore`: the MetadataStore on SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from loopline.core.records import (
    TERMINAL_STATES,
    ArtifactRecord,
    CacheHit,
    ErrorInfo,
    InputRef,
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
from loopline.storage.sql import tables as t
from loopline.storage.sql import team_tables as team
from loopline.storage.sql.database import (
    create_sql_engine,
    dialect_insert,
    unreachable,
    upgrade,
    write_transaction,
)
from loopline.storage.sql.rows import (
    STORE_OWNED,
    artifact_row,
    dump_json,
    latest_runs,
    log_row,
    run_from_row,
    run_row,
    unique_artifacts,
)


def open_sql_store(url: str) -> SqlMetadataStore:
    """The store on the database at `url`, migrated; one that cannot be reached raises a
    `StoreError` that says so (see `unreachable`)."""
    try:
        return SqlMetadataStore(url)
    except sa.exc.DBAPIError as exc:
        raise unreachable(url, exc) from exc


class SqlMetadataStore:
    def __init__(self, url_or_engine: str | sa.Engine, *, migrate: bool = True) -> None:
        self.engine = create_sql_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        self._dialect = self.engine.dialect.name
        if migrate:
            upgrade(self.engine)
        self._known_code: set[str] = set()
        self._batches_seen = 0

    # -- writing ---------------------------------------------------------------------------

    def _insert(self, table: sa.Table) -> Any:
        return dialect_insert(self.engine, table)

    def write(self, batch: WriteBatch) -> None:
        if not batch:
            return
        new_code: set[str] = set()
        with write_transaction(self.engine) as conn:
            if batch.id is not None and not self._first_time(conn, batch.id):
                return
            if batch.artifacts:
                conn.execute(
                    self._insert(t.artifacts).on_conflict_do_nothing(index_elements=["id"]),
                    [artifact_row(a) for a in unique_artifacts(batch.artifacts)],
                )
            if batch.runs:
                new_code = self._write_code(conn, batch.runs)
                stmt = self._insert(t.runs)
                update = {c.name: stmt.excluded[c.name] for c in t.runs.columns if c.name not in STORE_OWNED}
                now = utcnow()
                conn.execute(
                    stmt.on_conflict_do_update(index_elements=["id"], set_=update),
                    [
                        {**run_row(r), "updated_at": now, "cancel_requested": False}
                        for r in latest_runs(batch.runs)
                    ],
                )
            if batch.logs:
                conn.execute(t.logs.insert(), [log_row(c) for c in batch.logs])
            if batch.metrics:
                conn.execute(t.metrics.insert(), [dataclasses.asdict(m) for m in batch.metrics])
        self._known_code.update(new_code)  # only once committed: a failed batch wrote none

    def _first_time(self, conn: sa.Connection, batch_id: str) -> bool:
        """Record that batch `batch_id` is applied; False if it was already (then it is skipped)."""
        stmt = self._insert(team.write_batches).on_conflict_do_nothing(index_elements=["id"])
        now = utcnow()
        if not conn.execute(stmt.values(id=batch_id, applied_at=now)).rowcount:
            return False
        self._batches_seen += 1
        if self._batches_seen % 1000 == 0:  # retries come within minutes: a day's ids are plenty
            cutoff = now - dt.timedelta(days=1)
            conn.execute(team.write_batches.delete().where(team.write_batches.c.applied_at < cutoff))
        return True

    def _write_code(self, conn: sa.Connection, runs: Sequence[RunRecord]) -> set[str]:
        new = {r.code_version: r for r in runs if r.code_version and r.code_version not in self._known_code}
        if new:
            rows = [{"version": v, "source": r.source, "docstring": r.docstring} for v, r in new.items()]
            conn.execute(
                self._insert(t.code_versions).on_conflict_do_nothing(index_elements=["version"]), rows
            )
        return set(new)

    # -- runs ------------------------------------------------------------------------------

    def _select_runs(self) -> sa.Select[Any]:
        return sa.select(t.runs, t.code_versions.c.source, t.code_versions.c.docstring).outerjoin(
            t.code_versions, t.runs.c.code_version == t.code_versions.c.version
        )

    def get_run(self, run_id: str) -> RunRecord:
        with self.engine.connect() as conn:
            row = conn.execute(self._select_runs().where(t.runs.c.id == run_id)).mappings().first()
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        return run_from_row(row)

    def get_runs(self, run_ids: Sequence[str]) -> list[RunRecord]:
        found: list[RunRecord] = []
        ids = list(run_ids)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = conn.execute(self._select_runs().where(t.runs.c.id.in_(chunk))).mappings()
                found.extend(run_from_row(row) for row in rows)
        return found

    def _where(self, f: RunFilter) -> list[sa.ColumnElement[bool]]:
        c = t.runs.c
        clauses: list[sa.ColumnElement[bool]] = []
        if f.states is not None:
            clauses.append(c.state.in_([s.value for s in f.states]))
        if f.name is not None:
            clauses.append(_contains(c.name, f.name))
        if f.function is not None:
            clauses.append(c.function == f.function)
        position = sa.func.strpos if self._dialect == "postgresql" else sa.func.instr
        for tag in f.tags:  # the tag with its quotes, case-sensitively (SQLite's LIKE is not)
            clauses.append(position(sa.cast(c.tags, sa.Text), dump_json(tag)) > 0)
        if f.root_only:
            clauses.append(c.parent_id.is_(None))
        if f.root_id is not None:
            clauses.append(c.root_id == f.root_id)
        if f.parent_id is not None:
            clauses.append(c.parent_id == f.parent_id)
        if f.created_after is not None:
            clauses.append(c.created_at >= f.created_after)
        if f.created_before is not None:
            clauses.append(c.created_at < f.created_before)
        if f.artifact is not None:  # ids are 64 hex digits: in the inputs' JSON, only as an artifact id
            clauses.append(
                sa.or_(c.output_id == f.artifact, position(sa.cast(c.inputs, sa.Text), f.artifact) > 0)
            )
        if f.search:
            clauses.append(
                sa.or_(
                    _contains(c.name, f.search),
                    _contains(c.function, f.search),
                    _contains(c.id, f.search),
                    _contains(_tags_text(c.tags), dump_json(f.search)[1:-1]),
                )
            )
        return clauses

    def list_runs(
        self, filter: RunFilter = RunFilter(), *, limit: int = 100, cursor: str | None = None
    ) -> RunPage:
        c = t.runs.c
        query = self._select_runs().where(*self._where(filter))
        if cursor is not None:
            created, run_id = decode_cursor(cursor)
            query = query.where(
                sa.or_(c.created_at < created, sa.and_(c.created_at == created, c.id < run_id))
            )
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            runs = [run_from_row(row) for row in conn.execute(query).mappings()]
        page = runs[:limit]
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(runs) > limit and page else None
        return RunPage(page, next_cursor)

    def changed_runs(self, since: dt.datetime, *, limit: int = 1000) -> list[RunRecord]:
        c = t.runs.c
        query = self._select_runs().where(c.updated_at >= since).order_by(c.updated_at, c.id).limit(limit)
        with self.engine.connect() as conn:
            return [run_from_row(row) for row in conn.execute(query).mappings()]

    def count_runs(self, filter: RunFilter = RunFilter()) -> int:
        query = sa.select(sa.func.count()).select_from(t.runs).where(*self._where(filter))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    @functools.cached_property
    def _find_cached_queries(self) -> tuple[sa.Select[Any], ...]:
        # Built once: a cached step is one lookup (an index seek on key and state), and building
        # the statement cost more than running it. A run that executed first; else (gc deleted
        # it) one that reused such a run's output.
        c = t.runs.c
        return tuple(
            sa.select(c.id, c.output_id)
            .where(c.cache_key == sa.bindparam("cache_key"), c.state == state.value)
            .order_by(sa.func.coalesce(c.ended_at, c.created_at).desc(), c.id.desc())
            .limit(1)
            for state in (RunState.SUCCEEDED, RunState.CACHED)
        )

    def find_cached(self, cache_key: str) -> CacheHit | None:
        with self.engine.connect() as conn:
            for query in self._find_cached_queries:
                row = conn.execute(query, {"cache_key": cache_key}).first()
                if row is not None:
                    return CacheHit(row[0], row[1])
        return None

    # -- artifacts, logs, metrics, notes -----------------------------------------------------

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(t.artifacts).where(t.artifacts.c.id == artifact_id)).mappings().first()
            )
        if row is None:
            raise ArtifactNotFoundError(f"no artifact with id {artifact_id!r}")
        return ArtifactRecord(**row)

    def read_logs(self, run_id: str, *, after_seq: int = 0, limit: int = 10_000) -> list[LogChunk]:
        query = (
            sa.select(t.logs)
            .where(t.logs.c.run_id == run_id, t.logs.c.seq > after_seq)
            .order_by(t.logs.c.seq)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [LogChunk(**row) for row in conn.execute(query).mappings()]

    def read_log_window(self, run_id: str, *, offset: int | None = None, limit: int) -> LogWindow:
        # Sizes and running ends are summed by the database, which also cuts the chunks that
        # overlap the window: at most about `limit` characters of text reach Python.
        size = sa.func.length(t.logs.c.text)
        ends = (
            sa.select(
                t.logs.c.seq, size.label("size"), sa.func.sum(size).over(order_by=t.logs.c.seq).label("end")
            )
            .where(t.logs.c.run_id == run_id)
            .subquery()
        )
        with self.engine.connect() as conn:
            total_query = sa.select(sa.func.coalesce(sa.func.sum(size), 0)).where(t.logs.c.run_id == run_id)
            total = int(conn.execute(total_query).scalar_one())
            start = window_start(total, offset, limit)
            at = ends.c.end - ends.c.size
            skip = sa.case((at < start, start - at), else_=0)
            query = (
                sa.select(
                    t.logs.c.seq,
                    t.logs.c.run_id,
                    t.logs.c.stream,
                    t.logs.c.created_at,
                    sa.func.substr(t.logs.c.text, skip + 1, limit).label("text"),
                    (at + skip).label("at"),
                )
                .join(ends, ends.c.seq == t.logs.c.seq)
                .where(ends.c.end > start, at < start + limit)
                .order_by(t.logs.c.seq)
            )
            rows = [dict(row) for row in conn.execute(query).mappings()]
        return cut_window(
            run_id, total, start, limit, ((int(row.pop("at")), LogChunk(**row)) for row in rows)
        )

    def _subtree(self, conn: sa.Connection, run_id: str) -> sa.Select[tuple[str]]:
        """The ids of `run_id` and of every run nested under it, as a subquery."""
        parent = conn.execute(sa.select(t.runs.c.parent_id).where(t.runs.c.id == run_id)).first()
        if parent is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        if parent[0] is None:  # a root: its pipeline's runs carry its id
            return sa.select(t.runs.c.id).where(t.runs.c.root_id == run_id)
        tree = sa.select(t.runs.c.id).where(t.runs.c.id == run_id).cte("subtree", recursive=True)
        tree = tree.union_all(sa.select(t.runs.c.id).where(t.runs.c.parent_id == tree.c.id))
        return sa.select(tree.c.id)

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
        c = t.logs.c
        with self.engine.connect() as conn:
            matches: list[sa.ColumnElement[bool]] = [c.run_id.in_(self._subtree(conn, run_id))]
            if step is not None:
                matches.append(c.run_id == step)
            if stream is not None:
                matches.append(c.stream == stream)
            if text:
                matches.append(c.text.icontains(text, autoescape=True))
            forward = after_seq is not None
            order: sa.ColumnElement[Any]
            if forward:
                where, order, beyond = c.seq > after_seq, c.seq, c.seq <= after_seq
                if before_seq is not None:  # a range: what lies past it is later output
                    where = sa.and_(where, c.seq < before_seq)
            elif before_seq is not None:
                where, order, beyond = c.seq < before_seq, c.seq.desc(), c.seq >= before_seq
            else:
                where, order, beyond = sa.true(), c.seq.desc(), sa.false()
            # Sizes first (no text): the page is cut to its budget before any text is read.
            sizes = conn.execute(
                sa.select(c.seq, sa.func.length(c.text))
                .where(where, *matches)
                .order_by(order)
                .limit(limit + 1)
            ).all()
            taken = sorted(
                seq for seq, _ in sizes[: page_size((size for _, size in sizes), limit, max_chars)]
            )
            rows = conn.execute(
                sa.select(
                    c.seq,
                    c.run_id,
                    c.stream,
                    c.created_at,
                    sa.func.substr(c.text, 1, max_chars).label("text"),
                )
                .where(c.seq.in_(taken))
                .order_by(c.seq)
            ).mappings()
            chunks = [LogChunk(**row) for row in rows]
            other = conn.execute(sa.select(sa.exists().where(beyond, *matches))).scalar_one()
            past = forward and before_seq is not None
            if (
                past
                and len(sizes) <= limit
                and page_size((s for _, s in sizes), limit, max_chars) == len(sizes)
            ):
                past = conn.execute(sa.select(sa.exists().where(c.seq >= before_seq, *matches))).scalar_one()
            ids = sorted({chunk.run_id for chunk in chunks})
            names = dict(
                conn.execute(sa.select(t.runs.c.id, t.runs.c.name).where(t.runs.c.id.in_(ids))).all()
            )
        more = len(taken) < len(sizes) or bool(past)
        return PipelineLogPage(
            chunks, names, earlier=bool(other) if forward else more, later=more if forward else bool(other)
        )

    def pipeline_log_steps(self, run_id: str, *, limit: int = 1000) -> list[LogStep]:
        c = t.logs.c
        with self.engine.connect() as conn:
            first = sa.func.min(c.seq)
            query = (
                sa.select(c.run_id, t.runs.c.name, sa.func.count(), first)
                .join(t.runs, t.runs.c.id == c.run_id)
                .where(c.run_id.in_(self._subtree(conn, run_id)))
                .group_by(c.run_id, t.runs.c.name)
                .order_by(first)
                .limit(limit)
            )
            return [LogStep(*row) for row in conn.execute(query).all()]

    def read_metrics(self, *, run_id: str | None = None, root_id: str | None = None) -> list[MetricPoint]:
        query = sa.select(t.metrics).order_by(t.metrics.c.id)
        if run_id is not None:
            query = query.where(t.metrics.c.run_id == run_id)
        if root_id is not None:
            query = query.where(t.metrics.c.root_id == root_id)
        with self.engine.connect() as conn:
            return [
                MetricPoint(**{k: v for k, v in row.items() if k != "id"})
                for row in conn.execute(query).mappings()
            ]

    def add_note(self, note: Note) -> Note:
        self.get_run(note.run_id)
        values = {k: v for k, v in dataclasses.asdict(note).items() if k != "id"}
        with write_transaction(self.engine) as conn:
            note_id = conn.execute(t.notes.insert().values(**values).returning(t.notes.c.id)).scalar_one()
        return dataclasses.replace(note, id=int(note_id))

    def notes(self, run_id: str) -> list[Note]:
        query = sa.select(t.notes).where(t.notes.c.run_id == run_id).order_by(t.notes.c.id)
        with self.engine.connect() as conn:
            return [Note(**row) for row in conn.execute(query).mappings()]

    # -- runners, orphans, cancellation ------------------------------------------------------

    def save_runner(self, runner: RunnerRecord) -> None:
        stmt = self._insert(t.runners)
        row = dataclasses.asdict(runner)
        with write_transaction(self.engine) as conn:
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["id"],
                    set_={"heartbeat_at": stmt.excluded.heartbeat_at, "stopped_at": stmt.excluded.stopped_at},
                ),
                row,
            )

    def live_runners(self) -> list[RunnerRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.runners).where(t.runners.c.stopped_at.is_(None))).mappings()
            return [RunnerRecord(**row) for row in rows]

    def unfinished_runners(self) -> list[RunnerRecord]:
        c = t.runs.c
        unfinished = sa.select(c.runner_id).where(c.state.notin_([s.value for s in TERMINAL_STATES]))
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.runners).where(t.runners.c.id.in_(unfinished))).mappings()
            return [RunnerRecord(**row) for row in rows]

    def orphan_runs(self, runner_ids: Iterable[str], at: dt.datetime, reason: str) -> list[str]:
        ids = list(runner_ids)
        if not ids:
            return []
        c = t.runs.c
        unfinished = sa.and_(c.runner_id.in_(ids), c.state.notin_([s.value for s in TERMINAL_STATES]))
        error = dataclasses.asdict(ErrorInfo("RunnerDied", reason, user_error=False))
        with write_transaction(self.engine) as conn:
            marked = list(conn.execute(sa.select(c.id).where(unfinished)).scalars())
            if marked:
                conn.execute(
                    t.runs.update()
                    .where(c.id.in_(marked))
                    .values(state=RunState.ORPHANED.value, ended_at=at, error=error, updated_at=utcnow())
                )
            conn.execute(
                t.runners.update()
                .where(t.runners.c.id.in_(ids))
                .values(stopped_at=sa.func.coalesce(t.runners.c.stopped_at, at))
            )
        return marked

    def request_cancel(self, run_id: str) -> str:
        root_id = self.get_run(run_id).root_id
        with write_transaction(self.engine) as conn:
            conn.execute(
                t.runs.update()
                .where(t.runs.c.id == root_id)
                .values(cancel_requested=True, updated_at=utcnow())
            )
        return root_id

    def cancel_requested(self, root_ids: Sequence[str]) -> set[str]:
        if not root_ids:
            return set()
        c = t.runs.c
        query = sa.select(c.id).where(c.id.in_(list(root_ids)), c.cancel_requested.is_(True))
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    # -- garbage collection ------------------------------------------------------------------

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        ids = list(run_ids)
        with write_transaction(self.engine) as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for table in (t.logs, t.metrics, t.notes):
                    conn.execute(table.delete().where(table.c.run_id.in_(chunk)))
                conn.execute(t.runs.delete().where(t.runs.c.id.in_(chunk)))

    def referenced_artifact_ids(self) -> set[str]:
        ids: set[str] = set()
        with self.engine.connect() as conn:
            for output_id, inputs in conn.execute(sa.select(t.runs.c.output_id, t.runs.c.inputs)):
                if output_id:
                    ids.add(output_id)
                ids.update(ref[0] for ref in (inputs or {}).values())
        return ids

    def delete_artifact_records(self, artifact_ids: Sequence[str]) -> None:
        ids = list(artifact_ids)
        with write_transaction(self.engine) as conn:
            for start in range(0, len(ids), 500):
                conn.execute(t.artifacts.delete().where(t.artifacts.c.id.in_(ids[start : start + 500])))

    def close(self) -> None:
        self.engine.dispose()

    def pipeline_stats(self, *, recent: int = 30) -> list[PipelineStats]:
        c = t.runs.c
        query = (
            sa.select(c.function, c.state, sa.func.count(), sa.func.max(c.created_at))
            .where(c.parent_id.is_(None))
            .group_by(c.function, c.state)
        )
        counts: dict[str, dict[str, int]] = {}
        latest: dict[str, dt.datetime] = {}
        with self.engine.connect() as conn:
            for function, state, count, last in conn.execute(query):
                counts.setdefault(function, {})[state] = int(count)
                latest[function] = max(latest.get(function, last), last)
        ordered = sorted(counts, key=lambda f: latest[f], reverse=True)
        return [
            PipelineStats(
                f, counts[f], self.list_runs(RunFilter(function=f, root_only=True), limit=recent).runs
            )
            for f in ordered
        ]

    def pipeline_outline(self, root_id: str) -> list[RunRecord]:
        c = t.runs.c
        columns = (c.id, c.parent_id, c.function, c.name, c.state, c.created_at, c.started_at, c.ended_at)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(*columns, c.updated_at, c.tags, c.inputs, c.output_id, c.cached_from).where(
                    c.root_id == root_id
                )
            ).all()
        states = {s.value: s for s in RunState}  # a dict lookup is ten times faster than RunState(...)
        return [
            RunRecord(
                id=row[0],
                root_id=root_id,
                parent_id=row[1],
                function=row[2],
                name=row[3],
                state=states[row[4]],
                created_at=row[5],
                started_at=row[6],
                ended_at=row[7],
                updated_at=row[8],
                tags=tuple(row[9] or ()),
                inputs={k: InputRef(ref[0], tuple(ref[1])) for k, ref in (row[10] or {}).items()},
                output_id=row[11],
                cached_from=row[12],
            )
            for row in rows
        ]


# -- row conversion ----------------------------------------------------------------------------


def _contains(column: sa.ColumnElement[Any], part: str) -> sa.ColumnElement[bool]:
    """Case-insensitive substring match, as `loopline.storage.memory` defines it. The same LOWER
    runs on both sides, so non-ASCII text matches itself whatever the backend's LOWER does."""
    pattern = part.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return sa.func.lower(column).contains(sa.func.lower(sa.literal(pattern, sa.Text)), escape="/")


def _tags_text(tags: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The tags' JSON text, `["a", "b"]`, with its brackets and separators replaced by the unit
    separator character (so `<US>a<US>b<US>`): a search for `, ` or `[` finds no tag, and a search
    (written as JSON writes it, so without an unescaped quote) cannot span two tags."""
    text: sa.ColumnElement[Any] = sa.cast(tags, sa.Text)
    for syntax in ('", "', '["', '"]', "[]"):
        text = sa.func.replace(text, syntax, "\x1f")
    return text
