"""The labeling queue: tasks from candidates, claims and leases, skip, review, commit with lineage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from loopline import Dataset, miners, models
from loopline.cl.store.workspace import Workspace
from loopline.errors import UsageError
from loopline.inferences import InferenceLog, InferenceQuery
from loopline.labeling import LabelingQueue, LabelTypeError, TaskStateError
from loopline.miners import Candidates, InferenceTable
from loopline.storage.artifacts import LocalArtifactStore
from loopline.storage.sql.store import SqlMetadataStore
from loopline.testing import ManualClock


class Always:
    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.zeros(len(features), dtype=int)


@pytest.fixture
def ws(sqlite_url: str, tmp_path: Path) -> Iterator[Workspace]:
    metadata = SqlMetadataStore(sqlite_url)
    workspace = Workspace.from_stores(metadata, LocalArtifactStore(tmp_path / "artifacts"))
    models.register("digits", Always(), workspace=workspace)
    Dataset("train", np.zeros((3, 64)), [0, 1, 2], ids=["t0", "t1", "t2"], display="image 8x8").save(
        workspace=workspace
    )
    yield workspace
    metadata.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def candidates(ws: Workspace) -> Candidates:
    """Four logged inferences (inputs 64 floats), all mined by low margin: r3 first, r0 last."""
    log = InferenceLog(ws, background=False)
    scores = np.array([[0.9, 0.1], [0.7, 0.3], [0.6, 0.4], [0.5, 0.5]])
    log.log_batch(
        "digits@1",
        np.arange(4 * 64.0).reshape(4, 64),
        [0, 0, 0, 0],
        scores=scores,
        request_ids=["r0", "r1", "r2", "r3"],
        display="image 8x8",
    )
    log.flush()
    return miners.low_confidence(InferenceTable.load(InferenceQuery(), workspace=ws))


@pytest.fixture
def queue(ws: Workspace, clock: ManualClock, candidates: Candidates) -> LabelingQueue:
    queue = LabelingQueue("digits", workspace=ws, clock=clock, lease_s=60)
    queue.add(candidates)
    return queue


def test_candidates_become_tasks_once(queue: LabelingQueue, candidates: Candidates) -> None:
    tasks = queue.tasks()
    assert [t.request_id for t in tasks] == ["r3", "r2", "r1", "r0"]
    assert (tasks[0].suggestion, tasks[0].display, tasks[0].miner) == (
        0,
        "image 8x8",
        "low_confidence:margin",
    )
    assert queue.add(candidates) == []
    assert queue.counts() == {"open": 4}
    assert np.array_equal(queue.example(tasks[0])["features"], np.arange(3 * 64.0, 4 * 64.0))


def test_labelers_claim_different_tasks(queue: LabelingQueue) -> None:
    ada = queue.claim(2, labeler="ada")
    bob = queue.claim(5, labeler="bob")
    assert [t.request_id for t in ada] == ["r3", "r2"] and [t.request_id for t in bob] == ["r1", "r0"]
    with pytest.raises(TaskStateError, match="bob has claimed it"):
        queue.submit(bob[0], 1, labeler="ada")
    assert queue.submit(ada[0], 1, labeler="ada").labeled_by == "ada"


def test_an_expired_lease_lets_another_labeler_take_over(queue: LabelingQueue, clock: ManualClock) -> None:
    (task,) = queue.claim(1, labeler="ada")
    clock.advance(61)
    (again,) = queue.claim(1, labeler="bob")
    assert again.id == task.id and again.claimed_by == "bob"
    with pytest.raises(TaskStateError, match="bob has claimed it"):
        queue.submit(task, 1, labeler="ada")


def test_an_open_task_can_be_labeled_without_a_claim(queue: LabelingQueue) -> None:
    task = queue.tasks()[0]
    assert queue.submit(task.id, 5, labeler="ada").state == "labeled"
    with pytest.raises(TaskStateError, match="it is labeled"):
        queue.submit(task.id, 6, labeler="bob")


def test_a_skipped_task_goes_behind_and_leaves_after_too_many_skips(queue: LabelingQueue) -> None:
    first = queue.claim(1, labeler="ada")[0]
    assert queue.skip(first, labeler="ada").state == "open"
    assert queue.tasks()[-1].id == first.id
    queue.skip(first.id, labeler="bob")
    assert queue.skip(first.id, labeler="cy").state == "skipped"
    assert queue.get(first.id).skips == 3


def test_commit_appends_the_labels_with_their_lineage(queue: LabelingQueue, ws: Workspace) -> None:
    for task in queue.claim(2, labeler="ada"):
        queue.submit(task, 1, labeler="ada")
    commit = queue.commit("train")
    assert (commit.ref, commit.added, commit.relabeled, len(commit.tasks)) == ("train@2", 2, 0, 2)
    train = Dataset.load("train@2", workspace=ws)
    assert train.ids[-2:].tolist() == ["r3", "r2"] and train.labels.tolist()[-2:] == [1, 1]  # type: ignore[union-attr]
    lineage = train.example("r3")["lineage"]
    assert (lineage["source"], lineage["request_id"], lineage["miner"], lineage["labeler"]) == (
        "labeling",
        "r3",
        "low_confidence:margin",
        "ada",
    )
    assert train.example("t0")["lineage"]["source"] == "import"
    assert queue.counts() == {"committed": 2, "open": 2}
    assert {t.committed_to for t in queue.tasks(["committed"])} == {"train@2"}
    assert ws.store.get_dataset_version("train").added == 2


def test_commit_with_nothing_labeled_saves_nothing(queue: LabelingQueue, ws: Workspace) -> None:
    assert str(queue.commit("train")) == "nothing to commit"
    assert len(Dataset.versions("train", workspace=ws)) == 1


def test_a_label_of_another_type_is_refused_when_it_is_given(queue: LabelingQueue) -> None:
    queue.configure(dataset="train")
    first = queue.tasks()[0]
    for wrong in ("7", 7.5, True):
        with pytest.raises(LabelTypeError, match="task .*'s label .* but the labels of train are int"):
            queue.submit(first, wrong, labeler="ada")
    with pytest.raises(LabelTypeError, match="task .*'s label is missing"):
        queue.submit(first, None, labeler="ada")
    assert queue.get(first).state == "open"
    assert queue.submit(first, np.int64(7), labeler="ada").label == 7
    assert queue.parse_label(first, "7") == 7  # a label typed as text: the command line, Label Studio
    with pytest.raises(LabelTypeError, match="'7.5' is not an int"):
        queue.parse_label(first, "7.5")


def test_a_label_that_does_not_fit_the_dataset_is_refused_at_commit_with_the_way_out(
    queue: LabelingQueue, ws: Workspace
) -> None:
    first, second, third = queue.tasks()[:3]  # the queue does not know its dataset: the commit checks
    queue.submit(first, "seven", labeler="ada")
    queue.submit(second, 7.9, labeler="ada")  # never cut to 7
    queue.submit(third, 2, labeler="ada")
    with pytest.raises(
        LabelTypeError, match=r"2 task\(s\) have labels that are not int like the labels of train@1"
    ) as refused:
        queue.commit("train")
    assert (
        "'seven'" in str(refused.value)
        and "7.9" in str(refused.value)
        and "mode=review" in str(refused.value)
    )
    assert len(Dataset.versions("train", workspace=ws)) == 1
    queue.review(first, approve=True, label=7, reviewer="linus")  # corrected by a reviewer
    queue.review(second, approve=False, reviewer="linus")  # back to the queue
    assert queue.commit("train").added == 2


def test_with_review_only_approved_tasks_are_committed(ws: Workspace, queue: LabelingQueue) -> None:
    reviewed = LabelingQueue("digits", review=True, workspace=ws)
    a, b, c = queue.tasks()[:3]
    for task in (a, b, c):
        queue.submit(task, 1, labeler="ada")
    reviewed.review(a, approve=True, reviewer="rev")
    reviewed.review(b, approve=True, label=2, reviewer="rev")
    rejected = reviewed.review(c, approve=False, reviewer="rev")
    assert (rejected.state, rejected.label, rejected.reviewed_by) == ("open", None, "rev")
    commit = reviewed.commit("train")
    assert commit.added == 2
    data = Dataset.load("train", workspace=ws)
    assert (
        data.example(b.example_id)["label"] == 2
        and data.example(b.example_id)["lineage"]["reviewer"] == "rev"
    )
    with pytest.raises(TaskStateError, match="only labeled tasks are reviewed"):
        reviewed.review(c, approve=True)


def test_an_oracle_can_label_the_whole_queue(queue: LabelingQueue) -> None:
    assert queue.label_all(lambda tasks: [len(t.reason) % 10 for t in tasks]) == 4
    assert queue.counts() == {"labeled": 4}
    assert {t.labeled_by for t in queue.tasks()} == {"oracle"}


def test_suspected_label_errors_are_relabeled_in_place(ws: Workspace, clock: ManualClock) -> None:
    train = Dataset.load("train", workspace=ws)
    suspects = Candidates.of("label_errors:builtin", ["t1"], [0.9], "looks like a 2", [2], source=train.ref)
    queue = LabelingQueue("train-fixes", workspace=ws, clock=clock)
    (task,) = queue.add(suspects)
    assert (task.key, task.source, task.example_id) == ("train:t1", "train@1", "t1")
    queue.submit(task, 2, labeler="ada")
    commit = queue.commit("train")
    assert (commit.added, commit.relabeled) == (0, 1)
    fixed = Dataset.load("train", workspace=ws)
    assert len(fixed) == 3 and fixed.example("t1")["label"] == 2
    assert fixed.example("t1")["lineage"]["source"] == "relabeling"
    assert fixed.diff(train).changed == ("t1",)


def test_queue_names_and_task_references_are_checked(ws: Workspace) -> None:
    with pytest.raises(ValueError, match="plain name"):
        LabelingQueue(" spaced ", workspace=ws)
    with pytest.raises(ValueError, match="LabelingTask or its id"):
        LabelingQueue("q", workspace=ws).get("3")  # type: ignore[arg-type]


def test_a_queue_takes_candidates_not_ids(ws: Workspace) -> None:
    with pytest.raises(UsageError, match=r"takes the Candidates that a miner or mine\(\) returns, got list"):
        LabelingQueue("q", workspace=ws).add([1, 2])  # type: ignore[arg-type]


def test_several_labelers_at_once_never_label_a_task_twice(ws: Workspace, queue: LabelingQueue) -> None:
    import threading

    labeled: list[int] = []

    def work(name: str) -> None:
        mine = LabelingQueue("digits", workspace=ws)
        while tasks := mine.claim(1, labeler=name):
            labeled.append(mine.submit(tasks[0], 1, labeler=name).id)

    threads = [threading.Thread(target=work, args=(f"labeler{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(labeled) == sorted(t.id for t in queue.tasks()) and len(set(labeled)) == 4


def test_tasks_record_when_they_were_labeled(queue: LabelingQueue, clock: ManualClock) -> None:
    clock.advance(30)
    task = queue.submit(queue.tasks()[0], 1, labeler="ada")
    assert task.labeled_at == dt.datetime(2030, 1, 1, 0, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
def mixed_batch(ws: Workspace) -> LabelingQueue:
    """A batch of three 64-float inputs and one of 65 (so the batch keeps its inputs as a list),
    two of them corrected by users and queued."""
    log = InferenceLog(ws, background=False)
    inputs = [np.ones(64), np.full(64, 2.0), np.full(64, 3.0), np.ones(65)]
    log.log_batch("digits@1", inputs, [0, 0, 0, 0], request_ids=["a", "b", "c", "odd"])
    log.flush()
    for request_id in ("b", "odd"):
        log.feedback(request_id, "correction", label=4)
    queue = LabelingQueue("mixed", workspace=ws)
    queue.add(miners.feedback(InferenceTable.load(InferenceQuery(), workspace=ws)))
    return queue


def test_an_input_of_a_mixed_batch_joins_an_array_dataset_as_an_array(
    mixed_batch: LabelingQueue, ws: Workspace
) -> None:
    (task,) = [t for t in mixed_batch.tasks() if t.request_id == "b"]
    mixed_batch.submit(task, 4, labeler="ada")
    assert mixed_batch.commit("train").added == 1
    train = Dataset.load("train", workspace=ws)
    assert train.features.shape == (4, 64) and train.example("b")["features"].tolist() == [2.0] * 64


def test_a_commit_names_only_the_inputs_that_do_not_fit(mixed_batch: LabelingQueue, ws: Workspace) -> None:
    mixed_batch.label_all(lambda tasks: [4] * len(tasks))
    with pytest.raises(
        UsageError,
        match=r"^1 labeled task\(s\) cannot join train.*: task \d+ \(request odd\): .*shape \(65,\)",
    ) as refused:
        mixed_batch.commit("train")
    assert "request b" not in str(refused.value)
    assert len(Dataset.versions("train", workspace=ws)) == 1
