"""Label Studio's JSON task format: tasks out, annotations back in."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from loopline import Dataset, miners, models
from loopline.cl.store.workspace import Workspace
from loopline.inferences import InferenceLog, InferenceQuery
from loopline.labeling import LabelingQueue, export_tasks, import_annotations, labeling_config
from loopline.miners import InferenceTable


class Always:
    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.zeros(len(features), dtype=int)


@pytest.fixture
def queue() -> LabelingQueue:
    ws = Workspace.in_memory()
    models.register("digits", Always(), workspace=ws)
    Dataset("train", np.zeros((1, 64)), [0], ids=["t0"], display="image 8x8").save(workspace=ws)
    log = InferenceLog(ws, background=False)
    scores = np.array([[0.6, 0.4], [0.5, 0.5]])
    log.log_batch(
        "digits@1",
        np.arange(2)[:, None] + np.ones((2, 64)),
        [3, 5],
        scores=scores,
        request_ids=["a", "b"],
        display="image 8x8",
    )
    log.log("digits@1", "is this spam?", 1, scores=[0.45, 0.55], request_id="c", display="text")
    log.flush()
    queue = LabelingQueue("digits", workspace=ws)
    queue.configure(dataset="train")
    queue.add(miners.low_confidence(InferenceTable.load(InferenceQuery(), workspace=ws)))
    return queue


def annotated(task: dict[str, Any], choice: str, *, cancelled: bool = False) -> dict[str, Any]:
    """The task as Label Studio exports it after an annotator chose `choice`."""
    result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [choice]}}]
    annotation = {
        "completed_by": {"id": 1, "email": "ann@example.com"},
        "result": result,
        "was_cancelled": cancelled,
    }
    return {**task, "id": 1000 + task["data"]["loopline_task"], "annotations": [annotation]}


def test_tasks_are_exported_as_label_studio_tasks(queue: LabelingQueue) -> None:
    exported = export_tasks(queue)
    assert [t["data"]["example_id"] for t in exported] == ["b", "c", "a"]
    image = exported[0]
    assert image["data"]["image"].startswith("data:image/png;base64,")
    assert image["data"]["loopline_task"] == queue.tasks()[0].id
    (prediction,) = image["predictions"]
    assert (
        prediction["result"][0]["value"] == {"choices": ["5"]}
        and prediction["model_version"] == "low_confidence:margin"
    )
    assert exported[1]["data"]["text"] == "is this spam?"


def test_annotations_come_back_as_labels(queue: LabelingQueue) -> None:
    image, text, other_image = export_tasks(queue)
    report = import_annotations(
        queue, [annotated(image, "7"), annotated(text, "", cancelled=True), annotated(other_image, "1")]
    )
    assert (len(report.labeled), len(report.skipped), report.problems) == (2, 1, ())
    labeled = queue.get(image["data"]["loopline_task"])
    assert (labeled.state, labeled.label, labeled.labeled_by) == ("labeled", 7, "ann@example.com")
    assert queue.get(text["data"]["loopline_task"]).skips == 1
    assert queue.commit("train").added == 2
    assert Dataset.load("train", workspace=queue.workspace).labels.tolist() == [0, 7, 1]  # type: ignore[union-attr]


def test_a_choice_that_is_not_of_the_labels_type_is_not_imported(queue: LabelingQueue) -> None:
    image, _, other = export_tasks(queue)
    report = import_annotations(queue, [annotated(image, "seven"), annotated(other, "7.5")])
    assert report.labeled == () and len(report.problems) == 2
    assert "'seven' is not an int, but the labels of train are int" in report.problems[0]
    assert queue.counts() == {"open": 3}


def test_an_input_of_another_kind_cannot_join_the_dataset(queue: LabelingQueue) -> None:
    text = export_tasks(queue)[1]
    import_annotations(queue, [annotated(text, "1")])
    with pytest.raises(ValueError, match=r"cannot join train.*: task \d+ \(request c\): .* of type list"):
        queue.commit("train")
    assert queue.counts()["labeled"] == 1


def test_the_minimal_json_export_is_read_too(queue: LabelingQueue) -> None:
    task = export_tasks(queue)[0]
    minimal = {**task["data"], "id": 7, "label": "9", "annotator": "min@example.com"}
    report = import_annotations(queue, [minimal], labeler="override")
    assert report.labeled == (task["data"]["loopline_task"],)
    assert queue.get(task["data"]["loopline_task"]).labeled_by == "override"


def test_unusable_items_are_reported_not_fatal(queue: LabelingQueue) -> None:
    task = export_tasks(queue)[0]
    wrong_name = annotated(task, "7")
    wrong_name["annotations"][0]["result"][0]["from_name"] = "digit"
    report = import_annotations(queue, [{"data": {}}, wrong_name, annotated(task, "7"), annotated(task, "8")])
    assert len(report.labeled) == 1 and len(report.problems) == 3
    assert "loopline_task" in report.problems[0] and "no result named 'label'" in report.problems[1]
    assert "it is labeled" in report.problems[2]


def test_the_labeling_config_names_what_the_import_reads() -> None:
    config = labeling_config([0, 1, 2], display="image 8x8")
    assert '<Image name="image" value="$image"' in config
    assert '<Choices name="label" toName="image"' in config and '<Choice value="2"/>' in config


def test_an_annotation_for_another_queue_is_not_imported(queue: LabelingQueue) -> None:
    task = export_tasks(queue)[0]
    elsewhere = LabelingQueue("elsewhere", workspace=queue.workspace)
    report = import_annotations(elsewhere, [annotated(task, "7")])
    assert report.labeled == () and "is in the queue 'digits', not in 'elsewhere'" in report.problems[0]
    assert queue.get(task["data"]["loopline_task"]).state == "open"
