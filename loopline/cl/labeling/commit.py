"""Labeled tasks into a dataset: the new version a labeling commit saves.

Tasks on logged inferences append their inputs as new examples (the request id becomes the
example id); tasks on a dataset's own examples (suspected label errors) replace those labels.
Every touched example records where it came from in its lineage columns: source ("labeling" or
"relabeling"), request_id, miner, task, queue, labeler and reviewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets import examples
from loopline.cl.datasets.dataset import Dataset, parse_ref
from loopline.cl.labeling.labels import LabelType
from loopline.cl.mining.candidates import INFERENCES
from loopline.cl.production.table import load_batch
from loopline.cl.store.errors import DatasetConflictError, LabelTypeError
from loopline.cl.store.records import LabelingTask
from loopline.errors import UsageError

_ATTEMPTS = 5

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from loopline.cl.store.workspace import Workspace


def apply_labels(
    name: str, tasks: Sequence[LabelingTask], *, workspace: Workspace, message: str, candidate: bool = False
) -> tuple[Dataset, int, int]:
    """Save the latest version of dataset `name` with these labels: (saved, added, relabeled);
    a candidate version with `candidate`. Examples it holds already (a commit that was
    interrupted) are not added twice."""
    import numpy as np

    current = Dataset.load(name, workspace=workspace)
    if current.labels is None:
        raise UsageError(f"{current.ref} has no labels, so labeled examples cannot join it")
    foreign = [t for t in tasks if t.source != INFERENCES and parse_ref(t.source, "dataset")[0] != name]
    if foreign:
        raise UsageError(
            f"task {foreign[0].id} relabels an example of {foreign[0].source}, not of {name}: commit it to that dataset"
        )
    present = np.isin(np.array([t.example_id for t in tasks], dtype=str), current.ids)
    new = [t for t, here in zip(tasks, present.tolist(), strict=True) if t.source == INFERENCES and not here]
    relabel = [t for t, here in zip(tasks, present.tolist(), strict=True) if t.source != INFERENCES and here]
    updated = current
    if relabel:
        ids = [t.example_id for t in relabel]
        old = current.subset(ids)
        lineage = {**old.lineage, **_lineage(relabel, "relabeling")}
        fixed = Dataset(
            name,
            old.features,
            _labels(relabel, current.labels, current.ref),
            ids=ids,
            tags=dict(old.tags),
            metadata=dict(old.metadata),
            lineage=lineage,
        )
        updated = updated.remove(ids).append(fixed)
    if new:
        new = sorted(new, key=lambda t: t.artifact_id)  # one artifact load per batch
        updated = updated.append(
            _features(new, current.features, name, workspace),
            _labels(new, current.labels, current.ref),
            ids=[t.example_id for t in new],
            lineage=_lineage(new, "labeling"),
        )
    if not new and not relabel:
        return current, 0, 0
    return updated.save(message, candidate=candidate, workspace=workspace), len(new), len(relabel)


def apply_with_retries(
    name: str, tasks: Sequence[LabelingTask], *, workspace: Workspace, message: str, candidate: bool = False
) -> tuple[Dataset, int, int]:
    """`apply_labels`, again on the new latest version when someone saved one meanwhile."""
    for attempt in range(_ATTEMPTS):
        try:
            return apply_labels(name, tasks, workspace=workspace, message=message, candidate=candidate)
        except DatasetConflictError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _features(tasks: Sequence[LabelingTask], like: Any, name: str, workspace: Workspace) -> Any:
    """The tasks' inputs in the form of the dataset's features, each input taken on its own: one
    that its batch kept in a list (because a neighbour had another shape) joins an array dataset
    as an array. UsageError naming every task whose input cannot join, and why (nothing is
    committed then)."""
    import numpy as np

    none = examples.take(like, np.arange(0))
    inputs, misfits = [], []
    batch, batch_id = None, None
    for task in tasks:  # sorted by batch: one artifact load per batch
        if batch is None or task.artifact_id != batch_id:
            batch, batch_id = load_batch(task.artifact_id, workspace), task.artifact_id
        one = examples.conform(batch.subset([task.example_id]).features, none)
        try:
            examples.concat(none, one, "inputs")
        except UsageError as error:
            misfits.append(f"task {task.id} (request {task.request_id}): {error}")
        else:
            inputs.append(one)
    if misfits:
        raise UsageError(
            f"{len(misfits)} labeled task(s) cannot join {name}, so nothing was committed: "
            + "; ".join(misfits)
            + ". Commit them to a dataset of their kind, or send them back with "
            + "review(task, approve=False) and commit the others"
        )
    return examples.join([none, *inputs], "inputs")


def _labels(tasks: Sequence[LabelingTask], like: NDArray[Any], name: str) -> NDArray[Any]:
    """The tasks' labels as the dataset's labels are: each must have their type (a label typed
    as text, "7", was converted where it was given: the command line, Label Studio's import)."""
    import numpy as np

    label_type = LabelType.of_labels(like, name)
    values, misfits = [], []
    for task in tasks:
        try:
            values.append(label_type.check(task.label))
        except LabelTypeError:
            misfits.append(task)
    if not misfits:
        try:
            return np.asarray(values, dtype=object if label_type.kind == "any" else like.dtype)
        except (OverflowError, ValueError):  # e.g. 300 for int8 labels
            misfits = list(tasks)
    queue = misfits[0].queue
    raise LabelTypeError(
        f"{len(misfits)} task(s) have labels that are not {label_type.kind} like the labels of {name} "
        f"({like.dtype}), so nothing was committed: "
        + ", ".join(f"task {t.id} ({t.label!r})" for t in misfits[:20])
        + f". Correct them on the review page (/labeling/{queue}?mode=review) or with "
        "LabelingQueue(queue).review(task, approve=True, label=...), then commit again"
    )


def _lineage(tasks: Sequence[LabelingTask], source: str) -> dict[str, Any]:
    import numpy as np

    return {
        "source": np.full(len(tasks), source),
        "request_id": np.array([t.request_id or "" for t in tasks], dtype=str),
        "miner": np.array([t.miner for t in tasks], dtype=str),
        "task": np.array([str(t.id) for t in tasks], dtype=str),
        "queue": np.array([t.queue for t in tasks], dtype=str),
        "labeler": np.array([t.labeled_by or "" for t in tasks], dtype=str),
        "reviewer": np.array([t.reviewed_by or "" for t in tasks], dtype=str),
    }
