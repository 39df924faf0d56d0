"""`SqlCLStore`: the CLStore on SQLite or PostgreSQL, in the database of the metadata store.

It shares the engine (and the migrations) of the metadata store: one database, one schema
version. Version and round numbers are assigned inside a write transaction and guarded by the
primary key, so concurrent writers retry instead of colliding; alias moves are compare-and-set.
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

from loopline.cl.store.errors import (
    AliasMovedError,
    DatasetConflictError,
    DatasetNotFoundError,
    InferenceNotFoundError,
    ModelNotFoundError,
    ScheduleNotFoundError,
    TaskNotFoundError,
)
from loopline.cl.store.protocol import (
    alias_moved_message,
    check_task_changes,
    dataset_moved_message,
    decision_refused_message,
    inference_missing_message,
    latest_canonical,
    missing_version_message,
    no_canonical_message,
    not_registered_message,
    round_missing_message,
    schedule_exists_message,
    schedule_missing_message,
    task_missing_message,
)
from loopline.cl.store.records import (
    AliasMove,
    CronTrigger,
    DatasetSource,
    DatasetState,
    DatasetTrigger,
    DatasetVersion,
    Feedback,
    FeedbackKind,
    InferenceQuery,
    InferenceRecord,
    LabelingTask,
    LoopRound,
    ModelVersion,
    QualityControl,
    QueueSettings,
    ReportEntry,
    Schedule,
    Slot,
    SlotState,
    TaskKind,
    TaskState,
    Trigger,
    Webhook,
)
from loopline.cl.store.revisions import RecordKind
from loopline.cl.store.sql_base import SqlBase
from loopline.errors import UsageError
from loopline.storage.sql import cl_tables as t

_CHUNK = 900  # ids per IN (...) list, under SQLite's limit on bound parameters


class SqlCLStore(SqlBase):
    def _numbered(
        self,
        table: sa.Table,
        kind: RecordKind,
        row: dict[str, Any],
        expected_latest: int | None = None,
        latest_of: Any = None,
    ) -> int:
        """Insert `row` as the next version of its name; retried when a concurrent writer took
        the same number (PostgreSQL; SQLite's write lock already serializes writers). With
        `expected_latest`, only if the latest version matching `latest_of` is that one."""

        def attempt(conn: sa.Connection) -> int:
            query = sa.select(sa.func.max(table.c.version)).where(table.c.name == row["name"])
            latest = int(conn.execute(query).scalar() or 0)
            if expected_latest is not None:
                matching = latest
                if latest_of is not None:
                    matching = int(conn.execute(query.where(latest_of)).scalar() or 0)
                if matching != expected_latest:
                    raise DatasetConflictError(dataset_moved_message(row["name"], expected_latest, matching))
            number = latest + 1
            conn.execute(table.insert().values(**{**row, "version": number}))
            return number

        return self._retrying(attempt, kind)

    # -- datasets ----------------------------------------------------------------------------

    def add_dataset_version(
        self, version: DatasetVersion, *, expected_latest: int | None = None
    ) -> DatasetVersion:
        row = {f.name: getattr(version, f.name) for f in dataclasses.fields(version)}
        row["source"] = None if version.source is None else version.source.to_json()
        canonical = t.dataset_versions.c.state == "canonical"
        number = self._numbered(t.dataset_versions, RecordKind.DATASETS, row, expected_latest, canonical)
        return dataclasses.replace(version, version=number)

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        if version is None:
            d = t.dataset_versions
            query = (
                sa.select(d)
                .where(d.c.name == name, d.c.state == "canonical")
                .order_by(d.c.version.desc())
                .limit(1)
            )
            with self.engine.connect() as conn:
                latest = conn.execute(query).mappings().first()
            if latest is not None:
                return _dataset_version(latest)
            versions = self.dataset_versions(name)
            if versions:
                raise DatasetNotFoundError(no_canonical_message(name, versions))
        return _dataset_version(
            self._get_version(t.dataset_versions, name, version, DatasetNotFoundError, "dataset")
        )

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        return [_dataset_version(row) for row in self._versions(t.dataset_versions, name)]

    def latest_dataset_versions(self) -> list[DatasetVersion]:
        canonical = t.dataset_versions.c.state == "canonical"
        return [_dataset_version(row) for row in self._latest(t.dataset_versions, canonical)]

    def decide_dataset_version(
        self, name: str, version: int, *, state: DatasetState, by: str, at: dt.datetime, reason: str
    ) -> DatasetVersion:
        d = t.dataset_versions
        with self.writing(RecordKind.DATASETS) as conn:
            rows = conn.execute(sa.select(d).where(d.c.name == name).with_for_update()).mappings()
            versions = [_dataset_version(row) for row in rows]
            current = next((v for v in versions if v.version == version), None)
            if current is None:
                raise DatasetNotFoundError(
                    missing_version_message(
                        "dataset", name, version, max((v.version for v in versions), default=0)
                    )
                    if versions
                    else not_registered_message("dataset", name)
                )
            latest = latest_canonical(versions)
            refused = decision_refused_message(current, state, None if latest is None else latest.version)
            if refused:
                raise DatasetConflictError(refused)
            changes = {"state": state, "decided_by": by, "decided_at": at, "decision": reason}
            conn.execute(d.update().where(d.c.name == name, d.c.version == version).values(**changes))
        return dataclasses.replace(current, **changes)  # type: ignore[arg-type]

    def _get_version(
        self, table: sa.Table, name: str, version: int | None, error: type[Exception], what: str
    ) -> dict[str, Any]:
        query = sa.select(table).where(table.c.name == name)
        query = (
            query.order_by(table.c.version.desc()).limit(1)
            if version is None
            else query.where(table.c.version == version)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
            if row is not None:
                return dict(row)
            latest = conn.execute(
                sa.select(sa.func.max(table.c.version)).where(table.c.name == name)
            ).scalar()
        if latest is None:
            raise error(not_registered_message(what, name))
        raise error(missing_version_message(what, name, version or 0, int(latest)))

    def _versions(self, table: sa.Table, name: str) -> list[dict[str, Any]]:
        query = sa.select(table).where(table.c.name == name).order_by(table.c.version)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def _latest(self, table: sa.Table, where: Any = None) -> list[dict[str, Any]]:
        newest_query = sa.select(table.c.name, sa.func.max(table.c.version).label("version"))
        if where is not None:
            newest_query = newest_query.where(where)
        newest = newest_query.group_by(table.c.name).subquery()
        query = (
            sa.select(table)
            .join(newest, sa.and_(table.c.name == newest.c.name, table.c.version == newest.c.version))
            .order_by(table.c.name)
        )
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # -- models ------------------------------------------------------------------------------

    def add_model_version(self, version: ModelVersion) -> ModelVersion:
        row = {**dataclasses.asdict(version), "metrics": dict(version.metrics)}
        number = self._numbered(t.model_versions, RecordKind.MODELS, row)
        return dataclasses.replace(version, version=number)

    def get_model_version(self, name: str, version: int | None = None) -> ModelVersion:
        return ModelVersion(**self._get_version(t.model_versions, name, version, ModelNotFoundError, "model"))

    def model_versions(self, name: str) -> list[ModelVersion]:
        return [ModelVersion(**row) for row in self._versions(t.model_versions, name)]

    def latest_model_versions(self) -> list[ModelVersion]:
        return [ModelVersion(**row) for row in self._latest(t.model_versions)]

    def aliases(self, name: str) -> dict[str, int]:
        a = t.model_aliases
        query = sa.select(a.c.alias, a.c.version).where(a.c.model == name).order_by(a.c.alias)
        with self.engine.connect() as conn:
            return {alias: int(version) for alias, version in conn.execute(query)}

    def move_alias(self, move: AliasMove) -> AliasMove:
        self.get_model_version(move.model, move.version)
        a = t.model_aliases
        where = sa.and_(a.c.model == move.model, a.c.alias == move.alias)
        try:
            with self.writing(RecordKind.MODELS) as conn:
                current = conn.execute(sa.select(a.c.version).where(where).with_for_update()).scalar()
                if current != move.previous:
                    raise AliasMovedError(alias_moved_message(move, current))
                if current is None:
                    conn.execute(
                        a.insert().values(
                            model=move.model, alias=move.alias, version=move.version, moved_at=move.moved_at
                        )
                    )
                else:
                    conn.execute(a.update().where(where).values(version=move.version, moved_at=move.moved_at))
                values = {k: v for k, v in dataclasses.asdict(move).items() if k != "id"}
                inserted = conn.execute(t.alias_moves.insert().values(**values)).inserted_primary_key
                move_id = int(inserted[0]) if inserted is not None else 0
        except sa.exc.IntegrityError:  # a concurrent first promotion of the same alias won
            raise AliasMovedError(
                alias_moved_message(move, self.aliases(move.model).get(move.alias))
            ) from None
        return dataclasses.replace(move, id=move_id)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        m = t.alias_moves
        query = sa.select(m).where(m.c.model == name).order_by(m.c.id)
        if alias is not None:
            query = query.where(m.c.alias == alias)
        with self.engine.connect() as conn:
            return [AliasMove(**row) for row in conn.execute(query).mappings()]

    # -- regression reports ------------------------------------------------------------------

    def save_report(self, entry: ReportEntry) -> None:
        with self.writing(RecordKind.REPORTS) as conn:
            conn.execute(
                self._insert(t.regression_reports).on_conflict_do_nothing(index_elements=["id"]),
                dataclasses.asdict(entry),
            )

    def get_report(self, report_id: str) -> ReportEntry:
        r = t.regression_reports
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(r).where(r.c.id == report_id)).mappings().first()
        if row is None:
            raise UsageError(f"no regression report {report_id!r} is recorded")
        return ReportEntry(**row)

    def list_reports(self, *, model: str | None = None, limit: int = 100) -> list[ReportEntry]:
        r = t.regression_reports
        query = sa.select(r).order_by(r.c.created_at.desc(), r.c.id.desc()).limit(limit)
        if model is not None:
            query = query.where(r.c.model == model)
        with self.engine.connect() as conn:
            return [ReportEntry(**row) for row in conn.execute(query).mappings()]

    # -- schedules ---------------------------------------------------------------------------

    def add_schedule(self, schedule: Schedule) -> None:
        try:
            with self.writing(RecordKind.SCHEDULES) as conn:
                conn.execute(t.schedules.insert().values(**_schedule_row(schedule)))
        except sa.exc.IntegrityError:
            raise UsageError(schedule_exists_message(schedule.name)) from None

    def get_schedule(self, name: str) -> Schedule:
        s = t.schedules
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(s).where(s.c.name == name)).mappings().first()
        if row is None:
            raise ScheduleNotFoundError(schedule_missing_message(name))
        return _schedule_from_row(row)

    def list_schedules(self) -> list[Schedule]:
        s = t.schedules
        with self.engine.connect() as conn:
            return [
                _schedule_from_row(row) for row in conn.execute(sa.select(s).order_by(s.c.name)).mappings()
            ]

    def update_schedule(self, schedule: Schedule) -> None:
        s = t.schedules
        with self.writing(RecordKind.SCHEDULES) as conn:
            done = conn.execute(s.update().where(s.c.name == schedule.name).values(**_schedule_row(schedule)))
        if done.rowcount == 0:
            raise ScheduleNotFoundError(schedule_missing_message(schedule.name))

    def remove_schedule(self, name: str) -> None:
        with self.writing(RecordKind.SCHEDULES) as conn:
            done = conn.execute(t.schedules.delete().where(t.schedules.c.name == name))
            conn.execute(t.schedule_slots.delete().where(t.schedule_slots.c.schedule == name))
        if done.rowcount == 0:
            raise ScheduleNotFoundError(schedule_missing_message(name))

    def claim_slot(self, slot: Slot) -> bool:
        s = t.schedule_slots
        stmt = self._insert(s).on_conflict_do_nothing(index_elements=["schedule", "key"]).returning(s.c.key)
        with self.writing(RecordKind.SCHEDULES) as conn:
            return conn.execute(stmt, dataclasses.asdict(slot)).first() is not None

    def update_slot(
        self,
        schedule: str,
        key: str,
        *,
        state: SlotState,
        run_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        s = t.schedule_slots
        values: dict[str, Any] = {"state": state}
        if run_id is not None:
            values["run_id"] = run_id
        if detail is not None:
            values["detail"] = detail
        with self.writing(RecordKind.SCHEDULES) as conn:
            conn.execute(s.update().where(s.c.schedule == schedule, s.c.key == key).values(**values))

    def slots(self, schedule: str, *, limit: int = 100) -> list[Slot]:
        s = t.schedule_slots
        query = (
            sa.select(s)
            .where(s.c.schedule == schedule)
            .order_by(s.c.due_at.desc(), s.c.fired_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [Slot(**row) for row in conn.execute(query).mappings()]

    # -- inferences and feedback -------------------------------------------------------------

    def add_inferences(self, records: Sequence[InferenceRecord]) -> list[str]:
        if not records:
            return []
        i = t.inferences
        stmt = self._insert(i).on_conflict_do_nothing(index_elements=["request_id"]).returning(i.c.request_id)
        rows = [_inference_row(r) for r in records]
        with self.writing(RecordKind.INFERENCES) as conn:
            added = set(conn.execute(stmt, rows).scalars())
            repeats = _repeats(records, added)
            if repeats:  # rare: count them on the first record
                at = sa.bindparam("at", type_=i.c.relogged_at.type)
                bump = (
                    i.update()
                    .where(i.c.request_id == sa.bindparam("rid"))
                    .values(
                        relogged=i.c.relogged + sa.bindparam("times"),
                        relogged_at=sa.case(
                            (sa.or_(i.c.relogged_at.is_(None), i.c.relogged_at < at), at),
                            else_=i.c.relogged_at,
                        ),
                    )
                )
                conn.execute(
                    bump, [{"rid": rid, "times": n, "at": when} for rid, (n, when) in repeats.items()]
                )
        return [rid for rid in dict.fromkeys(r.request_id for r in records) if rid in added]

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
        if q.relogged_since is not None:
            clauses.append(i.c.relogged_at >= q.relogged_since)
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
        with self.writing(RecordKind.INFERENCES) as conn:
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
        with self.writing(RecordKind.LABELING) as conn:
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
        kinds: Collection[TaskKind] | None = None,
        labeler: str | None = None,
        proposed_to: str | None = None,
    ) -> list[LabelingTask]:
        lt = t.labeling_tasks
        stmt = sa.select(lt).where(lt.c.queue == queue).order_by(*self._queue_order()).offset(offset)
        if states is not None:
            stmt = stmt.where(lt.c.state.in_(list(states)))
        if kinds is not None:
            stmt = stmt.where(lt.c.kind.in_(list(kinds)))
        if labeler is not None:
            stmt = stmt.where(sa.or_(lt.c.labeled_by == labeler, lt.c.claimed_by == labeler))
        if proposed_to is not None:
            stmt = stmt.where(lt.c.proposed_to == proposed_to)
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

    def queued_fingerprints(self, queue: str, fingerprints: Collection[str]) -> set[str]:
        lt = t.labeling_tasks
        wanted = [f for f in dict.fromkeys(fingerprints) if f]
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                stmt = sa.select(lt.c.fingerprint).where(lt.c.queue == queue, lt.c.fingerprint.in_(chunk))
                found.update(conn.execute(stmt).scalars())
        return found

    def claim_tasks(
        self, queue: str, labeler: str, *, limit: int, now: dt.datetime, lease_until: dt.datetime
    ) -> list[LabelingTask]:
        lt = t.labeling_tasks
        free = sa.or_(lt.c.state == "open", sa.and_(lt.c.state == "claimed", lt.c.lease_until < now))
        allowed = sa.or_(lt.c.excluded_labeler.is_(None), lt.c.excluded_labeler != labeler)
        pick = (
            sa.select(lt.c.id)
            .where(lt.c.queue == queue, free, allowed)
            .order_by(*self._queue_order())
            .limit(limit)
        )
        if self._dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        with self.writing(RecordKind.LABELING) as conn:
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
        with self.writing(RecordKind.LABELING) as conn:
            ids = list(conn.execute(sa.select(lt.c.id).where(*where).with_for_update()).scalars())
            if not ids:
                return []
            conn.execute(lt.update().where(lt.c.id.in_(ids)).values(**changes))
            rows = conn.execute(sa.select(lt).where(lt.c.id.in_(ids)).order_by(lt.c.id)).mappings()
            return [LabelingTask(**row) for row in rows]

    def save_queue_settings(self, settings: QueueSettings) -> None:
        q = t.labeling_queues
        row = _queue_row(settings)
        stmt = self._insert(q).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[q.c.queue], set_={k: v for k, v in row.items() if k != "queue"}
        )
        with self.writing(RecordKind.LABELING) as conn:
            conn.execute(stmt)

    def queue_settings(self, queue: str) -> QueueSettings | None:
        q = t.labeling_queues
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(q).where(q.c.queue == queue)).mappings().first()
        return None if row is None else _queue_settings(row)

    # -- loop rounds -------------------------------------------------------------------------

    def add_round(self, loop_round: LoopRound) -> LoopRound:
        r = t.loop_rounds

        def attempt(conn: sa.Connection) -> LoopRound:
            latest = conn.execute(sa.select(sa.func.max(r.c.round)).where(r.c.loop == loop_round.loop))
            saved = dataclasses.replace(loop_round, round=int(latest.scalar() or 0) + 1)
            conn.execute(r.insert().values(**_round_row(saved)))
            return saved

        return self._retrying(attempt, RecordKind.LOOPS)

    def update_round(self, loop_round: LoopRound) -> None:
        r = t.loop_rounds
        where = sa.and_(r.c.loop == loop_round.loop, r.c.round == loop_round.round)
        with self.writing(RecordKind.LOOPS) as conn:
            done = conn.execute(r.update().where(where).values(**_round_row(loop_round)))
        if done.rowcount == 0:
            raise UsageError(round_missing_message(loop_round))

    def rounds(self, loop: str) -> list[LoopRound]:
        r = t.loop_rounds
        stmt = sa.select(r).where(r.c.loop == loop).order_by(r.c.round)
        with self.engine.connect() as conn:
            return [_round(row) for row in conn.execute(stmt).mappings()]

    def loops(self) -> list[LoopRound]:
        r = t.loop_rounds
        newest = sa.select(r.c.loop, sa.func.max(r.c.round).label("round")).group_by(r.c.loop).subquery()
        stmt = (
            sa.select(r)
            .join(newest, sa.and_(r.c.loop == newest.c.loop, r.c.round == newest.c.round))
            .order_by(r.c.loop)
        )
        with self.engine.connect() as conn:
            return [_round(row) for row in conn.execute(stmt).mappings()]

    # -- garbage collection ------------------------------------------------------------------

    def referenced_artifact_ids(self) -> set[str]:
        queries = [
            sa.select(t.dataset_versions.c.artifact_id),
            sa.select(t.model_versions.c.artifact_id),
            sa.select(t.regression_reports.c.id),
            sa.select(t.alias_moves.c.report_id).where(t.alias_moves.c.report_id.is_not(None)),
            sa.select(t.inferences.c.batch_id).distinct(),
            sa.select(t.labeling_tasks.c.artifact_id).distinct(),
            sa.select(t.loop_rounds.c.report_id).where(t.loop_rounds.c.report_id.is_not(None)),
        ]
        sources = sa.select(t.dataset_versions.c.source).where(t.dataset_versions.c.source.is_not(None))
        with self.engine.connect() as conn:
            ids = {artifact_id for query in queries for artifact_id in conn.execute(query).scalars()}
            ids.update(source["snapshot_id"] for source in conn.execute(sources).scalars() if source)
        return ids


def _dataset_version(row: Any) -> DatasetVersion:
    source = row["source"]
    return DatasetVersion(**{**row, "source": None if source is None else DatasetSource.from_json(source)})


def _schedule_row(schedule: Schedule) -> dict[str, Any]:
    trigger: dict[str, Any] = {"kind": "cron" if isinstance(schedule.trigger, CronTrigger) else "dataset"}
    trigger.update(dataclasses.asdict(schedule.trigger))
    return {
        "name": schedule.name,
        "target": schedule.target,
        "params": list(schedule.params),
        "trigger": trigger,
        "created_at": schedule.created_at,
        "created_by": schedule.created_by,
        "active_since": schedule.active_since,
        "cwd": schedule.cwd,
        "paused": schedule.paused,
        "webhooks": [dataclasses.asdict(w) for w in schedule.webhooks],
    }


def _trigger_from_json(data: dict[str, Any]) -> Trigger:
    fields = {k: v for k, v in data.items() if k != "kind"}
    return CronTrigger(**fields) if data["kind"] == "cron" else DatasetTrigger(**fields)


def _schedule_from_row(row: Any) -> Schedule:
    return Schedule(
        name=row["name"],
        target=row["target"],
        params=tuple(row["params"]),
        trigger=_trigger_from_json(row["trigger"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        active_since=row["active_since"],
        cwd=row["cwd"],
        paused=bool(row["paused"]),
        webhooks=tuple(Webhook(**w) for w in row["webhooks"]),
    )


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
    row["blamed"] = dict(loop_round.blamed)
    row["quality"] = {name: dict(values) for name, values in loop_round.quality.items()}
    return row


def _round(row: Any) -> LoopRound:
    return LoopRound(**{**row, "blamed": row["blamed"] or {}, "quality": row["quality"] or {}})


def _repeats(
    records: Sequence[InferenceRecord], added: Collection[str]
) -> dict[str, tuple[int, dt.datetime]]:
    """Request id -> (times it was logged again in `records`, the latest of those times): every
    record of an id recorded before, and every record after the first of an id added now."""
    repeats: dict[str, tuple[int, dt.datetime]] = {}
    first: set[str] = set()
    for record in records:
        rid = record.request_id
        if rid in added and rid not in first:
            first.add(rid)
            continue
        times, latest = repeats.get(rid, (0, record.logged_at))
        repeats[rid] = (times + 1, max(latest, record.logged_at))
    return repeats


def _queue_row(settings: QueueSettings) -> dict[str, Any]:
    quality = settings.quality
    return {
        "queue": settings.queue,
        "dataset": settings.dataset,
        "review": settings.review,
        "agreement": quality.agreement,
        "gold": quality.gold,
        "gold_share": quality.gold_share,
        "min_accuracy": quality.min_accuracy,
        "min_gold": quality.min_gold,
        "updated_at": settings.updated_at,
        "updated_by": settings.updated_by,
        "label_type": settings.label_type,
        "labels": list(settings.labels),
    }


def _queue_settings(row: Any) -> QueueSettings:
    quality = QualityControl(
        agreement=row["agreement"],
        gold=row["gold"],
        gold_share=row["gold_share"],
        min_accuracy=row["min_accuracy"],
        min_gold=row["min_gold"],
    )
    return QueueSettings(
        row["queue"],
        row["dataset"],
        bool(row["review"]),
        quality,
        row["updated_at"],
        row["updated_by"],
        row["label_type"],
        tuple(row["labels"]),
    )
