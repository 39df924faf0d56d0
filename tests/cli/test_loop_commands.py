"""`loopline loop` and the quality-control side of `loopline label`: configure a queue, label and
review tasks typed as the dataset's labels, read the labelers' numbers, accept a blocked round."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

import loopline
from examples.continuous_improvement import pipeline, traffic
from loopline import Dataset
from loopline.cl.loop import loop_round
from loopline.cli.main import cli
from loopline.labeling import LabelingQueue


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def queued(home: Path) -> LabelingQueue:
    """The digits loop after one round with nobody labeling: 40 open tasks."""
    pipeline.setup()
    traffic.serve(pipeline.traffic_chunks(3)[0], model="digits@production", seed=1)
    loopline.LocalRunner(echo=False).run(loop_round(pipeline.spec(labels="queue")))
    return LabelingQueue(pipeline.LOOP)


def test_configure_sets_the_dataset_and_quality_control(queued: LabelingQueue) -> None:
    code, output = invoke(
        "label", "configure", pipeline.LOOP, "--gold", f"{pipeline.GOLD}@1", "--gold-share", "0.2",
        "--min-accuracy", "0.9", "--agreement", "0.1",
    )  # fmt: skip
    assert code == 0, output
    assert "dataset digits-train (int labels)" in output and "agreement 10%" in output
    assert queued.quality_control.min_accuracy == 0.9 and queued.settings.labels == tuple(range(10))
    code, output = invoke("label", "configure", pipeline.LOOP, "--gold-share", "0.9")
    assert code == 1 and "gold_share above 0.5" in output


def test_submit_and_review_read_labels_as_the_datasets_type(queued: LabelingQueue) -> None:
    first, second = queued.tasks(limit=2)
    code, output = invoke("label", "submit", pipeline.LOOP, str(first.id), "7", "--labeler", "ada")
    assert code == 0 and "labeled 7 by ada" in output and queued.get(first).label == 7
    code, output = invoke("label", "submit", pipeline.LOOP, str(second.id), "seven")
    assert code == 1 and "'seven' is not an int, but the labels of digits-train are int" in output
    code, output = invoke("label", "review", pipeline.LOOP, str(first.id), "--approve", "--label", "1")
    assert code == 0 and "approved 1" in output and queued.get(first).state == "approved"


def test_status_lists_what_waits_for_a_person_and_quality_the_labelers(queued: LabelingQueue) -> None:
    queued.configure(review=True)
    for task in queued.tasks(limit=3):
        queued.submit(task, 1, labeler="bob")
    code, output = invoke("label", "status", pipeline.LOOP)
    assert code == 0 and "3 labeled tasks wait for a person" in output
    code, output = invoke("label", "quality", pipeline.LOOP)
    assert code == 0 and "bob: 3 labels, gold —" in output


def test_loop_history_and_accept_a_blocked_round(home: Path) -> None:
    pipeline.setup()
    traffic.serve(pipeline.traffic_chunks(3)[0], model="digits@production", seed=1)
    spec = dataclasses.replace(pipeline.spec(), oracle=pipeline.random_labels)
    blocked = loopline.LocalRunner(echo=False).run(loop_round(spec))
    assert blocked.state == "blocked"
    code, output = invoke("loop", "ls")
    assert code == 0 and "digits-loop" in output and "blocked" in output
    code, output = invoke("loop", "history", pipeline.LOOP)
    assert code == 0 and "went back to review" in output and "round 1: the gate blames most" in output
    code, output = invoke("loop", "accept", pipeline.LOOP, "1")
    assert code == 2 and "--reason" in output
    code, output = invoke("loop", "accept", pipeline.LOOP, "1", "--reason", "checked", "--by", "ada")
    assert code == 0 and f"labels accepted by ada into {blocked.proposed}" in output
    assert Dataset.load(pipeline.TRAIN).ref == blocked.proposed
    code, output = invoke("loop", "accept", pipeline.LOOP, "1", "--reason", "again")
    assert code == 1 and "is accepted: only the labels of a blocked round" in output
    code, output = invoke("loop", "history", "nope")
    assert code == 1 and "no loop named 'nope'" in output
