"""`SqlCLStore`: the CLStore on SQLite or PostgreSQL, next to the engine's tables.

It shares the engine (and the migrations) of the metadata store: one database, one schema
version. Version numbers are assigned inside a write transaction and guarded by the primary key,
so concurrent writers retry instead of colliding; alias moves are compare-and-set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from loopline.cl.errors import (
    AliasMovedError,
    DatasetConflictError,
    DatasetNotFoundError,
    ModelNotFoundError,
    ScheduleNotFoundError,
)
from loopline.cl.records import (
    AliasMove,
    CronTrigger,
    DatasetTrigger,
    DatasetVersion,
    ModelVersion,
    ReportEntry,
    Schedule,
    Slot,
    SlotState,
    Trigger,
    Webhook,
)
from loopline.cl.revisions import RecordKind
from loopline.cl.sql_revisions import read_revisions, writing
from loopline.cl.store import (
    alias_moved_message,
    dataset_moved_message,
    missing_version_message,
    not_registered_message,
    schedule_exists_message,
    schedule_missing_message,
)
from loopline.errors import UsageError
from loopline.storage.sql import cl_tables as t
from loopline.storage.sql.database import create_sql_engine, upgrade

R = TypeVar("R")
_ATTEMPTS = 5


class SqlCLStore:
    def __init__(self, url_or_engine: str | sa.Engine, *, migrate: bool = True) -> None:
        self.engine = create_sql_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        self._dialect = self.engine.dialect.name
        if migrate:
            upgrade(self.engine)

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    def _numbered(
        self, table: sa.Table, kind: RecordKind, row: dict[str, Any], expected_latest: int | None = None
    ) -> int:
        """Insert `row` as the next version of its name; retried when a concurrent writer took
        the same number (PostgreSQL; SQLite's write lock already serializes writers)."""

        def attempt(conn: sa.Connection) -> int:
            query = sa.select(sa.func.max(table.c.version)).where(table.c.name == row["name"])
            latest = int(conn.execute(query).scalar() or 0)
            if expected_latest is not None and latest != expected_latest:
                raise DatasetConflictError(dataset_moved_message(row["name"], expected_latest, latest))
            number = latest + 1
            conn.execute(table.insert().values(**{**row, "version": number}))
            return number

        return self._retrying(attempt, kind)

    def _retrying(self, attempt: Callable[[sa.Connection], R], kind: RecordKind) -> R:
        for tries in range(_ATTEMPTS):
            try:
                with writing(self.engine, kind) as conn:
                    return attempt(conn)
            except sa.exc.IntegrityError:
                if tries == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    # -- datasets ----------------------------------------------------------------------------

    def add_dataset_version(
        self, version: DatasetVersion, *, expected_latest: int | None = None
    ) -> DatasetVersion:
        row = dataclasses.asdict(version)
        number = self._numbered(t.dataset_versions, RecordKind.DATASETS, row, expected_latest)
        return dataclasses.replace(version, version=number)

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        row = self._get_version(t.dataset_versions, name, version, DatasetNotFoundError, "dataset")
        return DatasetVersion(**row)

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        return [DatasetVersion(**row) for row in self._versions(t.dataset_versions, name)]

    def latest_dataset_versions(self) -> list[DatasetVersion]:
        return [DatasetVersion(**row) for row in self._latest(t.dataset_versions)]

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

    def _latest(self, table: sa.Table) -> list[dict[str, Any]]:
        newest = (
            sa.select(table.c.name, sa.func.max(table.c.version).label("version"))
            .group_by(table.c.name)
            .subquery()
        )
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
            with writing(self.engine, RecordKind.MODELS) as conn:
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
        with writing(self.engine, RecordKind.REPORTS) as conn:
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
            with writing(self.engine, RecordKind.SCHEDULES) as conn:
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
        with writing(self.engine, RecordKind.SCHEDULES) as conn:
            done = conn.execute(s.update().where(s.c.name == schedule.name).values(**_schedule_row(schedule)))
        if done.rowcount == 0:
            raise ScheduleNotFoundError(schedule_missing_message(schedule.name))

    def remove_schedule(self, name: str) -> None:
        with writing(self.engine, RecordKind.SCHEDULES) as conn:
            done = conn.execute(t.schedules.delete().where(t.schedules.c.name == name))
            conn.execute(t.schedule_slots.delete().where(t.schedule_slots.c.schedule == name))
        if done.rowcount == 0:
            raise ScheduleNotFoundError(schedule_missing_message(name))

    def claim_slot(self, slot: Slot) -> bool:
        s = t.schedule_slots
        stmt = self._insert(s).on_conflict_do_nothing(index_elements=["schedule", "key"]).returning(s.c.key)
        with writing(self.engine, RecordKind.SCHEDULES) as conn:
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
        with writing(self.engine, RecordKind.SCHEDULES) as conn:
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

    # -- revisions and garbage collection -----------------------------------------------------

    def revisions(self) -> dict[str, int]:
        return read_revisions(self.engine)

    def referenced_artifact_ids(self) -> set[str]:
        queries = [
            sa.select(t.dataset_versions.c.artifact_id),
            sa.select(t.model_versions.c.artifact_id),
            sa.select(t.regression_reports.c.id),
            sa.select(t.alias_moves.c.report_id).where(t.alias_moves.c.report_id.is_not(None)),
        ]
        with self.engine.connect() as conn:
            return {artifact_id for query in queries for artifact_id in conn.execute(query).scalars()}


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
