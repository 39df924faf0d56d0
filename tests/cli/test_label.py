"""`loopline label`: queues listed, a Label Studio round trip, commits; and `gc` keeping inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loopline import Dataset, miners, models
from loopline.cl.store.workspace import Workspace
from loopline.cli.main import cli
from loopline.inferences import InferenceLog, InferenceQuery, load_input
from loopline.labeling import LabelingQueue


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


class Zero:
    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.zeros(len(features), dtype=int)


@pytest.fixture
def queue(home: Path) -> LabelingQueue:
    """Queue `digits` with three tasks on logged 8x8 images; dataset `train` with one example."""
    models.register("digits", Zero())
    Dataset("train", np.zeros((1, 64)), [0], ids=["t0"], display="image 8x8").save()
    with InferenceLog(background=False) as log:
        scores = np.array([[0.5, 0.5], [0.6, 0.4], [0.9, 0.1]])
        log.log_batch(
            "digits@1",
            np.arange(3)[:, None] + np.ones((3, 64)),
            [0, 0, 0],
            scores=scores,
            request_ids=["a", "b", "c"],
            display="image 8x8",
        )
    queue = LabelingQueue("digits")
    queue.add(miners.low_confidence(miners.InferenceTable.load(InferenceQuery())))
    return queue


def test_ls_lists_queues_with_their_states(queue: LabelingQueue) -> None:
    queue.submit(queue.tasks()[0], 1, labeler="ada")
    code, output = invoke("label", "ls")
    assert code == 0
    (row,) = [line.split() for line in output.splitlines() if line.split()[:1] == ["digits"]]
    assert row == ["digits", "2", "0", "1", "0", "0", "0", "0", "3"]


def test_status_shows_counts_labelers_and_the_next_tasks(queue: LabelingQueue) -> None:
    queue.submit(queue.tasks()[0], 1, labeler="ada")
    code, output = invoke("label", "status", "digits")
    assert code == 0 and "2 open" in output and "1 labeled" in output and "labeled by: ada 1" in output
    assert "margin" in output and " b " in output
    code, output = invoke("label", "status", "nope")
    assert code == 1 and "no labeling queue named 'nope'" in output


def test_a_label_studio_round_trip_commits_a_new_dataset_version(
    queue: LabelingQueue, tmp_path: Path
) -> None:
    exported, config = tmp_path / "tasks.json", tmp_path / "config.xml"
    code, output = invoke(
        "label", "export", "digits", "-o", str(exported), "--config", str(config), "--choices", "0,1"
    )
    assert code == 0 and "wrote 3 task(s)" in output
    assert '<Choice value="1"/>' in config.read_text()
    tasks = json.loads(exported.read_text())
    for task in tasks:  # what Label Studio's JSON export looks like once annotated
        result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["1"]}}]
        task["annotations"] = [{"completed_by": {"email": "ann@example.com"}, "result": result}]
    annotated = tmp_path / "export.json"
    annotated.write_text(json.dumps(tasks))
    code, output = invoke("label", "import", "digits", str(annotated), "--commit", "train")
    assert code == 0 and "3 labeled, 0 skipped" in output and "train@2: +3 labeled examples" in output
    data = Dataset.load("train")
    assert data.labels.tolist() == [0, 1, 1, 1] and set(data.lineage["labeler"][1:]) == {"ann@example.com"}  # type: ignore[union-attr]


def test_import_refuses_a_file_that_is_not_json(queue: LabelingQueue, tmp_path: Path) -> None:
    broken = tmp_path / "export.csv"
    broken.write_text("id,label\n1,7\n")
    code, output = invoke("label", "import", "digits", str(broken))
    assert code == 1 and "is not JSON" in output


def test_commit_adds_the_labeled_tasks(queue: LabelingQueue) -> None:
    for task in queue.tasks()[:2]:
        queue.submit(task, 1, labeler="ada")
    code, output = invoke("label", "commit", "digits", "--dataset", "train", "-m", "two labels")
    assert code == 0 and "train@2: +2 labeled examples" in output
    assert Dataset.versions("train")[-1].message == "two labels"
    code, output = invoke("label", "commit", "digits", "--dataset", "train")
    assert output.strip() == "nothing to commit"


def test_gc_keeps_logged_inputs_and_labeling_sources(queue: LabelingQueue) -> None:
    garbage = Workspace.open().put("nothing refers to this").id
    code, output = invoke("gc", "--older-than", "0", "--delete", "--yes")
    assert code == 0 and "and 1 artifact(s)" in output
    assert not Workspace.open().artifacts.exists(garbage)
    record = Workspace.open().store.get_inference("a")
    assert np.array_equal(load_input(record), np.ones(64))  # request "a" is the first row
    assert queue.example(queue.tasks()[0])["id"] in {"a", "b", "c"}
