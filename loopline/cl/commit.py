"""Labeled tasks into a dataset: the new version a labeling commit saves.

Tasks on logged inferences append their inputs as new examples (the request id becomes the
example id); tasks on a dataset's own examples (suspected label errors) replace those labels.
Every touched example records where it came from in its lineage columns: source ("labeling" or
"relabeling"), request_id, miner, task, queue, labeler and reviewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.candidates import INFERENCES
from loopline.cl.loop_records import LabelingTask
from loopline.errors import UsageError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from loopline.cl.datasets import Dataset
    from loopline.cl.workspace import Workspace


def apply_labels(
    name: str, tasks: Sequence[LabelingTask], *, workspace: Workspace, message: str
) -> tuple[Dataset, int, int]:
    """Save the latest version of dataset `name` with these labels: (saved, added, relabeled).
    Examples it holds already (a commit that was interrupted) are not added twice."""
    import numpy as np

    from loopline.cl.datasets import Dataset, parse_ref

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
            _labels(relabel, current.labels, name),
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
            _labels(new, current.labels, name),
            ids=[t.example_id for t in new],
            lineage=_lineage(new, "labeling"),
        )
    if not new and not relabel:
        return current, 0, 0
    return updated.save(message, workspace=workspace), len(new), len(relabel)


def _features(tasks: Sequence[LabelingTask], like: Any, name: str, workspace: Workspace) -> Any:
    """The tasks' inputs in the form of the dataset's features, each input taken on its own: one
    that its batch kept in a list (because a neighbour had another shape) joins an array dataset
    as an array. UsageError naming every task whose input cannot join, and why (nothing is
    committed then)."""
    import numpy as np

    from loopline.cl import examples
    from loopline.cl.inference_table import load_batch

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
    """The tasks' labels as the dataset's labels are (a Label Studio "7" joins int labels as 7)."""
    import numpy as np

    convert = {"i": int, "u": int, "f": float, "b": bool, "U": str}.get(like.dtype.kind)
    values, misfits = [], []
    for task in tasks:
        try:
            values.append(task.label if convert is None else convert(task.label))
        except (TypeError, ValueError):
            misfits.append(task)
    if misfits:
        queue = misfits[0].queue
        raise UsageError(
            f"{len(misfits)} task(s) have labels that are not a {like.dtype} like the labels of {name}, so "
            "nothing was committed: "
            + ", ".join(f"task {t.id} ({t.label!r})" for t in misfits)
            + f". Correct them on the review page (/labeling/{queue}?mode=review) or with "
            "LabelingQueue(queue).review(task, approve=True, label=...), then commit again"
        )
    return np.asarray(values, dtype=like.dtype if convert is not None else object)


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
