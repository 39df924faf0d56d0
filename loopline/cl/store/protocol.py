"""`CLStore`: what the continuous-learning layer keeps, in one protocol: datasets, models and
their aliases, regression reports, schedules, and the loop's records (production inferences,
feedback, labeling tasks, loop rounds).

Every implementation passes the conformance suite in `tests/cl/test_store.py`: `MemoryCLStore`
(`store/memory.py`), the reference, and `SqlCLStore` (`store/sql.py`). Versions are numbered by
the store, so two writers never get the same number; alias moves and slot claims are atomic.
Inference records are idempotent by request id (a repeat is counted on the first record);
labeling tasks are unique per (queue, key) and change state only by compare-and-set, so several
labelers (and loops) never clobber each other. A dataset's "latest" version is its latest
canonical one: candidate versions (a loop round's proposed labels) wait for a decision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

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
from loopline.errors import UsageError

TASK_FIELDS = frozenset(f.name for f in dataclasses.fields(LabelingTask)) - {"id", "queue", "key"}


@runtime_checkable
class CLStore(Protocol):
    # -- datasets ----------------------------------------------------------------------------

    def add_dataset_version(
        self, version: DatasetVersion, *, expected_latest: int | None = None
    ) -> DatasetVersion:
        """Record a new version (canonical, or a candidate as `version.state` says); the store
        assigns `version` (the highest number + 1) and returns it. With `expected_latest` (0: no
        canonical version yet), only if the latest canonical version is still that one, else
        DatasetConflictError: two writers never silently drop each other's change."""

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """That version (default: the latest canonical one), or DatasetNotFoundError."""

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        """Every version of the dataset, candidates too, oldest first (empty if there is none)."""

    def latest_dataset_versions(self) -> list[DatasetVersion]:
        """The latest canonical version of every dataset that has one, by name."""

    def decide_dataset_version(
        self, name: str, version: int, *, state: DatasetState, by: str, at: dt.datetime, reason: str
    ) -> DatasetVersion:
        """Make a candidate version canonical (only if its parent is still the latest canonical
        version, else DatasetConflictError: the candidate must be applied to the newer one) or
        rejected; returns it. A version that is not a candidate: DatasetConflictError."""

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

    # -- inferences and feedback -------------------------------------------------------------

    def add_inferences(self, records: Sequence[InferenceRecord]) -> list[str]:
        """Record the inferences whose request id is new; returns those request ids. A request
        id recorded already keeps its first record (logging is idempotent), and the repeat is
        counted on it (`relogged`, `relogged_at`: the repeat's `logged_at`)."""

    def get_inference(self, request_id: str) -> InferenceRecord:
        """The record, or InferenceNotFoundError."""

    def known_request_ids(self, request_ids: Collection[str]) -> set[str]:
        """Which of these request ids are recorded."""

    def list_inferences(
        self, query: InferenceQuery = InferenceQuery(), *, limit: int | None = 100, offset: int = 0
    ) -> list[InferenceRecord]:
        """Matching records, newest first (ties by request id, descending)."""

    def count_inferences(self, query: InferenceQuery = InferenceQuery()) -> int:
        """How many records match."""

    def add_feedback(self, items: Sequence[Feedback]) -> list[Feedback]:
        """Record feedback (on recorded request ids); returns it with its ids."""

    def list_feedback(
        self,
        *,
        request_ids: Collection[str] | None = None,
        kind: FeedbackKind | None = None,
        limit: int | None = 100,
    ) -> list[Feedback]:
        """Feedback, newest first (on these request ids / of this kind, when given)."""

    # -- labeling tasks ----------------------------------------------------------------------

    def add_tasks(self, tasks: Sequence[LabelingTask]) -> list[LabelingTask]:
        """Queue the tasks whose (queue, key) is new; returns them with their ids."""

    def get_task(self, task_id: int) -> LabelingTask:
        """The task, or TaskNotFoundError."""

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
        """The queue's tasks in queue order: fewest skips first, then highest score, then id;
        only those of these `states` and `kinds`, claimed or labeled by `labeler`, proposed to
        the dataset version `proposed_to`, when given."""

    def task_counts(self, queue: str) -> dict[str, int]:
        """State -> number of tasks in the queue (states with none are left out)."""

    def queues(self) -> list[str]:
        """The names of the queues that hold tasks, sorted."""

    def queued_keys(self, queue: str, keys: Collection[str]) -> set[str]:
        """Which of these keys have a task in the queue (in any state)."""

    def queued_fingerprints(self, queue: str, fingerprints: Collection[str]) -> set[str]:
        """Which of these input fingerprints a task of the queue has (in any state)."""

    def claim_tasks(
        self, queue: str, labeler: str, *, limit: int, now: dt.datetime, lease_until: dt.datetime
    ) -> list[LabelingTask]:
        """Lease up to `limit` tasks to `labeler`, atomically: open tasks, and claimed ones whose
        lease ended before `now`, in queue order, never one whose `excluded_labeler` is
        `labeler`. Two labelers never get the same task."""

    def transition_tasks(
        self,
        task_ids: Sequence[int],
        *,
        from_states: Collection[TaskState],
        changes: Mapping[str, Any],
        holder: str | None = None,
    ) -> list[LabelingTask]:
        """Apply `changes` (task fields) to each task still in one of `from_states` (and, with
        `holder`, still claimed by it); returns the tasks changed. A compare-and-set: a task
        someone else moved meanwhile is left alone."""

    def save_queue_settings(self, settings: QueueSettings) -> None:
        """Record the settings of `settings.queue` (replacing earlier ones)."""

    def queue_settings(self, queue: str) -> QueueSettings | None:
        """The queue's recorded settings, if any."""

    # -- loop rounds -------------------------------------------------------------------------

    def add_round(self, loop_round: LoopRound) -> LoopRound:
        """Record a new round of `loop_round.loop`; the store numbers it (the latest + 1)."""

    def update_round(self, loop_round: LoopRound) -> None:
        """Replace the recorded round (same loop and number)."""

    def rounds(self, loop: str) -> list[LoopRound]:
        """Every round of the loop, oldest first."""

    def loops(self) -> list[LoopRound]:
        """The latest round of every loop, by loop name."""

    # -- revisions --------------------------------------------------------------------------

    def revisions(self) -> dict[str, int]:
        """Kind of record -> a counter that each write of that kind bumps (cl/store/revisions.py)."""

    # -- garbage collection ------------------------------------------------------------------

    def referenced_artifact_ids(self) -> set[str]:
        """Artifacts that datasets (and the table snapshots they were imported from), models,
        reports, promotions, inference batches, task sources and round reports refer to (never
        collected)."""


def report_matches(entry: ReportEntry, model: str | None) -> bool:
    return model is None or entry.model == model


def check_task_changes(changes: Mapping[str, Any]) -> None:
    unknown = sorted(set(changes) - TASK_FIELDS)
    if unknown:
        raise UsageError(f"labeling tasks have no field(s) {', '.join(unknown)} to change")


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


def no_canonical_message(name: str, versions: Sequence[DatasetVersion]) -> str:
    candidates = ", ".join(v.ref for v in versions)
    return (
        f"dataset {name!r} has no canonical version yet, only proposed or rejected ones ({candidates}); "
        f"load one of them by its version"
    )


def latest_canonical(versions: Sequence[DatasetVersion]) -> DatasetVersion | None:
    """The highest-numbered canonical version, if any."""
    canonical = [v for v in versions if v.state == "canonical"]
    return max(canonical, key=lambda v: v.version) if canonical else None


def decision_refused_message(version: DatasetVersion, state: DatasetState, latest: int | None) -> str | None:
    """Why `version` cannot become `state` now (None: it can). A candidate becomes canonical or
    rejected; a rejected version can still become canonical (a person overturning the gate)."""
    if version.state == "canonical":
        return f"{version.ref} is canonical already: it cannot be decided again"
    if state == "rejected" and version.state != "candidate":
        return f"{version.ref} is {version.state}, not a candidate: only a candidate is rejected"
    if state == "canonical" and version.parent != latest:
        now = "has no canonical version" if latest is None else f"is at version {latest}"
        return (
            f"{version.ref} was proposed on top of version {version.parent}, but {version.name} {now} "
            "now (someone changed it meanwhile): apply the proposed labels to the latest version instead"
        )
    if state not in ("canonical", "rejected"):
        return f"a candidate version becomes canonical or rejected, not {state!r}"
    return None


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


def inference_missing_message(request_id: str) -> str:
    return (
        f"no inference with request id {request_id!r} is recorded: log the inference first "
        "(feedback refers to a logged request id)"
    )


def task_missing_message(task_id: int) -> str:
    return f"no labeling task {task_id}; see a queue's tasks with: loopline label status QUEUE"


def round_missing_message(loop_round: LoopRound) -> str:
    return f"loop {loop_round.loop!r} has no round {loop_round.round} to update; add it first"
