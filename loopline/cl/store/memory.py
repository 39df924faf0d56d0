"""`MemoryCLStore`: the reference implementation of `CLStore`, in dicts behind one lock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

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
    report_matches,
    round_missing_message,
    schedule_exists_message,
    schedule_missing_message,
    task_missing_message,
)
from loopline.cl.store.records import (
    AliasMove,
    DatasetState,
    DatasetVersion,
    Feedback,
    FeedbackKind,
    InferenceQuery,
    InferenceRecord,
    LabelingTask,
    LoopRound,
    ModelVersion,
    QueueSettings,
    ReportEntry,
    Schedule,
    Slot,
    SlotState,
    TaskKind,
    TaskState,
)
from loopline.cl.store.revisions import RecordKind, RevisionCounter
from loopline.errors import UsageError


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

        self._inferences: dict[str, InferenceRecord] = {}
        self._feedback: list[Feedback] = []
        self._tasks: dict[int, LabelingTask] = {}
        self._task_keys: dict[tuple[str, str], int] = {}
        self._rounds: dict[str, list[LoopRound]] = {}
        self._queue_settings: dict[str, QueueSettings] = {}
        self._revisions = RevisionCounter()

    # -- datasets ----------------------------------------------------------------------------

    def add_dataset_version(
        self, version: DatasetVersion, *, expected_latest: int | None = None
    ) -> DatasetVersion:
        with self._lock:
            self._revisions.bump(RecordKind.DATASETS)
            versions = self._datasets.setdefault(version.name, [])
            latest = latest_canonical(versions)
            current = 0 if latest is None else latest.version
            if expected_latest is not None and current != expected_latest:
                raise DatasetConflictError(dataset_moved_message(version.name, expected_latest, current))
            saved = dataclasses.replace(version, version=len(versions) + 1)
            versions.append(saved)
            return saved

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        with self._lock:
            versions = self._datasets.get(name, [])
            if version is None and versions:
                latest = latest_canonical(versions)
                if latest is None:
                    raise DatasetNotFoundError(no_canonical_message(name, versions))
                return latest
            return _pick(versions, name, version, DatasetNotFoundError, "dataset")

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        with self._lock:
            return list(self._datasets.get(name, []))

    def latest_dataset_versions(self) -> list[DatasetVersion]:
        with self._lock:
            found = [latest_canonical(self._datasets[name]) for name in sorted(self._datasets)]
            return [v for v in found if v is not None]

    def decide_dataset_version(
        self, name: str, version: int, *, state: DatasetState, by: str, at: dt.datetime, reason: str
    ) -> DatasetVersion:
        with self._lock:
            self._revisions.bump(RecordKind.DATASETS)
            current = self.get_dataset_version(name, version)
            latest = latest_canonical(self._datasets[name])
            refused = decision_refused_message(current, state, None if latest is None else latest.version)
            if refused:
                raise DatasetConflictError(refused)
            decided = dataclasses.replace(current, state=state, decided_by=by, decided_at=at, decision=reason)
            self._datasets[name][version - 1] = decided
            return decided

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

    # -- inferences and feedback -------------------------------------------------------------

    def add_inferences(self, records: Sequence[InferenceRecord]) -> list[str]:
        with self._lock:
            self._revisions.bump(RecordKind.INFERENCES)
            added = []
            for record in records:
                first = self._inferences.get(record.request_id)
                if first is None:
                    self._inferences[record.request_id] = record
                    added.append(record.request_id)
                else:
                    latest = (
                        record.logged_at
                        if first.relogged_at is None
                        else max(first.relogged_at, record.logged_at)
                    )
                    self._inferences[record.request_id] = dataclasses.replace(
                        first, relogged=first.relogged + 1, relogged_at=latest
                    )
            return added

    def get_inference(self, request_id: str) -> InferenceRecord:
        with self._lock:
            try:
                return self._inferences[request_id]
            except KeyError:
                raise InferenceNotFoundError(inference_missing_message(request_id)) from None

    def known_request_ids(self, request_ids: Collection[str]) -> set[str]:
        with self._lock:
            return {r for r in request_ids if r in self._inferences}

    def _matching(self, query: InferenceQuery) -> list[InferenceRecord]:
        kinds: dict[str, set[str]] = {}
        for item in self._feedback:
            kinds.setdefault(item.request_id, set()).add(item.kind)
        found = [r for r in self._inferences.values() if matches(r, query, kinds.get(r.request_id, set()))]
        found.sort(key=lambda r: (r.logged_at, r.request_id), reverse=True)
        return found

    def list_inferences(
        self, query: InferenceQuery = InferenceQuery(), *, limit: int | None = 100, offset: int = 0
    ) -> list[InferenceRecord]:
        with self._lock:
            return page(self._matching(query), limit, offset)

    def count_inferences(self, query: InferenceQuery = InferenceQuery()) -> int:
        with self._lock:
            return len(self._matching(query))

    def add_feedback(self, items: Sequence[Feedback]) -> list[Feedback]:
        with self._lock:
            self._revisions.bump(RecordKind.INFERENCES)
            saved = []
            for item in items:
                self.get_inference(item.request_id)
                saved.append(dataclasses.replace(item, id=len(self._feedback) + 1))
                self._feedback.append(saved[-1])
            return saved

    def list_feedback(
        self,
        *,
        request_ids: Collection[str] | None = None,
        kind: FeedbackKind | None = None,
        limit: int | None = 100,
    ) -> list[Feedback]:
        wanted = None if request_ids is None else set(request_ids)
        with self._lock:
            found = [
                f
                for f in reversed(self._feedback)
                if (wanted is None or f.request_id in wanted) and (kind is None or f.kind == kind)
            ]
        return page(found, limit, 0)

    # -- labeling tasks ----------------------------------------------------------------------

    def add_tasks(self, tasks: Sequence[LabelingTask]) -> list[LabelingTask]:
        with self._lock:
            self._revisions.bump(RecordKind.LABELING)
            added = []
            for task in tasks:
                if (task.queue, task.key) in self._task_keys:
                    continue
                saved = dataclasses.replace(task, id=len(self._tasks) + 1)
                self._tasks[saved.id] = saved
                self._task_keys[(task.queue, task.key)] = saved.id
                added.append(saved)
            return added

    def get_task(self, task_id: int) -> LabelingTask:
        with self._lock:
            try:
                return self._tasks[task_id]
            except KeyError:
                raise TaskNotFoundError(task_missing_message(task_id)) from None

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
        with self._lock:
            found = [
                t
                for t in self._tasks.values()
                if t.queue == queue
                and (states is None or t.state in states)
                and (kinds is None or t.kind in kinds)
                and (labeler is None or labeler in (t.labeled_by, t.claimed_by))
                and (proposed_to is None or t.proposed_to == proposed_to)
            ]
        return page(sorted(found, key=queue_order), limit, offset)

    def task_counts(self, queue: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for task in self._tasks.values():
                if task.queue == queue:
                    counts[task.state] = counts.get(task.state, 0) + 1
        return counts

    def queues(self) -> list[str]:
        with self._lock:
            return sorted({t.queue for t in self._tasks.values()})

    def queued_keys(self, queue: str, keys: Collection[str]) -> set[str]:
        with self._lock:
            return {k for k in keys if (queue, k) in self._task_keys}

    def queued_fingerprints(self, queue: str, fingerprints: Collection[str]) -> set[str]:
        wanted = set(fingerprints)
        with self._lock:
            return {
                t.fingerprint for t in self._tasks.values() if t.queue == queue and t.fingerprint in wanted
            }

    def claim_tasks(
        self, queue: str, labeler: str, *, limit: int, now: dt.datetime, lease_until: dt.datetime
    ) -> list[LabelingTask]:
        with self._lock:
            self._revisions.bump(RecordKind.LABELING)
            free = sorted(
                (
                    t
                    for t in self._tasks.values()
                    if t.queue == queue and claimable(t, now) and t.excluded_labeler != labeler
                ),
                key=queue_order,
            )
            claimed = []
            for task in free[:limit]:
                saved = dataclasses.replace(
                    task, state="claimed", claimed_by=labeler, lease_until=lease_until
                )
                self._tasks[task.id] = saved
                claimed.append(saved)
            return claimed

    def transition_tasks(
        self,
        task_ids: Sequence[int],
        *,
        from_states: Collection[TaskState],
        changes: Mapping[str, Any],
        holder: str | None = None,
    ) -> list[LabelingTask]:
        check_task_changes(changes)
        with self._lock:
            self._revisions.bump(RecordKind.LABELING)
            changed = []
            for task_id in task_ids:
                task = self._tasks.get(task_id)
                if task is None or task.state not in from_states:
                    continue
                if holder is not None and task.claimed_by != holder:
                    continue
                self._tasks[task_id] = dataclasses.replace(task, **changes)
                changed.append(self._tasks[task_id])
            return changed

    def save_queue_settings(self, settings: QueueSettings) -> None:
        with self._lock:
            self._revisions.bump(RecordKind.LABELING)
            self._queue_settings[settings.queue] = settings

    def queue_settings(self, queue: str) -> QueueSettings | None:
        with self._lock:
            return self._queue_settings.get(queue)

    # -- loop rounds -------------------------------------------------------------------------

    def add_round(self, loop_round: LoopRound) -> LoopRound:
        with self._lock:
            self._revisions.bump(RecordKind.LOOPS)
            rounds = self._rounds.setdefault(loop_round.loop, [])
            saved = dataclasses.replace(loop_round, round=len(rounds) + 1)
            rounds.append(saved)
            return saved

    def update_round(self, loop_round: LoopRound) -> None:
        with self._lock:
            self._revisions.bump(RecordKind.LOOPS)
            rounds = self._rounds.get(loop_round.loop, [])
            if not 1 <= loop_round.round <= len(rounds):
                raise UsageError(round_missing_message(loop_round))
            rounds[loop_round.round - 1] = loop_round

    def rounds(self, loop: str) -> list[LoopRound]:
        with self._lock:
            return list(self._rounds.get(loop, []))

    def loops(self) -> list[LoopRound]:
        with self._lock:
            return [self._rounds[name][-1] for name in sorted(self._rounds) if self._rounds[name]]

    # -- revisions --------------------------------------------------------------------------

    def revisions(self) -> dict[str, int]:
        with self._lock:
            return self._revisions.snapshot()

    # -- garbage collection ------------------------------------------------------------------

    def referenced_artifact_ids(self) -> set[str]:
        with self._lock:
            ids = {v.artifact_id for versions in self._datasets.values() for v in versions}
            ids |= {
                v.source.snapshot_id for versions in self._datasets.values() for v in versions if v.source
            }
            ids |= {v.artifact_id for versions in self._models.values() for v in versions}
            ids |= set(self._reports)
            ids |= {m.report_id for m in self._moves if m.report_id}
            ids |= {r.batch_id for r in self._inferences.values()}
            ids |= {t.artifact_id for t in self._tasks.values()}
            ids |= {r.report_id for rounds in self._rounds.values() for r in rounds if r.report_id}
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


def queue_order(task: LabelingTask) -> tuple[int, float, int]:
    return (task.skips, -task.score, task.id)


def claimable(task: LabelingTask, now: dt.datetime) -> bool:
    return task.state == "open" or (
        task.state == "claimed" and task.lease_until is not None and task.lease_until < now
    )


def matches(record: InferenceRecord, query: InferenceQuery, feedback_kinds: set[str]) -> bool:
    """Whether `record` (with feedback of `feedback_kinds`) matches `query`."""
    q = query
    confidence = record.confidence
    if q.min_confidence is not None and (confidence is None or confidence < q.min_confidence):
        return False
    if q.max_confidence is not None and (confidence is None or confidence > q.max_confidence):
        return False
    if q.feedback == "any" and not feedback_kinds:
        return False
    if q.feedback == "none" and feedback_kinds:
        return False
    if q.feedback not in (None, "any", "none") and q.feedback not in feedback_kinds:
        return False
    return (
        (q.model is None or record.model == q.model)
        and (q.model_version is None or record.model_version == q.model_version)
        and (q.since is None or record.logged_at >= q.since)
        and (q.until is None or record.logged_at < q.until)
        and (q.request_ids is None or record.request_id in q.request_ids)
        and (
            q.relogged_since is None
            or (record.relogged_at is not None and record.relogged_at >= q.relogged_since)
        )
    )


def page(items: list[Any], limit: int | None, offset: int) -> list[Any]:
    return items[offset:] if limit is None else items[offset : offset + limit]
