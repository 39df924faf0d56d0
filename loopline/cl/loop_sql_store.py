"""`SqlLoopStore`: the LoopStore on SQLite or PostgreSQL, in the database of the other stores.

Inference rows are inserted in one statement per batch, duplicates of a recorded request id
skipped by the database (ON CONFLICT DO NOTHING). Task claims and state changes are
compare-and-set inside write transactions (BEGIN IMMEDIATE on SQLite, row locks with SKIP LOCKED
on PostgreSQL), so concurrent labelers never get or overwrite each other's tasks.
"""

from __future__ import annotations

import array
import dataclasses
import datetime as dt
import sys
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from loopline.cl.loop_errors import InferenceNotFoundError, TaskNotFoundError
from loopline.cl.loop_records import (
    Feedback,
    FeedbackKind,
    InferenceQuery,
    InferenceRecord,
    LabelingTask,
    LoopRound,
    TaskState,
)
from loopline.cl.loop_store import (
    check_task_changes,
    inference_missing_message,
    round_missing_message,
    task_missing_message,
)
from loopline.cl.revisions import RecordKind
from loopline.cl.sql_revisions import read_revisions, writing
from loopline.errors import UsageError
from loopline.storage.sql import loop_tables as t
from loopline.storage.sql.database import create_sql_engine, upgrade

_CHUNK = 900  # ids per IN (...) list, under SQLite's limit on bound parameters
_ATTEMPTS = 5


class SqlLoopStore:
    def __init__(self, url_or_engine: str | sa.Engine, *, migrate: bool = True) -> None:
        self.engine = create_sql_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        self._dialect = self.engine.dialect.name
        if migrate:
            upgrade(self.engine)

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    # -- inferences and feedback -------------------------------------------------------------

    def add_inferences(self, records: Sequence[InferenceRecord]) -> list[str]:
        if not records:
            return []
        i = t.inferences
        stmt = self._insert(i).on_conflict_do_nothing(index_elements=["request_id"]).returning(i.c.request_id)
        rows = [_inference_row(r) for r in records]
        with writing(self.engine, RecordKind.INFERENCES) as conn:
            added = set(conn.execute(stmt, rows).scalars())
        return [r.request_id for r in records if r.request_id in added]

    def get_inference(self, request_id: str) -> InferenceRecord:
        i = t.inferences
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(i).where(i.c.request_id == request_id)).mappings().first()
        if row is None:
            raise InferenceNotFoundError(inference_missing_message(request_id))
        return _inference(row)

    def known_request_ids(self, request_ids: Collection[str]) -> set[str]:
        i = t.inferences
        wanted = list(dict.fromkeys(request_ids))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                found.update(
                    conn.execute(sa.select(i.c.request_id).where(i.c.request_id.in_(chunk))).scalars()
                )
        return found

    def _where(self, query: InferenceQuery) -> list[Any]:
        i, f = t.inferences, t.inference_feedback
        q = query
        clauses: list[Any] = []
        if q.model is not None:
            clauses.append(i.c.model == q.model)
        if q.model_version is not None:
            clauses.append(i.c.model_version == q.model_version)
        if q.since is not None:
            clauses.append(i.c.logged_at >= q.since)
        if q.until is not None:
            clauses.append(i.c.logged_at < q.until)
        if q.min_confidence is not None:
            clauses.append(i.c.confidence >= q.min_confidence)
        if q.max_confidence is not None:
            clauses.append(i.c.confidence <= q.max_confidence)
        if q.request_ids is not None:
            clauses.append(i.c.request_id.in_(list(q.request_ids)))
        if q.feedback is not None:
            has = sa.exists().where(f.c.request_id == i.c.request_id)
            if q.feedback not in ("any", "none"):
                has = has.where(f.c.kind == q.feedback)
            clauses.append(~has if q.feedback == "none" else has)
        return clauses

    def list_inferences(
        self, query: InferenceQuery = InferenceQuery(), *, limit: int | None = 100, offset: int = 0
    ) -> list[InferenceRecord]:
        i = t.inferences
        stmt = (
            sa.select(i)
            .where(*self._where(query))
            .order_by(i.c.logged_at.desc(), i.c.request_id.desc())
            .offset(offset)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [_inference(row) for row in conn.execute(stmt).mappings()]

    def count_inferences(self, query: InferenceQuery = InferenceQuery()) -> int:
        stmt = sa.select(sa.func.count()).select_from(t.inferences).where(*self._where(query))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    def add_feedback(self, items: Sequence[Feedback]) -> list[Feedback]:
        if not items:
            return []
        missing = {f.request_id for f in items} - self.known_request_ids({f.request_id for f in items})
        if missing:
            raise InferenceNotFoundError(inference_missing_message(sorted(missing)[0]))
        f = t.inference_feedback
        saved = []
        with writing(self.engine, RecordKind.INFERENCES) as conn:
            for item in items:
                values = {k: v for k, v in dataclasses.asdict(item).items() if k != "id"}
                inserted = conn.execute(f.insert().values(**values)).inserted_primary_key
                saved.append(dataclasses.replace(item, id=int(inserted[0]) if inserted is not None else 0))
        return saved

    def list_feedback(
        self,
        *,
        request_ids: Collection[str] | None = None,
        kind: FeedbackKind | None = None,
        limit: int | None = 100,
    ) -> list[Feedback]:
        f = t.inference_feedback
        clauses: list[Any] = []
        if kind is not None:
            clauses.append(f.c.kind == kind)
        if request_ids is not None:
            wanted = list(dict.fromkeys(request_ids))
            if not wanted:
                return []
            found: list[Feedback] = []
            with self.engine.connect() as conn:
                for start in range(0, len(wanted), _CHUNK):
                    stmt = sa.select(f).where(*clauses, f.c.request_id.in_(wanted[start : start + _CHUNK]))
                    found += [Feedback(**row) for row in conn.execute(stmt).mappings()]
            found.sort(key=lambda item: item.id, reverse=True)
            return found if limit is None else found[:limit]
        stmt = sa.select(f).where(*clauses).order_by(f.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [Feedback(**row) for row in conn.execute(stmt).mappings()]

    # -- labeling tasks ----------------------------------------------------------------------

    def add_tasks(self, tasks: Sequence[LabelingTask]) -> list[LabelingTask]:
        if not tasks:
            return []
        lt = t.labeling_tasks
        stmt = self._insert(lt).on_conflict_do_nothing(index_elements=["queue", "key"]).returning(lt.c.id)
        added = []
        with writing(self.engine, RecordKind.LABELING) as conn:
            for task in tasks:
                values = {k: v for k, v in dataclasses.asdict(task).items() if k != "id"}
                task_id = conn.execute(stmt, values).scalar()
                if task_id is not None:
                    added.append(dataclasses.replace(task, id=int(task_id)))
        return added

    def get_task(self, task_id: int) -> LabelingTask:
        lt = t.labeling_tasks
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(lt).where(lt.c.id == task_id)).mappings().first()
        if row is None:
            raise TaskNotFoundError(task_missing_message(task_id))
        return LabelingTask(**row)

    def _queue_order(self) -> list[Any]:
        lt = t.labeling_tasks
        return [lt.c.skips, lt.c.score.desc(), lt.c.id]

    def list_tasks(
        self,
        queue: str,
        *,
        states: Collection[TaskState] | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[LabelingTask]:
        lt = t.labeling_tasks
        stmt = sa.select(lt).where(lt.c.queue == queue).order_by(*self._queue_order()).offset(offset)
        if states is not None:
            stmt = stmt.where(lt.c.state.in_(list(states)))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [LabelingTask(**row) for row in conn.execute(stmt).mappings()]

    def task_counts(self, queue: str) -> dict[str, int]:
        lt = t.labeling_tasks
        stmt = sa.select(lt.c.state, sa.func.count()).where(lt.c.queue == queue).group_by(lt.c.state)
        with self.engine.connect() as conn:
            return {state: int(n) for state, n in conn.execute(stmt)}

    def queues(self) -> list[str]:
        lt = t.labeling_tasks
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(lt.c.queue).distinct().order_by(lt.c.queue)).scalars())

    def queued_keys(self, queue: str, keys: Collection[str]) -> set[str]:
        lt = t.labeling_tasks
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                stmt = sa.select(lt.c.key).where(lt.c.queue == queue, lt.c.key.in_(chunk))
                found.update(conn.execute(stmt).scalars())
        return found

    def claim_tasks(
        self, queue: str, labeler: str, *, limit: int, now: dt.datetime, lease_until: dt.datetime
    ) -> list[LabelingTask]:
        lt = t.labeling_tasks
        free = sa.or_(lt.c.state == "open", sa.and_(lt.c.state == "claimed", lt.c.lease_until < now))
        pick = sa.select(lt.c.id).where(lt.c.queue == queue, free).order_by(*self._queue_order()).limit(limit)
        if self._dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        with writing(self.engine, RecordKind.LABELING) as conn:
            ids = list(conn.execute(pick).scalars())
            if not ids:
                return []
            values = {"state": "claimed", "claimed_by": labeler, "lease_until": lease_until}
            conn.execute(lt.update().where(lt.c.id.in_(ids)).values(**values))
            rows = conn.execute(sa.select(lt).where(lt.c.id.in_(ids)).order_by(*self._queue_order()))
            return [LabelingTask(**row) for row in rows.mappings()]

    def transition_tasks(
        self,
        task_ids: Sequence[int],
        *,
        from_states: Collection[TaskState],
        changes: Mapping[str, Any],
        holder: str | None = None,
    ) -> list[LabelingTask]:
        check_task_changes(changes)
        if not task_ids:
            return []
        lt = t.labeling_tasks
        where: list[Any] = [lt.c.id.in_(list(task_ids)), lt.c.state.in_(list(from_states))]
        if holder is not None:
            where.append(lt.c.claimed_by == holder)
        with writing(self.engine, RecordKind.LABELING) as conn:
            ids = list(conn.execute(sa.select(lt.c.id).where(*where).with_for_update()).scalars())
            if not ids:
                return []
            conn.execute(lt.update().where(lt.c.id.in_(ids)).values(**changes))
            rows = conn.execute(sa.select(lt).where(lt.c.id.in_(ids)).order_by(lt.c.id)).mappings()
            return [LabelingTask(**row) for row in rows]

    # -- loop rounds -------------------------------------------------------------------------

    def add_round(self, loop_round: LoopRound) -> LoopRound:
        r = t.loop_rounds
        for tries in range(_ATTEMPTS):
            try:
                with writing(self.engine, RecordKind.LOOPS) as conn:
                    latest = conn.execute(
                        sa.select(sa.func.max(r.c.round)).where(r.c.loop == loop_round.loop)
                    )
                    saved = dataclasses.replace(loop_round, round=int(latest.scalar() or 0) + 1)
                    conn.execute(r.insert().values(**_round_row(saved)))
                    return saved
            except sa.exc.IntegrityError:  # a concurrent round took the number (PostgreSQL)
                if tries == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def update_round(self, loop_round: LoopRound) -> None:
        r = t.loop_rounds
        where = sa.and_(r.c.loop == loop_round.loop, r.c.round == loop_round.round)
        with writing(self.engine, RecordKind.LOOPS) as conn:
            done = conn.execute(r.update().where(where).values(**_round_row(loop_round)))
        if done.rowcount == 0:
            raise UsageError(round_missing_message(loop_round))

    def rounds(self, loop: str) -> list[LoopRound]:
        r = t.loop_rounds
        stmt = sa.select(r).where(r.c.loop == loop).order_by(r.c.round)
        with self.engine.connect() as conn:
            return [LoopRound(**row) for row in conn.execute(stmt).mappings()]

    def loops(self) -> list[LoopRound]:
        r = t.loop_rounds
        newest = sa.select(r.c.loop, sa.func.max(r.c.round).label("round")).group_by(r.c.loop).subquery()
        stmt = (
            sa.select(r)
            .join(newest, sa.and_(r.c.loop == newest.c.loop, r.c.round == newest.c.round))
            .order_by(r.c.loop)
        )
        with self.engine.connect() as conn:
            return [LoopRound(**row) for row in conn.execute(stmt).mappings()]

    # -- revisions and garbage collection -----------------------------------------------------

    def revisions(self) -> dict[str, int]:
        return read_revisions(self.engine)

    def referenced_artifact_ids(self) -> set[str]:
        queries = [
            sa.select(t.inferences.c.batch_id).distinct(),
            sa.select(t.labeling_tasks.c.artifact_id).distinct(),
            sa.select(t.loop_rounds.c.report_id).where(t.loop_rounds.c.report_id.is_not(None)),
        ]
        with self.engine.connect() as conn:
            return {artifact_id for query in queries for artifact_id in conn.execute(query).scalars()}


def _inference_row(record: InferenceRecord) -> dict[str, Any]:
    return {
        "request_id": record.request_id,
        "model": record.model,
        "model_version": record.model_version,
        "alias": record.alias,
        "logged_at": record.logged_at,
        "prediction": record.prediction,
        "confidence": record.confidence,
        "scores": None if record.scores is None else pack_scores(record.scores),
        "batch_id": record.batch_id,
        "display": record.display,
        "metadata": dict(record.metadata) or None,
    }


def _inference(row: Any) -> InferenceRecord:
    scores = None if row["scores"] is None else unpack_scores(row["scores"])
    return InferenceRecord(**{**row, "scores": scores, "metadata": row["metadata"] or {}})


def pack_scores(scores: Sequence[float]) -> bytes:
    """Scores as float64 little-endian bytes: exact, and cheaper than formatting floats as text."""
    packed = array.array("d", scores)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack_scores(data: bytes) -> tuple[float, ...]:
    packed = array.array("d")
    packed.frombytes(bytes(data))
    if sys.byteorder == "big":
        packed.byteswap()
    return tuple(packed)


def _round_row(loop_round: LoopRound) -> dict[str, Any]:
    row = dataclasses.asdict(loop_round)
    row["metrics"] = dict(loop_round.metrics)
    row["scenarios"] = {name: dict(values) for name, values in loop_round.scenarios.items()}
    return row
