"""`CLStore`: what the continuous-learning layer keeps (datasets, models, aliases, reports,
schedules), and `MemoryCLStore`, its reference implementation.

Every implementation passes the conformance suite in `tests/cl/test_store.py`; the SQL one is
`loopline.cl.sql_store.SqlCLStore`. Versions are numbered by the store, so two writers never
get the same number; alias moves and slot claims are atomic.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Protocol, TypeVar, runtime_checkable

from loopline.cl.errors import (
    AliasMovedError,
    DatasetConflictError,
    DatasetNotFoundError,
    ModelNotFoundError,
    ScheduleNotFoundError,
)
from loopline.cl.records import (
    AliasMove,
    DatasetVersion,
    ModelVersion,
    ReportEntry,
    Schedule,
    Slot,
    SlotState,
)
from loopline.cl.revisions import RecordKind, RevisionCounter
from loopline.errors import UsageError


@runtime_checkable
class CLStore(Protocol):
    # -- datasets ----------------------------------------------------------------------------

    def add_dataset_version(
        self, version: DatasetVersion, *, expected_latest: int | None = None
    ) -> DatasetVersion:
        """Record a new version; the store assigns `version` (the latest + 1) and returns it.
        With `expected_latest` (0: no version yet), only if the latest version is still that
        one, else DatasetConflictError: two writers never silently drop each other's change."""

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """That version (default: the latest), or DatasetNotFoundError."""

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        """Every version of the dataset, oldest first (empty if there is none)."""

    def latest_dataset_versions(self) -> list[DatasetVersion]:
        """The latest version of every dataset, by name."""

    # -- models ------------------------------------------------------------------------------

    def add_model_version(self, version: ModelVersion) -> ModelVersion:
        """Record a new version; the store assigns `version` (the latest + 1) and returns it."""

    def get_model_version(self, name: str, version: int | None = None) -> ModelVersion:
        """That version (default: the latest), or ModelNotFoundError."""

    def model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of the model, oldest first (empty if there is none)."""

    def latest_model_versions(self) -> list[ModelVersion]:
        """The latest version of every model, by name."""

    def aliases(self, name: str) -> dict[str, int]:
        """Alias -> version for the model."""

    def move_alias(self, move: AliasMove) -> AliasMove:
        """Point the alias at `move.version` if it still points at `move.previous` (None: it
        points nowhere yet), and record the move; else AliasMovedError. Returns it with its id."""

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """The moves of the model's aliases (or one alias), oldest first."""

    # -- regression reports ------------------------------------------------------------------

    def save_report(self, entry: ReportEntry) -> None:
        """Index a report (idempotent: the first entry for an id wins)."""

    def get_report(self, report_id: str) -> ReportEntry:
        """The entry, or KeyError (UsageError)."""

    def list_reports(self, *, model: str | None = None, limit: int = 100) -> list[ReportEntry]:
        """Reports, newest first (only those about `model`, if given)."""

    # -- schedules ---------------------------------------------------------------------------

    def add_schedule(self, schedule: Schedule) -> None:
        """Record a new schedule; UsageError if the name is taken."""

    def get_schedule(self, name: str) -> Schedule:
        """The schedule, or ScheduleNotFoundError."""

    def list_schedules(self) -> list[Schedule]:
        """Every schedule, by name."""

    def update_schedule(self, schedule: Schedule) -> None:
        """Replace the schedule of that name (pause, resume); ScheduleNotFoundError if absent."""

    def remove_schedule(self, name: str) -> None:
        """Delete the schedule and its slots; ScheduleNotFoundError if absent."""

    def claim_slot(self, slot: Slot) -> bool:
        """Record the slot unless (schedule, key) is already recorded; True if this call did."""

    def update_slot(
        self,
        schedule: str,
        key: str,
        *,
        state: SlotState,
        run_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Change a recorded slot's state (and run id or detail, when given)."""

    def slots(self, schedule: str, *, limit: int = 100) -> list[Slot]:
        """The schedule's slots, latest due first."""

    # -- revisions --------------------------------------------------------------------------

    def revisions(self) -> dict[str, int]:
        """Kind of record -> a counter that each write of that kind bumps (cl/revisions.py)."""

    # -- garbage collection ------------------------------------------------------------------

    def referenced_artifact_ids(self) -> set[str]:
        """Artifacts that datasets, models, reports and promotions refer to (never collected)."""


def report_matches(entry: ReportEntry, model: str | None) -> bool:
    return model is None or entry.model == model


class MemoryCLStore:
    """A CLStore in dicts behind one lock: for tests and in-memory workspaces."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._datasets: dict[str, list[DatasetVersion]] = {}
        self._models: dict[str, list[ModelVersion]] = {}
        self._aliases: dict[tuple[str, str], int] = {}
        self._moves: list[AliasMove] = []
        self._reports: dict[str, ReportEntry] = {}
        self._schedules: dict[str, Schedule] = {}
        self._slots: dict[tuple[str, str], Slot] = {}
        self._revisions = RevisionCounter()

    # -- datasets ----------------------------------------------------------------------------

    def add_dataset_version(
        self, version: DatasetVersion, *, expected_latest: int | None = None
    ) -> DatasetVersion:
        with self._lock:
            self._revisions.bump(RecordKind.DATASETS)
            versions = self._datasets.setdefault(version.name, [])
            if expected_latest is not None and len(versions) != expected_latest:
                raise DatasetConflictError(
                    dataset_moved_message(version.name, expected_latest, len(versions))
                )
            saved = dataclasses.replace(version, version=len(versions) + 1)
            versions.append(saved)
            return saved

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        with self._lock:
            return _pick(self._datasets.get(name, []), name, version, DatasetNotFoundError, "dataset")

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        with self._lock:
            return list(self._datasets.get(name, []))

    def latest_dataset_versions(self) -> list[DatasetVersion]:
        with self._lock:
            return [self._datasets[name][-1] for name in sorted(self._datasets)]

    # -- models ------------------------------------------------------------------------------

    def add_model_version(self, version: ModelVersion) -> ModelVersion:
        with self._lock:
            self._revisions.bump(RecordKind.MODELS)
            versions = self._models.setdefault(version.name, [])
            saved = dataclasses.replace(version, version=len(versions) + 1)
            versions.append(saved)
            return saved

    def get_model_version(self, name: str, version: int | None = None) -> ModelVersion:
        with self._lock:
            return _pick(self._models.get(name, []), name, version, ModelNotFoundError, "model")

    def model_versions(self, name: str) -> list[ModelVersion]:
        with self._lock:
            return list(self._models.get(name, []))

    def latest_model_versions(self) -> list[ModelVersion]:
        with self._lock:
            return [self._models[name][-1] for name in sorted(self._models)]

    def aliases(self, name: str) -> dict[str, int]:
        with self._lock:
            return {alias: v for (model, alias), v in sorted(self._aliases.items()) if model == name}

    def move_alias(self, move: AliasMove) -> AliasMove:
        with self._lock:
            self._revisions.bump(RecordKind.MODELS)
            self.get_model_version(move.model, move.version)
            current = self._aliases.get((move.model, move.alias))
            if current != move.previous:
                raise AliasMovedError(alias_moved_message(move, current))
            saved = dataclasses.replace(move, id=len(self._moves) + 1)
            self._aliases[(move.model, move.alias)] = move.version
            self._moves.append(saved)
            return saved

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        with self._lock:
            return [m for m in self._moves if m.model == name and (alias is None or m.alias == alias)]

    # -- regression reports ------------------------------------------------------------------

    def save_report(self, entry: ReportEntry) -> None:
        with self._lock:
            self._revisions.bump(RecordKind.REPORTS)
            self._reports.setdefault(entry.id, entry)

    def get_report(self, report_id: str) -> ReportEntry:
        with self._lock:
            try:
                return self._reports[report_id]
            except KeyError:
                raise UsageError(f"no regression report {report_id!r} is recorded") from None

    def list_reports(self, *, model: str | None = None, limit: int = 100) -> list[ReportEntry]:
        with self._lock:
            found = [e for e in self._reports.values() if report_matches(e, model)]
        found.sort(key=lambda e: (e.created_at, e.id), reverse=True)
        return found[:limit]

    # -- schedules ---------------------------------------------------------------------------

    def add_schedule(self, schedule: Schedule) -> None:
        with self._lock:
            self._revisions.bump(RecordKind.SCHEDULES)
            if schedule.name in self._schedules:
                raise UsageError(schedule_exists_message(schedule.name))
            self._schedules[schedule.name] = schedule

    def get_schedule(self, name: str) -> Schedule:
        with self._lock:
            try:
                return self._schedules[name]
            except KeyError:
                raise ScheduleNotFoundError(schedule_missing_message(name)) from None

    def list_schedules(self) -> list[Schedule]:
        with self._lock:
            return [self._schedules[name] for name in sorted(self._schedules)]

    def update_schedule(self, schedule: Schedule) -> None:
        with self._lock:
            self._revisions.bump(RecordKind.SCHEDULES)
            self.get_schedule(schedule.name)
            self._schedules[schedule.name] = schedule

    def remove_schedule(self, name: str) -> None:
        with self._lock:
            self._revisions.bump(RecordKind.SCHEDULES)
            self.get_schedule(name)
            del self._schedules[name]
            for key in [k for k in self._slots if k[0] == name]:
                del self._slots[key]

    def claim_slot(self, slot: Slot) -> bool:
        with self._lock:
            self._revisions.bump(RecordKind.SCHEDULES)
            if (slot.schedule, slot.key) in self._slots:
                return False
            self._slots[(slot.schedule, slot.key)] = slot
            return True

    def update_slot(
        self,
        schedule: str,
        key: str,
        *,
        state: SlotState,
        run_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        with self._lock:
            self._revisions.bump(RecordKind.SCHEDULES)
            slot = self._slots[(schedule, key)]
            self._slots[(schedule, key)] = dataclasses.replace(
                slot,
                state=state,
                run_id=slot.run_id if run_id is None else run_id,
                detail=slot.detail if detail is None else detail,
            )

    def slots(self, schedule: str, *, limit: int = 100) -> list[Slot]:
        with self._lock:
            found = [s for (name, _), s in self._slots.items() if name == schedule]
        found.sort(key=lambda s: (s.due_at, s.fired_at), reverse=True)
        return found[:limit]

    # -- revisions --------------------------------------------------------------------------

    def revisions(self) -> dict[str, int]:
        with self._lock:
            return self._revisions.snapshot()

    # -- garbage collection ------------------------------------------------------------------

    def referenced_artifact_ids(self) -> set[str]:
        with self._lock:
            ids = {v.artifact_id for versions in self._datasets.values() for v in versions}
            ids |= {v.artifact_id for versions in self._models.values() for v in versions}
            ids |= set(self._reports)
            ids |= {m.report_id for m in self._moves if m.report_id}
            return ids


V = TypeVar("V", DatasetVersion, ModelVersion)


def _pick(versions: Sequence[V], name: str, version: int | None, error: type[Exception], what: str) -> V:
    if not versions:
        raise error(not_registered_message(what, name))
    if version is None:
        return versions[-1]
    if 1 <= version <= len(versions):
        return versions[version - 1]
    raise error(missing_version_message(what, name, version, len(versions)))


def not_registered_message(what: str, name: str) -> str:
    command = "datasets" if what == "dataset" else "models"
    return f"no {what} named {name!r} is registered; list them with: loopline {command} ls"


def missing_version_message(what: str, name: str, version: int, latest: int) -> str:
    return f"{what} {name!r} has no version {version} (its versions are 1 to {latest})"


def dataset_moved_message(name: str, expected: int, latest: int) -> str:
    return (
        f"dataset {name!r} is at version {latest}, not {expected} as this change assumed (someone "
        f"saved a version meanwhile): load {name} again, apply the change to it and save, or "
        "save(force=True) to record it anyway"
    )


def alias_moved_message(move: AliasMove, current: int | None) -> str:
    now = "points nowhere" if current is None else f"points at version {current}"
    was = "nowhere" if move.previous is None else f"version {move.previous}"
    return (
        f"{move.model}@{move.alias} {now}, not {was} as this promotion assumed (someone promoted "
        "meanwhile); run the regression test against the new holder and promote again"
    )


def schedule_exists_message(name: str) -> str:
    return f"a schedule named {name!r} exists already; remove it first (loopline schedule remove {name})"


def schedule_missing_message(name: str) -> str:
    return f"no schedule named {name!r}; list them with: loopline schedule ls"
