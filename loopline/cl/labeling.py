"""`LabelingQueue`: mined candidates become labeling tasks; labels become a new dataset version.

    queue = LabelingQueue("digits")
    queue.add(candidates)                         # one task per candidate (once per key)
    for task in queue.claim(10):                  # leased to you (the OS user) for 10 minutes
        queue.submit(task, label=7)               # or queue.skip(task)
    queue.review(task_id, approve=True)           # optional review step
    commit = queue.commit("digits-train")         # digits-train@N+1 with the labeled examples

Several labelers work at once without clobbering each other: a claim leases tasks to one
labeler (an expired lease frees them again) and every change of state is a compare-and-set in
the store. Who labeled, reviewed or skipped what is recorded (the OS user until accounts
exist). A commit appends the labeled examples to the dataset as a new version at once, each
with its lineage (request id, miner, task, labeler, reviewer), so a schedule waiting for "the
dataset gained N examples" starts the loop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.candidates import INFERENCES, Candidates
from loopline.cl.loop_errors import TaskNotFoundError, TaskStateError
from loopline.cl.loop_records import InferenceQuery, LabelingTask, TaskState
from loopline.cl.loop_store import LoopStore
from loopline.core.clock import Clock, SystemClock
from loopline.errors import UsageError

if TYPE_CHECKING:
    from loopline.cl.datasets import Dataset
    from loopline.cl.workspace import Workspace

TaskRef = LabelingTask | int
_COMMIT_ATTEMPTS = 5


@dataclasses.dataclass(frozen=True)
class LabelingCommit:
    """What a commit did: the saved dataset version, how many examples it added and relabeled,
    and the tasks it committed."""

    dataset: Dataset | None
    added: int
    relabeled: int
    tasks: tuple[int, ...]

    @property
    def ref(self) -> str | None:
        return None if self.dataset is None else self.dataset.ref

    def __str__(self) -> str:
        if self.dataset is None:
            return "nothing to commit"
        return f"{self.dataset.ref}: +{self.added} labeled examples, {self.relabeled} relabeled ({len(self.tasks)} tasks)"


class LabelingQueue:
    """The labeling tasks of queue `name`.

    - `review`: commit only tasks a reviewer approved (otherwise labeled tasks are committed too).
    - `lease_s`: how long a claim lasts before the task is free again.
    - `max_skips`: after this many skips a task leaves the queue (state "skipped").
    """

    def __init__(
        self,
        name: str,
        *,
        review: bool = False,
        lease_s: float = 600.0,
        max_skips: int = 3,
        workspace: Workspace | None = None,
        clock: Clock | None = None,
    ) -> None:
        from loopline.cl.workspace import resolve

        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise UsageError(f"a labeling queue needs a plain name such as 'digits', got {name!r}")
        self.name = name
        self.review_required = review
        self.lease_s = lease_s
        self.max_skips = max_skips
        self.workspace = resolve(workspace)
        self.clock = clock or SystemClock()

    @property
    def _store(self) -> LoopStore:
        return self.workspace.loop

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(self.counts().items()))
        return f"<LabelingQueue {self.name}: {counts or 'empty'}>"

    # -- filling the queue -------------------------------------------------------------------

    def add(self, candidates: Candidates) -> list[LabelingTask]:
        """One task per candidate whose key is not queued yet; returns the tasks added. The
        example itself is found through the inference record (its batch artifact), or in the
        dataset version the candidates came from (label errors)."""
        if not isinstance(candidates, Candidates):
            raise UsageError(
                f"LabelingQueue.add takes the Candidates that a miner or mine() returns, got "
                f"{type(candidates).__qualname__}"
            )
        if not len(candidates):
            return []
        now = self.clock.now()
        if candidates.source == INFERENCES:
            tasks = self._inference_tasks(candidates, now)
        else:
            tasks = self._dataset_tasks(candidates, now)
        return list(self._store.add_tasks(tasks))

    def _inference_tasks(self, candidates: Candidates, now: dt.datetime) -> list[LabelingTask]:
        ids = candidates.ids.tolist()
        records = {
            r.request_id: r
            for r in self._store.list_inferences(InferenceQuery(request_ids=tuple(ids)), limit=None)
        }
        missing = [i for i in ids if i not in records]
        if missing:
            raise UsageError(
                f"cannot queue {len(missing)} candidate(s) with no logged inference, e.g. {missing[0]!r}"
            )
        return [
            LabelingTask(
                queue=self.name,
                key=c.id,
                source=INFERENCES,
                artifact_id=records[c.id].batch_id,
                example_id=c.id,
                miner=c.miner,
                reason=c.reason,
                score=float(c.score),
                created_at=now,
                request_id=c.id,
                suggestion=_json(c.suggestion),
                display=records[c.id].display,
            )
            for c in candidates
        ]

    def _dataset_tasks(self, candidates: Candidates, now: dt.datetime) -> list[LabelingTask]:
        from loopline.cl.datasets import parse_ref

        name, version = parse_ref(candidates.source, "dataset")
        if version is None:
            raise UsageError(f"candidates from {candidates.source!r} must name a saved version (name@N)")
        record = self.workspace.store.get_dataset_version(name, version)
        return [
            LabelingTask(
                queue=self.name,
                key=f"{name}:{c.id}",
                source=record.ref,
                artifact_id=record.artifact_id,
                example_id=c.id,
                miner=c.miner,
                reason=c.reason,
                score=float(c.score),
                created_at=now,
                suggestion=_json(c.suggestion),
                display=record.display,
            )
            for c in candidates
        ]

    # -- reading -----------------------------------------------------------------------------

    def tasks(
        self, states: Collection[TaskState] | None = None, *, limit: int | None = 100, offset: int = 0
    ) -> list[LabelingTask]:
        """The queue's tasks in queue order (fewest skips, highest score first)."""
        return list(self._store.list_tasks(self.name, states=states, limit=limit, offset=offset))

    def counts(self) -> dict[str, int]:
        return dict(self._store.task_counts(self.name))

    def get(self, task: TaskRef) -> LabelingTask:
        """The task, if it is in this queue (TaskNotFoundError otherwise)."""
        found = self._store.get_task(_id(task))
        if found.queue != self.name:
            raise TaskNotFoundError(f"task {found.id} is in the queue {found.queue!r}, not in {self.name!r}")
        return found

    def example(self, task: TaskRef) -> dict[str, Any]:
        """The task's example: id, features (the input as logged), label, lineage."""
        from loopline.cl.inference_table import load_batch

        found = self.get(task)
        return load_batch(found.artifact_id, self.workspace).example(found.example_id)

    # -- labeling ----------------------------------------------------------------------------

    def claim(self, n: int = 10, *, labeler: str | None = None) -> list[LabelingTask]:
        """Lease up to `n` tasks to `labeler` (default: the OS user) for `lease_s` seconds."""
        now = self.clock.now()
        return list(
            self._store.claim_tasks(
                self.name,
                _who(labeler),
                limit=n,
                now=now,
                lease_until=now + dt.timedelta(seconds=self.lease_s),
            )
        )

    def submit(self, task: TaskRef, label: Any, *, labeler: str | None = None) -> LabelingTask:
        """Record `label` for a task claimed by `labeler` (or still open)."""
        who = _who(labeler)
        changes = {
            "state": "labeled",
            "label": _json(label),
            "labeled_by": who,
            "labeled_at": self.clock.now(),
            "claimed_by": who,
        }
        done = self._move(task, ("claimed",), changes, holder=who) or self._move(task, ("open",), changes)
        if done is None:
            raise TaskStateError(self._why_not(task, who, "label"))
        return done

    def skip(self, task: TaskRef, *, labeler: str | None = None) -> LabelingTask:
        """Give a task back without a label: it goes behind the others (after `max_skips`
        skips it leaves the queue)."""
        who = _who(labeler)
        current = self.get(task)
        skips = current.skips + 1
        changes = {
            "state": "skipped" if skips >= self.max_skips else "open",
            "skips": skips,
            "claimed_by": None,
            "lease_until": None,
        }
        done = self._move(task, ("claimed",), changes, holder=who) or self._move(task, ("open",), changes)
        if done is None:
            raise TaskStateError(self._why_not(task, who, "skip"))
        return done

    def release(self, task: TaskRef, *, labeler: str | None = None) -> LabelingTask:
        """Give a claimed task back as it was (no skip counted)."""
        who = _who(labeler)
        done = self._move(
            task, ("claimed",), {"state": "open", "claimed_by": None, "lease_until": None}, holder=who
        )
        if done is None:
            raise TaskStateError(self._why_not(task, who, "release"))
        return done

    def review(
        self, task: TaskRef, *, approve: bool, label: Any = None, reviewer: str | None = None
    ) -> LabelingTask:
        """Approve a labeled task (with a corrected `label`, if given), or reject it: it goes
        back to the queue to be labeled again."""
        who = _who(reviewer)
        now = self.clock.now()
        if approve:
            changes: dict[str, Any] = {"state": "approved", "reviewed_by": who, "reviewed_at": now}
            if label is not None:
                changes["label"] = _json(label)
        else:
            changes = {
                "state": "open",
                "label": None,
                "labeled_by": None,
                "labeled_at": None,
                "claimed_by": None,
                "lease_until": None,
                "reviewed_by": who,
                "reviewed_at": now,
            }
        done = self._move(task, ("labeled",), changes)
        if done is None:
            raise TaskStateError(self._why_not(task, who, "review"))
        return done

    def label_all(
        self,
        oracle: Callable[[list[LabelingTask]], Sequence[Any]],
        *,
        labeler: str = "oracle",
        batch: int = 100,
    ) -> int:
        """Label every open task with `oracle(tasks) -> labels` (tests, demos, or a model used
        as a labeler); returns how many tasks it labeled."""
        done = 0
        while claimed := self.claim(batch, labeler=labeler):
            labels = list(oracle(claimed))
            if len(labels) != len(claimed):
                raise UsageError(f"the oracle returned {len(labels)} labels for {len(claimed)} tasks")
            for task, label in zip(claimed, labels, strict=True):
                self.submit(task, label, labeler=labeler)
            done += len(claimed)
        return done

    def _move(
        self,
        task: TaskRef,
        from_states: Sequence[TaskState],
        changes: dict[str, Any],
        holder: str | None = None,
    ) -> LabelingTask | None:
        if not isinstance(task, LabelingTask) or task.queue != self.name:
            self.get(task)  # a task of another queue is not this queue's to change
        moved = self._store.transition_tasks(
            [_id(task)], from_states=from_states, changes=changes, holder=holder
        )
        return moved[0] if moved else None

    def _why_not(self, task: TaskRef, who: str, action: str) -> str:
        current = self.get(task)
        if current.state == "claimed":
            return f"cannot {action} task {current.id}: {current.claimed_by} has claimed it (until {current.lease_until})"
        hint = {"review": "only labeled tasks are reviewed"}.get(action, "claim an open task first")
        return f"cannot {action} task {current.id}: it is {current.state} ({hint})"

    # -- committing --------------------------------------------------------------------------

    def ready(self) -> list[LabelingTask]:
        """The tasks a commit would take: approved ones (and labeled ones, without review)."""
        states: tuple[TaskState, ...] = ("approved",) if self.review_required else ("labeled", "approved")
        return self.tasks(states, limit=None)

    def commit(self, dataset: str, *, message: str = "") -> LabelingCommit:
        """Add the labeled examples to the latest version of `dataset` (new request ids are
        appended; labels of its own examples are replaced) and save it as a new version at
        once; the tasks are then marked committed with that version."""
        from loopline.cl.commit import apply_labels
        from loopline.cl.errors import DatasetConflictError

        tasks = self.ready()
        if not tasks:
            return LabelingCommit(None, 0, 0, ())
        for attempt in range(_COMMIT_ATTEMPTS):
            try:
                saved, added, relabeled = apply_labels(
                    dataset,
                    tasks,
                    workspace=self.workspace,
                    message=message or f"labels from queue {self.name}",
                )
                break
            except DatasetConflictError:  # someone saved a version meanwhile: apply to the new one
                if attempt == _COMMIT_ATTEMPTS - 1:
                    raise
        states: tuple[TaskState, ...] = ("approved",) if self.review_required else ("labeled", "approved")
        committed = self._store.transition_tasks(
            [t.id for t in tasks],
            from_states=states,
            changes={"state": "committed", "committed_to": saved.ref, "committed_at": self.clock.now()},
        )
        return LabelingCommit(saved, added, relabeled, tuple(t.id for t in committed))


def _id(task: TaskRef) -> int:
    if isinstance(task, LabelingTask):
        return task.id
    if isinstance(task, int) and not isinstance(task, bool):
        return task
    raise UsageError(f"a task is a LabelingTask or its id (an int), got {task!r}")


def _who(name: str | None) -> str:
    from loopline.cl.provenance import current_user

    return name or current_user()


def _json(value: Any) -> Any:
    from loopline.cl.inference_checks import json_value

    return json_value(value, "label")
