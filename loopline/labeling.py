"""Labeling: mined candidates become tasks in a queue; committed labels join a dataset.

    from loopline import labeling

    queue = labeling.LabelingQueue("digits")
    queue.add(candidates)
    for task in queue.claim(10):
        queue.submit(task, label=7)
    queue.commit("digits-train")        # a new version of digits-train, with lineage

Quality control: `queue.configure(dataset="digits-train", quality=QualityControl(agreement=0.1,
gold="digits-gold@1", gold_share=0.1, min_accuracy=0.9))`, then `queue.quality()`. A label of
another type than the dataset's labels raises `LabelTypeError`.

Label Studio's JSON task format: `export_tasks`, `import_annotations`, `labeling_config`
(and `loopline label export/import` on the command line).
"""

from __future__ import annotations

from loopline.cl.labeling.label_studio import ImportReport, export_tasks, import_annotations, labeling_config
from loopline.cl.labeling.labels import LabelType
from loopline.cl.labeling.quality import LabelerQuality, QualityReport
from loopline.cl.labeling.queue import LabelingCommit, LabelingQueue
from loopline.cl.store.errors import LabelTypeError, TaskNotFoundError, TaskStateError
from loopline.cl.store.records import LabelingTask, QualityControl, QueueSettings, TaskState

__all__ = [
    "ImportReport",
    "LabelType",
    "LabelTypeError",
    "LabelerQuality",
    "LabelingCommit",
    "LabelingQueue",
    "LabelingTask",
    "QualityControl",
    "QualityReport",
    "QueueSettings",
    "TaskNotFoundError",
    "TaskState",
    "TaskStateError",
    "export_tasks",
    "import_annotations",
    "labeling_config",
]
