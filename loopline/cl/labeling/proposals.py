"""A loop round's labels are a candidate change, not a commit.

    proposal = propose(queue, "digits-train")             # digits-train@5, a candidate version
    accept(queue, proposal.ref, by="loop")                # the round's model passed the gate
    send_back(queue, proposal.ref, reason="...", blame=...)   # it did not: back to review

`propose` puts the queue's ready labels into a candidate version of the dataset: saved, loadable
by its number (the round trains on it), but not the dataset's latest version, so nothing that
loads "digits-train" sees it. `accept` makes it canonical (when the round's model passed the
gate, or when a person accepts the labels of a blocked round); `send_back` rejects it, and its
tasks go back to review with the reason and how much the gate blamed each label. A person can
still accept a rejected proposal while the dataset has not moved on; if it has, the labels are
applied to its latest version instead. `withdraw` rejects a proposal without judging its
labels (its round failed before the gate decided): they are ready again for the next round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loopline.cl.datasets.dataset import Dataset, parse_ref
from loopline.cl.labeling.commit import apply_with_retries
from loopline.cl.labeling.queue import LabelingCommit, LabelingQueue
from loopline.cl.store.errors import DatasetConflictError, RoundStateError
from loopline.cl.store.provenance import current_user
from loopline.cl.store.records import TaskState
from loopline.errors import UsageError

_LABELED: list[TaskState] = ["labeled"]
_PROPOSED: list[TaskState] = ["proposed"]
_READY: list[TaskState] = ["labeled", "approved"]


def propose(queue: LabelingQueue, dataset: str, *, message: str = "") -> LabelingCommit:
    """The queue's ready labels in a candidate version of `dataset`; its tasks are marked
    proposed to it. Examples the dataset holds already (an interrupted commit) are not added
    twice: when nothing is new, the tasks are committed to the latest version as they are."""
    queue.enforce_quality()
    tasks = queue.ready()
    if not tasks:
        return LabelingCommit(None, 0, 0, ())
    saved, added, relabeled = apply_with_retries(
        dataset,
        tasks,
        workspace=queue.workspace,
        message=message or f"proposed from queue {queue.name}",
        candidate=True,
    )
    store = queue.workspace.store
    assert saved.version is not None
    changes: dict[str, Any]
    if store.get_dataset_version(saved.name, saved.version).state == "canonical":
        changes = {"state": "committed", "committed_to": saved.ref, "committed_at": queue.clock.now()}
    else:
        changes = {"state": "proposed", "proposed_to": saved.ref}
    moved = store.transition_tasks([t.id for t in tasks], from_states=_READY, changes=changes)
    return LabelingCommit(saved, added, relabeled, tuple(t.id for t in moved))


def accept(queue: LabelingQueue, proposed: str, *, by: str | None = None, reason: str = "") -> LabelingCommit:
    """Make the candidate version `proposed` canonical: the round's model passed the gate, or
    `by`, a person, accepts its labels. Its tasks (proposed, or sent back to review and not
    touched since) are committed. If the dataset moved on meanwhile, the labels are applied to
    its latest version instead. RoundStateError if some of them were reviewed or relabeled since
    they were sent back: the proposal no longer matches the queue."""
    who = by or current_user()
    name, version = parse_ref(proposed, "dataset")
    if version is None:
        raise UsageError(f"accept({proposed!r}) needs a dataset version, name@N")
    store = queue.workspace.store
    tasks = store.list_tasks(queue.name, proposed_to=proposed, kinds=["label"], limit=None)
    changed = [t for t in tasks if t.state not in ("proposed", "labeled", "committed")]
    if changed:
        shown = ", ".join(f"task {t.id} ({t.state}, by {t.reviewed_by or t.labeled_by})" for t in changed[:5])
        raise RoundStateError(
            f"{len(changed)} of the {len(tasks)} labels proposed in {proposed} changed since they were "
            f"sent back: {shown}. The proposal no longer matches the queue: review the other labels "
            f"instead (loopline label status {queue.name} --state labeled); the next round proposes them"
        )
    pending = [t for t in tasks if t.state in ("proposed", "labeled")]
    now = queue.clock.now()
    try:
        record = store.decide_dataset_version(
            name, version, state="canonical", by=who, at=now, reason=reason or f"accepted by {who}"
        )
        saved, added, relabeled = Dataset.load(record.ref, workspace=queue.workspace), 0, 0
    except DatasetConflictError:  # the dataset moved on: apply the labels to its latest version
        if not pending:
            raise
        saved, added, relabeled = apply_with_retries(
            name,
            pending,
            workspace=queue.workspace,
            message=f"labels of {proposed}, accepted by {who}: {reason}",
        )
    changes: dict[str, Any] = {
        "state": "committed",
        "committed_to": saved.ref,
        "committed_at": now,
        "review_reason": "",
    }
    committed = store.transition_tasks(
        [t.id for t in pending if t.state == "proposed"], from_states=_PROPOSED, changes=changes
    )
    committed += store.transition_tasks(
        [t.id for t in pending if t.state == "labeled"],
        from_states=_LABELED,
        changes={**changes, "reviewed_by": who, "reviewed_at": now},
    )
    return LabelingCommit(saved, added, relabeled, tuple(sorted(t.id for t in committed)))


def send_back(
    queue: LabelingQueue,
    proposed: str,
    *,
    reason: str,
    blame: Mapping[int, float] | None = None,
    by: str | None = None,
) -> int:
    """Reject the candidate version `proposed`: its tasks go back to review (labeled, with
    `reason`; with `blame`, how much the gate blamed each task's label, 0 to 1, and its rank).
    Returns how many went back."""
    name, version = parse_ref(proposed, "dataset")
    if version is None:
        raise UsageError(f"send_back({proposed!r}) needs a dataset version, name@N")
    store = queue.workspace.store
    store.decide_dataset_version(
        name, version, state="rejected", by=by or current_user(), at=queue.clock.now(), reason=reason
    )
    scores = dict(blame or {})
    ranked = sorted(scores, key=lambda task_id: -scores[task_id])
    returned = 0
    for task in store.list_tasks(queue.name, proposed_to=proposed, states=_PROPOSED, limit=None):
        changes: dict[str, Any] = {"state": "labeled", "review_reason": reason}
        if task.id in scores:
            changes["blame"] = float(scores[task.id])
            changes["review_reason"] = (
                f"{reason}; the gate blames this label {scores[task.id]:.2f} "
                f"(rank {ranked.index(task.id) + 1} of {len(ranked)})"
            )
        returned += len(store.transition_tasks([task.id], from_states=_PROPOSED, changes=changes))
    return returned


def withdraw(queue: LabelingQueue, proposed: str, *, reason: str, by: str | None = None) -> int:
    """Reject the candidate version `proposed` without judging its labels (its round failed
    before its gate decided): its tasks are ready again, for the next round to propose. Returns
    how many."""
    name, version = parse_ref(proposed, "dataset")
    if version is None:
        raise UsageError(f"withdraw({proposed!r}) needs a dataset version, name@N")
    store = queue.workspace.store
    store.decide_dataset_version(
        name, version, state="rejected", by=by or current_user(), at=queue.clock.now(), reason=reason
    )
    tasks = store.list_tasks(queue.name, proposed_to=proposed, states=_PROPOSED, limit=None)
    changes: dict[str, Any] = {"state": "labeled", "proposed_to": None}
    return len(store.transition_tasks([t.id for t in tasks], from_states=_PROPOSED, changes=changes))
