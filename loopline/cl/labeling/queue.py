"""`LabelingQueue`: mined candidates become labeling tasks; labels become a new dataset version.

    queue = LabelingQueue("digits")
    queue.configure(dataset="digits-train", quality=QualityControl(gold="digits-gold@1", ...))
    queue.add(candidates)                         # one task per candidate (once per key and input)
    for task in queue.claim(10):                  # leased to you (the OS user) for 10 minutes
        queue.submit(task, label=7)               # or queue.skip(task)
    queue.review(task_id, approve=True)           # optional review step
    commit = queue.commit("digits-train")         # digits-train@N+1 with the labeled examples

Several labelers work at once without clobbering each other: a claim leases tasks to one
labeler (an expired lease frees them again) and every change of state is a compare-and-set in
the store. Who labeled, reviewed or skipped what is recorded (the OS user until accounts
exist). A label must have the type of the labels of the queue's dataset (`configure`), at every
entry point. Quality control (`quality.py`) mixes gold questions into claims, has a second
labeler label a sample, and sends back to review the labels of a labeler whose accuracy falls
below the threshold, and labels two labelers disagree on.

A person's `commit` appends the ready labels to the dataset as a new canonical version at once,
each with its lineage (request id, miner, task, labeler, reviewer), so a schedule waiting for
"the dataset gained N examples" starts the loop. A loop round proposes instead
(`proposals.py`): its labels go into a candidate version, made canonical when the round's model
passes the gate or a person accepts them, else rejected, the labels going back to review.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets.dataset import Dataset, parse_ref
from loopline.cl.labeling import quality as qc
from loopline.cl.labeling.commit import apply_with_retries
from loopline.cl.labeling.labels import LabelType, label_choices
from loopline.cl.mining.candidates import INFERENCES, Candidates
from loopline.cl.production.checks import json_value
from loopline.cl.production.table import load_batch
from loopline.cl.store.errors import TaskNotFoundError, TaskStateError
from loopline.cl.store.protocol import CLStore
from loopline.cl.store.provenance import current_user
from loopline.cl.store.records import (
    InferenceQuery,
    LabelingTask,
    QualityControl,
    QueueSettings,
    TaskState,
)
from loopline.cl.store.workspace import resolve
from loopline.core.clock import Clock, SystemClock
from loopline.errors import UsageError

if TYPE_CHECKING:
    from loopline.cl.store.workspace import Workspace

TaskRef = LabelingTask | int
Labeler = Callable[[list[LabelingTask]], Sequence[Any]]


@dataclasses.dataclass(frozen=True)
class LabelingCommit:
    """What a commit (or a proposal) did: the saved dataset version, how many examples it added
    and relabeled, and the tasks it took."""

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

    - `review`: commit only tasks a reviewer approved (otherwise labeled tasks are committed
      too); None (the default): as the queue's stored settings say (`configure`).
    - `lease_s`: how long a claim lasts before the task is free again.
    - `max_skips`: after this many skips a task leaves the queue (state "skipped").
    """

    def __init__(
        self,
        name: str,
        *,
        review: bool | None = None,
        lease_s: float = 600.0,
        max_skips: int = 3,
        workspace: Workspace | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise UsageError(f"a labeling queue needs a plain name such as 'digits', got {name!r}")
        self.name = name
        self._review = review
        self.lease_s = lease_s
        self.max_skips = max_skips
        self.workspace = resolve(workspace)
        self.clock = clock or SystemClock()
        self._types: dict[str, LabelType] = {}

    @property
    def _store(self) -> CLStore:
        return self.workspace.store

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(self.counts().items()))
        return f"<LabelingQueue {self.name}: {counts or 'empty'}>"

    # -- settings ----------------------------------------------------------------------------

    @property
    def settings(self) -> QueueSettings:
        """The queue's stored settings (defaults when none are stored)."""
        return self._store.queue_settings(self.name) or QueueSettings(self.name)

    @property
    def review_required(self) -> bool:
        return self.settings.review if self._review is None else self._review

    @property
    def quality_control(self) -> QualityControl:
        return self.settings.quality

    def configure(
        self,
        *,
        dataset: str | None = None,
        review: bool | None = None,
        quality: QualityControl | None = None,
        by: str | None = None,
    ) -> QueueSettings:
        """Store the queue's settings (those not given are kept): `dataset` its labels join (its
        label type and label values are read now), `review`, and `quality` control."""
        current = self.settings
        if quality is not None and not isinstance(quality, QualityControl):
            raise UsageError(
                f"configure(quality=...) takes a QualityControl, got {type(quality).__qualname__}"
            )
        label_type, labels = current.label_type, current.labels
        target = dataset or current.dataset
        if dataset is not None:
            data = Dataset.load(dataset, workspace=self.workspace)
            label_type, labels = LabelType.of(data).kind, label_choices(data)
        chosen = quality if quality is not None else current.quality
        if chosen.gold is not None:
            gold = Dataset.load(chosen.gold, workspace=self.workspace)
            if target is not None and label_type and LabelType.of(gold).kind != label_type:
                raise UsageError(
                    f"the gold questions of {gold.ref} have {LabelType.of(gold).kind} labels, but the "
                    f"labels of {target} are {label_type}: give gold questions of the same kind"
                )
        settings = QueueSettings(
            queue=self.name,
            dataset=target,
            review=current.review if review is None else review,
            quality=chosen,
            updated_at=self.clock.now(),
            updated_by=_who(by),
            label_type=label_type,
            labels=labels,
        )
        self._store.save_queue_settings(settings)
        self._types.clear()
        return settings

    def label_type(self, task: TaskRef | None = None, *, dataset: str | None = None) -> LabelType | None:
        """The type a label must have: of the dataset a relabeling or gold task comes from, else
        of `dataset` (where the labels will go), else of the queue's dataset (None when the
        queue has none configured)."""
        found = None if task is None else self.get(task)
        source = found.source if found is not None and found.source != INFERENCES else dataset
        if source is not None:
            if source not in self._types:
                self._types[source] = LabelType.of(Dataset.load(source, workspace=self.workspace))
            return self._types[source]
        settings = self.settings
        if settings.dataset and settings.label_type:
            return LabelType(settings.label_type, settings.dataset)  # type: ignore[arg-type]
        return None

    def label_choices(self) -> tuple[Any, ...]:
        """The labels a labeling page offers: the queue's dataset's label values, typed."""
        return self.settings.labels

    def parse_label(self, task: TaskRef, text: Any, *, dataset: str | None = None) -> Any:
        """A label given as text (command line, Label Studio's choices) as the type it must have
        (see `label_type`); LabelTypeError when it is not one."""
        label_type = self.label_type(task, dataset=dataset)
        if label_type is None:
            return text
        return label_type.parse(text) if isinstance(text, str) else label_type.check(text)

    def _typed(self, task: LabelingTask, label: Any) -> Any:
        label_type = self.label_type(task)
        if label_type is None:
            return _json(label)
        return label_type.check(label, what=f"task {task.id}'s label")

    # -- filling the queue -------------------------------------------------------------------

    def add(self, candidates: Candidates) -> list[LabelingTask]:
        """One task per candidate whose key is not queued yet, nor its input (by content);
        returns the tasks added. The example itself is found through the inference record (its
        batch artifact), or in the dataset version the candidates came from (label errors)."""
        if not isinstance(candidates, Candidates):
            raise UsageError(
                f"LabelingQueue.add takes the Candidates that a miner or mine() returns, got "
                f"{type(candidates).__qualname__}"
            )
        if not len(candidates):
            return []
        now = self.clock.now()
        tasks: list[LabelingTask] = []
        for source, part in candidates.by_source().items():
            if source == INFERENCES:
                tasks += self._inference_tasks(part, now)
            else:
                tasks += self._dataset_tasks(source, part, now)
        queued = self._store.queued_fingerprints(self.name, [t.fingerprint for t in tasks if t.fingerprint])
        fresh, seen = [], set(queued)
        for task in tasks:
            if task.fingerprint and task.source == INFERENCES:
                if task.fingerprint in seen:
                    continue  # the same input is queued already (under another request id)
                seen.add(task.fingerprint)
            fresh.append(task)
        return list(self._store.add_tasks(fresh))

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
        prints = candidates.fingerprints
        if prints is None:
            prints = self._input_fingerprints(ids, [records[i].batch_id for i in ids])
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
                fingerprint=str(fingerprint),
            )
            for c, fingerprint in zip(candidates, prints.tolist(), strict=True)
        ]

    def _input_fingerprints(self, ids: list[str], batches: list[str]) -> Any:
        import numpy as np

        out = np.empty(len(ids), dtype=object)
        for batch_id in dict.fromkeys(batches):
            here = [i for i, b in enumerate(batches) if b == batch_id]
            batch = load_batch(batch_id, self.workspace).subset([ids[i] for i in here])
            out[here] = batch.fingerprints()
        return out.astype(str)

    def _dataset_tasks(self, source: str, candidates: Candidates, now: dt.datetime) -> list[LabelingTask]:
        name, version = parse_ref(source, "dataset")
        if version is None:
            raise UsageError(f"candidates from {source!r} must name a saved version (name@N)")
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
        """The queue's tasks in queue order (fewest skips, highest score first), every kind."""
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

        found = self.get(task)
        return load_batch(found.artifact_id, self.workspace).example(found.example_id)

    # -- labeling ----------------------------------------------------------------------------

    def claim(self, n: int = 10, *, labeler: str | None = None) -> list[LabelingTask]:
        """Lease up to `n` tasks to `labeler` (default: the OS user) for `lease_s` seconds, with
        gold questions mixed in when the queue asks for them (see `quality.py`)."""
        who = _who(labeler)
        now = self.clock.now()
        until = now + dt.timedelta(seconds=self.lease_s)
        control = self.quality_control
        before = self._store.list_tasks(self.name, labeler=who, limit=None) if control.gold_share else []
        claimed = list(self._store.claim_tasks(self.name, who, limit=n, now=now, lease_until=until))
        if not claimed or not control.gold_share:
            return claimed
        gold_so_far = sum(t.kind == "gold" for t in before)
        due = qc.gold_due(gold_so_far, len(before) - gold_so_far, len(claimed), control.gold_share)
        gold = self._checks().gold_questions(who, due, now, until) if due else []
        return _interleaved(claimed, gold)

    def submit(self, task: TaskRef, label: Any, *, labeler: str | None = None) -> LabelingTask:
        """Record `label` for a task claimed by `labeler` (or still open). The label must have
        the type of the dataset's labels (LabelTypeError otherwise)."""
        who = _who(labeler)
        current = self.get(task)
        changes: dict[str, Any] = {
            "state": "labeled",
            "label": self._typed(current, label),
            "labeled_by": who,
            "labeled_at": self.clock.now(),
            "claimed_by": who,
        }
        checks = self._checks()
        if current.kind == "label":
            below = checks.below_threshold(who)
            if below:
                changes["review_reason"] = below
        done = self._move(current, ("claimed",), changes, holder=who) or self._move(
            current, ("open",), changes
        )
        if done is None:
            raise TaskStateError(self._why_not(current, who, "label"))
        if done.kind == "gold":
            checks.judge(who)
        elif done.kind == "second":
            checks.compare(done)
        elif qc.sampled(done.key, checks.control.agreement):
            checks.ask_second_labeler(done)
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
        """Approve a labeled task (with a corrected `label`, if given, of the dataset's label
        type), or reject it: it goes back to the queue to be labeled again."""
        who = _who(reviewer)
        now = self.clock.now()
        current = self.get(task)
        if approve:
            changes: dict[str, Any] = {"state": "approved", "reviewed_by": who, "reviewed_at": now}
            if label is not None:
                changes["label"] = self._typed(current, label)
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
                "review_reason": "",
                "blame": None,
                "proposed_to": None,
            }
        done = self._move(current, ("labeled",), changes)
        if done is None:
            raise TaskStateError(self._why_not(current, who, "review"))
        return done

    def label_all(self, oracle: Labeler, *, labeler: str = "oracle", batch: int = 100) -> int:
        """Label every open task with `oracle(tasks) -> labels` (tests, demos, or a model used
        as a labeler); returns how many tasks it labeled."""
        return self.label_with({labeler: oracle}, batch=batch)

    def label_with(self, labelers: Mapping[str, Labeler], *, batch: int = 10) -> int:
        """Let several labelers (name -> function of tasks giving labels) take turns claiming
        `batch` tasks and labeling them, until none of them can claim more; returns how many
        tasks they labeled (gold questions and second opinions included)."""
        if not labelers:
            raise UsageError("label_with needs at least one labeler")
        done = 0
        while True:
            labeled_now = 0
            for name, oracle in labelers.items():
                claimed = self.claim(batch, labeler=name)
                if not claimed:
                    continue
                labels = list(oracle(claimed))
                if len(labels) != len(claimed):
                    raise UsageError(
                        f"the labeler {name} returned {len(labels)} labels for {len(claimed)} tasks"
                    )
                for task, value in zip(claimed, labels, strict=True):
                    self.submit(task, value, labeler=name)
                labeled_now += len(claimed)
            if not labeled_now:
                return done
            done += labeled_now

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

    # -- quality control ---------------------------------------------------------------------

    def quality(self) -> qc.QualityReport:
        """Every labeler's numbers: labels, gold questions answered and their accuracy,
        agreement with a second labeler; and the agreement between labelers (Cohen's kappa)."""
        return qc.report(self._store.list_tasks(self.name, limit=None), self.quality_control)

    def enforce_quality(self) -> int:
        """Send back to review the pending labels of every labeler below the accuracy threshold
        (a commit or a proposal does this first); returns how many were sent back."""
        return self._checks().enforce()

    def _checks(self) -> qc.Checks:
        return qc.Checks(self._store, self.name, self.quality_control, self.workspace, self.clock)

    # -- committing --------------------------------------------------------------------------

    def ready(self) -> list[LabelingTask]:
        """The tasks a commit would take: approved ones; labeled ones too when the queue does
        not require a review, unless a person must look at them (`review_reason`), their second
        labeler has not answered yet, or their labeler is below the accuracy threshold."""
        states: tuple[TaskState, ...] = ("approved",) if self.review_required else ("labeled", "approved")
        tasks = self._store.list_tasks(self.name, states=states, kinds=["label"], limit=None)
        if not any(t.state == "labeled" for t in tasks):
            return tasks
        seconds = {t.of_task: t for t in self._store.list_tasks(self.name, kinds=["second"], limit=None)}
        checks = self._checks()
        flagged = {who for who in {t.labeled_by for t in tasks} if who and checks.below_threshold(who)}
        return [
            t
            for t in tasks
            if t.state == "approved"
            or (
                not t.review_reason
                and t.labeled_by not in flagged
                and (t.id not in seconds or seconds[t.id].state == "labeled")
            )
        ]

    def waiting(self) -> list[LabelingTask]:
        """Labeled tasks that wait for a person (a review, a second labeler), not committed."""
        ready = {t.id for t in self.ready()}
        labeled = self._store.list_tasks(self.name, states=["labeled"], kinds=["label"], limit=None)
        return [t for t in labeled if t.id not in ready]

    def commit(self, dataset: str, *, message: str = "") -> LabelingCommit:
        """A person's commit: add the ready labeled examples to the latest version of `dataset`
        (new request ids are appended; labels of its own examples are replaced) and save it as a
        new canonical version at once; the tasks are then marked committed with that version."""
        self.enforce_quality()
        tasks = self.ready()
        if not tasks:
            return LabelingCommit(None, 0, 0, ())
        saved, added, relabeled = apply_with_retries(
            dataset, tasks, workspace=self.workspace, message=message or f"labels from queue {self.name}"
        )
        committed = self._store.transition_tasks(
            [t.id for t in tasks],
            from_states=("labeled", "approved"),
            changes={"state": "committed", "committed_to": saved.ref, "committed_at": self.clock.now()},
        )
        return LabelingCommit(saved, added, relabeled, tuple(t.id for t in committed))


def _interleaved(tasks: list[LabelingTask], gold: list[LabelingTask]) -> list[LabelingTask]:
    """Gold questions among the tasks at places of their own (fixed by their keys)."""
    out = list(tasks)
    for question in gold:
        digest = int.from_bytes(hashlib.sha256(question.key.encode()).digest()[:4], "big")
        out.insert(digest % (len(out) + 1), question)
    return out


def _id(task: TaskRef) -> int:
    if isinstance(task, LabelingTask):
        return task.id
    if isinstance(task, int) and not isinstance(task, bool):
        return task
    raise UsageError(f"a task is a LabelingTask or its id (an int), got {task!r}")


def _who(name: str | None) -> str:
    return name or current_user()


def _json(value: Any) -> Any:
    return json_value(value, "label")
