"""`LoopStore`: what the continuous-improvement loop keeps (inference records, feedback, labeling
tasks, loop rounds), and `MemoryLoopStore`, its reference implementation.

Every implementation passes the conformance suite in `tests/cl/test_loop_store.py`; the SQL one
is `loopline.cl.loop_sql_store.SqlLoopStore`. Inference records are idempotent by request id;
labeling tasks are unique per (queue, key) and change state only by compare-and-set, so several
labelers (and loops) never clobber each other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

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
from loopline.cl.revisions import RecordKind, RevisionCounter
from loopline.errors import UsageError

TASK_FIELDS = frozenset(f.name for f in dataclasses.fields(LabelingTask)) - {"id", "queue", "key"}


@runtime_checkable
class LoopStore(Protocol):
    # -- inferences and feedback -------------------------------------------------------------

    def add_inferences(self, records: Sequence[InferenceRecord]) -> list[str]:
        """Record the inferences whose request id is new; returns those request ids (a request
        id recorded already keeps its first record: logging is idempotent)."""

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
    ) -> list[LabelingTask]:
        """The queue's tasks in queue order: fewest skips first, then highest score, then id."""

    def task_counts(self, queue: str) -> dict[str, int]:
        """State -> number of tasks in the queue (states with none are left out)."""

    def queues(self) -> list[str]:
        """The names of the queues that hold tasks, sorted."""

    def queued_keys(self, queue: str, keys: Collection[str]) -> set[str]:
        """Which of these keys have a task in the queue (in any state)."""

    def claim_tasks(
        self, queue: str, labeler: str, *, limit: int, now: dt.datetime, lease_until: dt.datetime
    ) -> list[LabelingTask]:
        """Lease up to `limit` tasks to `labeler`, atomically: open tasks, and claimed ones whose
        lease ended before `now`, in queue order. Two labelers never get the same task."""

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
        """Kind of record -> a counter that each write of that kind bumps (cl/revisions.py)."""

    # -- garbage collection ------------------------------------------------------------------

    def referenced_artifact_ids(self) -> set[str]:
        """Artifacts these records refer to: inference batches, task sources, round reports."""


def check_task_changes(changes: Mapping[str, Any]) -> None:
    unknown = sorted(set(changes) - TASK_FIELDS)
    if unknown:
        raise UsageError(f"labeling tasks have no field(s) {', '.join(unknown)} to change")


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
    )


def page(items: list[Any], limit: int | None, offset: int) -> list[Any]:
    return items[offset:] if limit is None else items[offset : offset + limit]


class MemoryLoopStore:
    """A LoopStore in dicts behind one lock: for tests and in-memory workspaces."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._inferences: dict[str, InferenceRecord] = {}
        self._feedback: list[Feedback] = []
        self._tasks: dict[int, LabelingTask] = {}
        self._task_keys: dict[tuple[str, str], int] = {}
        self._rounds: dict[str, list[LoopRound]] = {}
        self._revisions = RevisionCounter()

    # -- inferences and feedback -------------------------------------------------------------

    def add_inferences(self, records: Sequence[InferenceRecord]) -> list[str]:
        with self._lock:
            self._revisions.bump(RecordKind.INFERENCES)
            added = []
            for record in records:
                if record.request_id not in self._inferences:
                    self._inferences[record.request_id] = record
                    added.append(record.request_id)
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
    ) -> list[LabelingTask]:
        with self._lock:
            found = [
                t for t in self._tasks.values() if t.queue == queue and (states is None or t.state in states)
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

    def claim_tasks(
        self, queue: str, labeler: str, *, limit: int, now: dt.datetime, lease_until: dt.datetime
    ) -> list[LabelingTask]:
        with self._lock:
            self._revisions.bump(RecordKind.LABELING)
            free = sorted(
                (t for t in self._tasks.values() if t.queue == queue and claimable(t, now)), key=queue_order
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
            ids = {r.batch_id for r in self._inferences.values()}
            ids |= {t.artifact_id for t in self._tasks.values()}
            ids |= {r.report_id for rounds in self._rounds.values() for r in rounds if r.report_id}
            return ids


def inference_missing_message(request_id: str) -> str:
    return (
        f"no inference with request id {request_id!r} is recorded: log the inference first "
        "(feedback refers to a logged request id)"
    )


def task_missing_message(task_id: int) -> str:
    return f"no labeling task {task_id}; see a queue's tasks with: loopline label status QUEUE"


def round_missing_message(loop_round: LoopRound) -> str:
    return f"loop {loop_round.loop!r} has no round {loop_round.round} to update; add it first"
