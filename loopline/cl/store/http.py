"""`HttpCLStore`: the CLStore of a Loopline server, over HTTP (`POST /api/v1/rpc/cl/METHOD`).

It is what `Workspace` uses in team mode (`LOOPLINE_SERVER`): datasets, models, reports,
schedules, inferences, labeling tasks and loop rounds are read and written through the server,
which checks the key's role for each method and records every change in the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from loopline.cl.store.protocol import CLStore
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
from loopline.storage.remote.client import ServerConnection


class HttpCLStore:
    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection

    def __repr__(self) -> str:
        return f"HttpCLStore({self.connection.url!r})"

    def _call(self, method: str, /, **arguments: Any) -> Any:
        return self.connection.call(CLStore, "cl", method, **arguments)

    def add_dataset_version(
        self, version: DatasetVersion, *, expected_latest: int | None = None
    ) -> DatasetVersion:
        result: DatasetVersion = self._call(
            "add_dataset_version", version=version, expected_latest=expected_latest
        )
        return result

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        result: DatasetVersion = self._call("get_dataset_version", name=name, version=version)
        return result

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        result: list[DatasetVersion] = self._call("dataset_versions", name=name)
        return result

    def latest_dataset_versions(self) -> list[DatasetVersion]:
        result: list[DatasetVersion] = self._call("latest_dataset_versions")
        return result

    def decide_dataset_version(
        self, name: str, version: int, *, state: DatasetState, by: str, at: dt.datetime, reason: str
    ) -> DatasetVersion:
        result: DatasetVersion = self._call(
            "decide_dataset_version", name=name, version=version, state=state, by=by, at=at, reason=reason
        )
        return result

    def add_model_version(self, version: ModelVersion) -> ModelVersion:
        result: ModelVersion = self._call("add_model_version", version=version)
        return result

    def get_model_version(self, name: str, version: int | None = None) -> ModelVersion:
        result: ModelVersion = self._call("get_model_version", name=name, version=version)
        return result

    def model_versions(self, name: str) -> list[ModelVersion]:
        result: list[ModelVersion] = self._call("model_versions", name=name)
        return result

    def latest_model_versions(self) -> list[ModelVersion]:
        result: list[ModelVersion] = self._call("latest_model_versions")
        return result

    def aliases(self, name: str) -> dict[str, int]:
        result: dict[str, int] = self._call("aliases", name=name)
        return result

    def move_alias(self, move: AliasMove) -> AliasMove:
        result: AliasMove = self._call("move_alias", move=move)
        return result

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        result: list[AliasMove] = self._call("alias_history", name=name, alias=alias)
        return result

    def save_report(self, entry: ReportEntry) -> None:
        self._call("save_report", entry=entry)

    def get_report(self, report_id: str) -> ReportEntry:
        result: ReportEntry = self._call("get_report", report_id=report_id)
        return result

    def list_reports(self, *, model: str | None = None, limit: int = 100) -> list[ReportEntry]:
        result: list[ReportEntry] = self._call("list_reports", model=model, limit=limit)
        return result

    def add_schedule(self, schedule: Schedule) -> None:
        self._call("add_schedule", schedule=schedule)

    def get_schedule(self, name: str) -> Schedule:
        result: Schedule = self._call("get_schedule", name=name)
        return result

    def list_schedules(self) -> list[Schedule]:
        result: list[Schedule] = self._call("list_schedules")
        return result

    def update_schedule(self, schedule: Schedule) -> None:
        self._call("update_schedule", schedule=schedule)

    def remove_schedule(self, name: str) -> None:
        self._call("remove_schedule", name=name)

    def claim_slot(self, slot: Slot) -> bool:
        result: bool = self._call("claim_slot", slot=slot)
        return result

    def update_slot(
        self,
        schedule: str,
        key: str,
        *,
        state: SlotState,
        run_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        self._call("update_slot", schedule=schedule, key=key, state=state, run_id=run_id, detail=detail)

    def slots(self, schedule: str, *, limit: int = 100) -> list[Slot]:
        result: list[Slot] = self._call("slots", schedule=schedule, limit=limit)
        return result

    def add_inferences(self, records: Sequence[InferenceRecord]) -> list[str]:
        result: list[str] = self._call("add_inferences", records=records)
        return result

    def get_inference(self, request_id: str) -> InferenceRecord:
        result: InferenceRecord = self._call("get_inference", request_id=request_id)
        return result

    def known_request_ids(self, request_ids: Collection[str]) -> set[str]:
        result: set[str] = self._call("known_request_ids", request_ids=request_ids)
        return result

    def list_inferences(
        self, query: InferenceQuery = InferenceQuery(), *, limit: int | None = 100, offset: int = 0
    ) -> list[InferenceRecord]:
        result: list[InferenceRecord] = self._call("list_inferences", query=query, limit=limit, offset=offset)
        return result

    def count_inferences(self, query: InferenceQuery = InferenceQuery()) -> int:
        result: int = self._call("count_inferences", query=query)
        return result

    def add_feedback(self, items: Sequence[Feedback]) -> list[Feedback]:
        result: list[Feedback] = self._call("add_feedback", items=items)
        return result

    def list_feedback(
        self,
        *,
        request_ids: Collection[str] | None = None,
        kind: FeedbackKind | None = None,
        limit: int | None = 100,
    ) -> list[Feedback]:
        result: list[Feedback] = self._call("list_feedback", request_ids=request_ids, kind=kind, limit=limit)
        return result

    def add_tasks(self, tasks: Sequence[LabelingTask]) -> list[LabelingTask]:
        result: list[LabelingTask] = self._call("add_tasks", tasks=tasks)
        return result

    def get_task(self, task_id: int) -> LabelingTask:
        result: LabelingTask = self._call("get_task", task_id=task_id)
        return result

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
        result: list[LabelingTask] = self._call(
            "list_tasks",
            queue=queue,
            states=states,
            limit=limit,
            offset=offset,
            kinds=kinds,
            labeler=labeler,
            proposed_to=proposed_to,
        )
        return result

    def task_counts(self, queue: str) -> dict[str, int]:
        result: dict[str, int] = self._call("task_counts", queue=queue)
        return result

    def queues(self) -> list[str]:
        result: list[str] = self._call("queues")
        return result

    def queued_keys(self, queue: str, keys: Collection[str]) -> set[str]:
        result: set[str] = self._call("queued_keys", queue=queue, keys=keys)
        return result

    def queued_fingerprints(self, queue: str, fingerprints: Collection[str]) -> set[str]:
        result: set[str] = self._call("queued_fingerprints", queue=queue, fingerprints=fingerprints)
        return result

    def claim_tasks(
        self, queue: str, labeler: str, *, limit: int, now: dt.datetime, lease_until: dt.datetime
    ) -> list[LabelingTask]:
        result: list[LabelingTask] = self._call(
            "claim_tasks", queue=queue, labeler=labeler, limit=limit, now=now, lease_until=lease_until
        )
        return result

    def transition_tasks(
        self,
        task_ids: Sequence[int],
        *,
        from_states: Collection[TaskState],
        changes: Mapping[str, Any],
        holder: str | None = None,
    ) -> list[LabelingTask]:
        result: list[LabelingTask] = self._call(
            "transition_tasks", task_ids=task_ids, from_states=from_states, changes=changes, holder=holder
        )
        return result

    def save_queue_settings(self, settings: QueueSettings) -> None:
        self._call("save_queue_settings", settings=settings)

    def queue_settings(self, queue: str) -> QueueSettings | None:
        result: QueueSettings | None = self._call("queue_settings", queue=queue)
        return result

    def add_round(self, loop_round: LoopRound) -> LoopRound:
        result: LoopRound = self._call("add_round", loop_round=loop_round)
        return result

    def update_round(self, loop_round: LoopRound) -> None:
        self._call("update_round", loop_round=loop_round)

    def rounds(self, loop: str) -> list[LoopRound]:
        result: list[LoopRound] = self._call("rounds", loop=loop)
        return result

    def loops(self) -> list[LoopRound]:
        result: list[LoopRound] = self._call("loops")
        return result

    def revisions(self) -> dict[str, int]:
        result: dict[str, int] = self._call("revisions")
        return result

    def referenced_artifact_ids(self) -> set[str]:
        result: set[str] = self._call("referenced_artifact_ids")
        return result
