"""Label Studio's JSON task format: export a queue's tasks, import the annotations back.

    tasks = export_tasks(queue)                     # a list of Label Studio tasks (JSON)
    print(labeling_config(["0", "1", ..., "9"], display="image 8x8"))   # the project's config
    report = import_annotations(queue, json.load(open("export.json")))

Each exported task carries its Loopline task id in `data.loopline_task`, the example as Label
Studio shows it (`data.image`: a PNG data URI for images; `data.text` for texts; `data.values`
otherwise) and the model's prediction as a pre-annotation (`predictions`). On import, the last
annotation of each task that was not cancelled becomes the task's label, labeled by its
annotator, as the type of the labels of the queue's dataset (a choice "7" is the integer 7 for
integer labels; "seven" is refused, and listed among the problems); a cancelled (skipped)
annotation skips the task. Both Label Studio's JSON export and its JSON_MIN export are read.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from loopline.cl.production.table import load_batch
from loopline.cl.store.records import LabelingTask, TaskState
from loopline.core.image import Image
from loopline.errors import LooplineError, UsageError

if TYPE_CHECKING:
    from loopline.cl.labeling.queue import LabelingQueue

FROM_NAME = "label"


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What an import did: tasks labeled, tasks skipped, and annotations it could not use."""

    labeled: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{len(self.labeled)} labeled, {len(self.skipped)} skipped"
        return text + (f", {len(self.problems)} not imported" if self.problems else "")


def data_key(display: str, example: Any) -> str:
    """The `data` field Label Studio shows the example from: image, text or values."""
    if display.startswith("image"):
        return "image"
    if isinstance(example, str) or display == "text":
        return "text"
    return "values"


OPEN: tuple[TaskState, ...] = ("open",)


def export_tasks(
    queue: LabelingQueue, *, states: Collection[TaskState] = OPEN, limit: int | None = None
) -> list[dict[str, Any]]:
    """The queue's tasks in these states as Label Studio tasks, in queue order."""

    tasks = queue.tasks(states, limit=limit)
    batches: dict[str, Any] = {}
    exported = []
    for task in tasks:
        if task.artifact_id not in batches:
            batches[task.artifact_id] = load_batch(task.artifact_id, queue.workspace)
        example = batches[task.artifact_id].example(task.example_id)["features"]
        exported.append(_task(task, example))
    return exported


def _task(task: LabelingTask, example: Any) -> dict[str, Any]:
    key = data_key(task.display, example)
    data: dict[str, Any] = {
        key: _shown(key, task.display, example),
        "loopline_task": task.id,
        "loopline_queue": task.queue,
        "example_id": task.example_id,
        "miner": task.miner,
        "reason": task.reason,
    }
    item: dict[str, Any] = {"data": data}
    if task.suggestion is not None:
        choice = {"choices": [str(task.suggestion)]}
        result = {"from_name": FROM_NAME, "to_name": key, "type": "choices", "value": choice}
        item["predictions"] = [{"model_version": task.miner, "score": task.score, "result": [result]}]
    return item


def _shown(key: str, display: str, example: Any) -> Any:
    import numpy as np

    if key == "image":
        pixels = np.asarray(example)
        shape = display.partition(" ")[2]
        if shape:
            pixels = pixels.reshape([int(p) for p in shape.split("x")])
        png = Image.from_array(pixels).data
        return "data:image/png;base64," + base64.b64encode(png).decode()
    if key == "text":
        return str(example)
    return example.tolist() if hasattr(example, "tolist") else example


def labeling_config(choices: Sequence[Any], *, display: str = "image") -> str:
    """A Label Studio labeling configuration for these exports: the example and one choice per
    class, named as the import expects."""
    key = "image" if display.startswith("image") else ("text" if display == "text" else "values")
    shown = {
        "image": '<Image name="image" value="$image" zoom="true" width="256px"/>',
        "text": '<Text name="text" value="$text"/>',
        "values": '<Text name="values" value="$values"/>',
    }[key]
    options = "\n    ".join(f"<Choice value={quoteattr(str(c))}/>" for c in choices)
    return (
        f"<View>\n  {shown}\n"
        f'  <Choices name="{FROM_NAME}" toName="{key}" choice="single" showInline="true">\n'
        f"    {options}\n  </Choices>\n</View>\n"
    )


def import_annotations(
    queue: LabelingQueue,
    exported: Sequence[Mapping[str, Any]],
    *,
    labeler: str | None = None,
    dataset: str | None = None,
) -> ImportReport:
    """Label the queue's tasks from Label Studio's export (JSON or JSON_MIN). `labeler`
    overrides the annotator recorded from the export; `dataset` is where the labels will go,
    whose label type the choices take (default: the queue's dataset, `LabelingQueue.configure`)."""
    if not isinstance(exported, Sequence) or isinstance(exported, (str, bytes)):
        raise UsageError("a Label Studio export is a JSON list of tasks")
    labeled: list[int] = []
    skipped: list[int] = []
    problems: list[str] = []
    for position, item in enumerate(exported):
        try:
            task_id, outcome, who = _annotation(item)
        except UsageError as error:
            problems.append(f"item {position}: {error}")
            continue
        if outcome is None:
            continue  # not annotated yet
        who = labeler or who
        try:
            if outcome is _SKIPPED:
                queue.skip(task_id, labeler=who)
                skipped.append(task_id)
            else:  # a choice is a text ("7"): as the type of the dataset's labels, or refused
                queue.submit(task_id, queue.parse_label(task_id, outcome, dataset=dataset), labeler=who)
                labeled.append(task_id)
        except LooplineError as error:  # claimed or labeled by someone else, a label of another type, ...
            problems.append(f"task {task_id}: {error}")
    return ImportReport(tuple(labeled), tuple(skipped), tuple(problems))


_SKIPPED = object()


def _annotation(item: Any) -> tuple[int, Any, str]:
    """(task id, label or _SKIPPED or None, annotator) of one exported item."""
    if not isinstance(item, Mapping):
        raise UsageError(f"expected a task object, got {type(item).__qualname__}")
    data = item.get("data", item)  # JSON_MIN puts the data fields at the top level
    task_id = data.get("loopline_task") if isinstance(data, Mapping) else None
    if not isinstance(task_id, int):
        raise UsageError("no data.loopline_task: was it exported by `loopline label export`?")
    if "annotations" not in item and "completions" not in item:  # JSON_MIN
        value = item.get(FROM_NAME)
        annotator = item.get("annotator", "label-studio")
        return task_id, None if value is None else _first(value), _annotator(annotator)
    annotations = [
        a for a in (item.get("annotations") or item.get("completions") or []) if isinstance(a, Mapping)
    ]
    if not annotations:
        return task_id, None, ""
    latest = annotations[-1]
    who = _annotator(latest.get("completed_by", "label-studio"))
    if latest.get("was_cancelled"):
        return task_id, _SKIPPED, who
    for result in latest.get("result") or []:
        if isinstance(result, Mapping) and result.get("from_name") == FROM_NAME:
            value = result.get("value") or {}
            for field in ("choices", "text", "number", "rating", "labels", "taxonomy"):
                if field in value:
                    return task_id, _first(value[field]), who
    raise UsageError(
        f"task {task_id}: its annotation has no result named {FROM_NAME!r} (choices, text or number)"
    )


def _first(value: Any) -> Any:
    while isinstance(value, list):
        if not value:
            return None
        value = value[0]
    return value


def _annotator(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("email") or value.get("id")
    return value if isinstance(value, str) else f"label-studio:{value}"
