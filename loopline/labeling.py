"""Labeling: mined candidates become tasks in a queue; committed labels join a dataset.

    from loopline import labeling

    queue = labeling.LabelingQueue("digits")
    queue.add(candidates)
    for task in queue.claim(10):
        queue.submit(task, label=7)
    queue.commit("digits-train")        # a new version of digits-train, with lineage

Label Studio's JSON task format: `export_tasks`, `import_annotations`, `labeling_config`
(and `loopline label export/import` on the command line).
"""

from __future__ import annotations

from loopline.cl.label_studio import ImportReport, export_tasks, import_annotations, labeling_config
from loopline.cl.labeling import LabelingCommit, LabelingQueue
from loopline.cl.loop_errors import TaskNotFoundError, TaskStateError
from loopline.cl.loop_records import LabelingTask, TaskState

__all__ = [
    "ImportReport",
    "LabelingCommit",
    "LabelingQueue",
    "LabelingTask",
    "TaskNotFoundError",
    "TaskState",
    "TaskStateError",
    "export_tasks",
    "import_annotations",
    "labeling_config",
]
