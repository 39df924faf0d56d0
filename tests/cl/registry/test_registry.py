"""The model registry: versions with lineage, aliases, and promotion gated by regression reports."""

from __future__ import annotations

import getpass
from pathlib import Path

import numpy as np
import pytest

import loopline
from loopline import Dataset, RegressionReport, Scenario, models, regression_test
from loopline.cl.store.errors import DatasetNotFoundError, ModelNotFoundError, PromotionRefusedError
from loopline.cl.store.workspace import Workspace
from loopline.errors import RunNotFoundError, UsageError


class Constant:
    """A model that predicts `value` for every example."""

    def __init__(self, value: int) -> None:
        self.value = value

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.full(len(features), self.value)


@pytest.fixture
def ws() -> Workspace:
    return Workspace.in_memory()


@pytest.fixture
def golden() -> Dataset:
    return Dataset(
        "golden", np.zeros((20, 2)), np.array([1] * 18 + [0] * 2), ids=[f"g{i}" for i in range(20)]
    )


def gate(candidate: str, golden: Dataset, ws: Workspace) -> RegressionReport:
    return regression_test(candidate, golden, [Scenario("all")], baseline="m@production", workspace=ws)


def test_versions_are_immutable_and_carry_lineage(ws: Workspace) -> None:
    train = Dataset("train", np.zeros((3, 2)), [0, 1, 1], ids=["a", "b", "c"]).save(workspace=ws)
    first = models.register("m", Constant(1), dataset=train, metrics={"accuracy": 0.9}, workspace=ws)
    second = models.register("m", Constant(0), description="all zeros", workspace=ws)
    assert (first.ref, second.ref) == ("m@1", "m@2")
    assert (first.dataset, first.metrics, first.created_by) == (
        "train@1",
        {"accuracy": 0.9},
        getpass.getuser(),
    )
    assert first.type_name.endswith("Constant") and first.code_version  # this repository's commit
    assert [v.version for v in models.versions("m", workspace=ws)] == [1, 2]


def test_a_dataset_name_is_pinned_to_its_latest_version(ws: Workspace) -> None:
    train = Dataset("train", np.zeros((3, 2)), [0, 1, 1], ids=["a", "b", "c"]).save(workspace=ws)
    first = models.register("m", Constant(1), dataset="train", workspace=ws)
    train.append(np.ones((1, 2)), [0], ids=["d"]).save(workspace=ws)
    second = models.register("m", Constant(1), dataset="train", workspace=ws)
    assert (first.dataset, second.dataset) == ("train@1", "train@2")


@pytest.mark.parametrize(
    ("dataset", "message"),
    [("nope@1", "no dataset named 'nope'"), ("train@2", "dataset 'train' has no version 2")],
)
def test_a_dataset_that_was_never_saved_is_refused(ws: Workspace, dataset: str, message: str) -> None:
    Dataset("train", np.zeros((3, 2)), [0, 1, 1], ids=["a", "b", "c"]).save(workspace=ws)
    with pytest.raises(DatasetNotFoundError, match=rf"models.register\(dataset='{dataset}'\): {message}"):
        models.register("m", Constant(1), dataset=dataset, workspace=ws)
    assert ws.store.latest_model_versions() == []


def test_a_training_run_must_be_a_recorded_run(runner: loopline.LocalRunner, home: Path) -> None:
    @loopline.func
    def train() -> int:
        return 1

    future = train()
    runner.run(future)
    assert models.register("m", Constant(1), training_run=future.id).training_run_id == future.id
    with pytest.raises(
        RunNotFoundError, match=r"training_run='nope'\): no run with this id.*loopline runs ls"
    ):
        models.register("m", Constant(1), training_run="nope")


@pytest.mark.parametrize(
    "metrics", [{"accuracy": "high"}, [0.9], {"accuracy": True}, {"accuracy": float("nan")}]
)
def test_metrics_must_map_names_to_numbers(ws: Workspace, metrics: object) -> None:
    with pytest.raises(UsageError, match=r"metrics=...\) must map metric names to finite numbers"):
        models.register("m", Constant(1), metrics=metrics, workspace=ws)  # type: ignore[arg-type]


def test_a_model_that_was_never_registered_has_no_versions_or_history(ws: Workspace) -> None:
    for read in (models.versions, models.history):
        with pytest.raises(ModelNotFoundError, match="no model named 'nope' is registered"):
            read("nope", workspace=ws)


def test_load_by_alias_version_or_latest(ws: Workspace) -> None:
    models.register("m", Constant(1), workspace=ws)
    models.register("m", Constant(2), workspace=ws)
    models.promote("m@1", "production", workspace=ws)
    assert models.load("m@production", workspace=ws).value == 1
    assert models.load("m@2", workspace=ws).value == 2
    assert models.load("m", workspace=ws).value == 2
    assert models.get("m@production", workspace=ws).ref == "m@1"


def test_references_that_name_nothing_say_what_exists(ws: Workspace) -> None:
    models.register("m", Constant(1), workspace=ws)
    models.promote("m@1", "production", workspace=ws)
    with pytest.raises(ModelNotFoundError, match=r"aliases of m: production -> 1"):
        models.load("m@candidate", workspace=ws)
    with pytest.raises(ModelNotFoundError, match="loopline models ls"):
        models.load("nope@production", workspace=ws)
    with pytest.raises(UsageError, match="not a model reference"):
        models.load("m@", workspace=ws)


def test_the_first_promotion_needs_no_report(ws: Workspace) -> None:
    models.register("m", Constant(1), workspace=ws)
    move = models.promote("m@1", "production", reason="first model", workspace=ws)
    assert (move.previous, move.version, move.forced, move.reason) == (None, 1, False, "first model")


def test_promotion_over_a_holder_needs_a_passing_report_against_it(ws: Workspace, golden: Dataset) -> None:
    models.register("m", Constant(1), workspace=ws)
    models.promote("m@1", "production", workspace=ws)
    models.register("m", Constant(0), workspace=ws)  # worse: wrong on 18 of 20
    with pytest.raises(PromotionRefusedError, match="a passing regression report against it is required"):
        models.promote("m@2", "production", workspace=ws)
    failing = gate("m@2", golden, ws)
    with pytest.raises(PromotionRefusedError, match=r"the regression report failed \(scenarios: all\)"):
        models.promote("m@2", "production", report=failing, workspace=ws)
    assert models.aliases("m", workspace=ws) == {"production": 1}


def test_a_passing_report_moves_the_alias_and_is_kept_as_evidence(ws: Workspace, golden: Dataset) -> None:
    models.register("m", Constant(0), workspace=ws)
    models.promote("m@1", "production", workspace=ws)
    models.register("m", Constant(1), workspace=ws)  # better
    report = gate("m@2", golden, ws)
    move = models.promote("m@2", "production", report=report, reason="fewer errors", workspace=ws)
    assert models.aliases("m", workspace=ws) == {"production": 2}
    assert move.report_id is not None and move.report_id in ws.store.referenced_artifact_ids()
    assert ws.store.get_report(move.report_id).passed
    history = models.history("m", "production", workspace=ws)
    assert [(h.previous, h.version, h.reason) for h in history] == [(None, 1, ""), (1, 2, "fewer errors")]


def test_a_report_about_other_models_does_not_count(ws: Workspace, golden: Dataset) -> None:
    models.register("m", Constant(0), workspace=ws)
    models.promote("m@1", "production", workspace=ws)
    models.register("m", Constant(1), workspace=ws)
    models.register("m", Constant(1), workspace=ws)  # the same model as version 2
    models.register("m", Constant(0), workspace=ws)
    report = gate("m@2", golden, ws)
    assert models.promote("m@3", "production", report=report, workspace=ws).version == 3  # same bytes
    with pytest.raises(PromotionRefusedError, match=r"not the current holder m@3"):
        models.promote("m@4", "production", report=report, workspace=ws)


def test_forcing_is_explicit_and_recorded(ws: Workspace, golden: Dataset) -> None:
    models.register("m", Constant(1), workspace=ws)
    models.promote("m@1", "production", workspace=ws)
    models.register("m", Constant(0), workspace=ws)
    with pytest.raises(UsageError, match="needs reason"):
        models.promote("m@2", "production", force=True, workspace=ws)
    move = models.promote("m@2", "production", force=True, reason="hotfix for incident 42", workspace=ws)
    assert move.forced and models.history("m", workspace=ws)[-1].forced


def test_promoting_the_holder_again_is_refused(ws: Workspace) -> None:
    models.register("m", Constant(1), workspace=ws)
    models.promote("m@1", "production", workspace=ws)
    with pytest.raises(UsageError, match="already points at version 1"):
        models.promote("m@1", "production", workspace=ws)
    with pytest.raises(UsageError, match="cannot be an alias"):
        models.promote("m@1", "42", workspace=ws)


def test_registering_inside_a_pipeline_records_the_training_run(
    runner: loopline.LocalRunner, home: Path
) -> None:
    @loopline.func
    def train() -> int:
        return models.register("m", Constant(3)).version

    @loopline.func
    def pipeline() -> int:
        return train()

    future = pipeline()
    assert runner.run(future) == 1
    version = models.get("m@1")
    train_run = loopline.Client().run(version.training_run_id or "")
    assert train_run.name == "train" and train_run.root_id == future.id
    assert models.load("m@1").value == 3
