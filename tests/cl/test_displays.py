"""How continuous-learning values show in a notebook: compact HTML cards linked to the dashboard,
short plain-text reprs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pytest

import loopline
from loopline import Dataset, Scenario, regression_test
from loopline.cl.store.records import DatasetVersion, LoopRound, ModelVersion
from loopline.cl.store.workspace import Workspace

NOW = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)


@pytest.fixture
def dashboard() -> Iterator[str]:
    yield loopline.dashboard_url("http://dash.test:8707/") or ""
    loopline.dashboard_url("")


def images(n: int = 40) -> Dataset:
    labels = np.arange(n) % 2
    features = np.repeat(labels[:, None], 64, axis=1) * 16.0
    return Dataset("digits", features, labels, ids=[f"d{i}" for i in range(n)], display="image 8x8")


def test_a_saved_dataset_shows_its_examples_as_pictures_and_links_its_version(dashboard: str) -> None:
    saved = images().save(workspace=Workspace.in_memory())
    shown = saved._repr_html_()
    assert "digits@1" in shown and shown.count("<img") == 12 and "and 28 more" in shown
    assert 'href="http://dash.test:8707/datasets/digits/1"' in shown
    assert repr(saved) == "<Dataset digits@1: 40 examples>"


def test_an_unsaved_dataset_of_text_shows_a_table_and_no_link(dashboard: str) -> None:
    shown = Dataset("notes", ["<b>bold</b>", "plain"], ["a", "b"], ids=["n1", "n2"])._repr_html_()
    assert "&lt;b&gt;bold&lt;/b&gt;" in shown and "<b>bold" not in shown  # escaped
    assert "dashboard" not in shown


def test_a_report_shows_scenarios_with_intervals_and_flipped_pictures(dashboard: str) -> None:
    data = images()
    wrong = data.labels.copy()
    wrong[data.labels == 1] = 0  # every "1" flips
    report = regression_test(
        wrong, data, [Scenario("ones", labels=[1]), Scenario("zeros", labels=[0])], data.labels
    )
    shown = report._repr_html_()
    assert "REGRESSION" in shown and "FAIL" in shown and "pass" in shown
    assert "0.000 [" in shown and "1.000 [" in shown  # accuracies with their Wilson intervals
    assert "flipped right → wrong" in shown and shown.count("<img") == 20 and "d1: 1 → 0" in shown
    assert 'href="http://dash.test:8707/reports/' in shown
    assert repr(report).startswith("<RegressionReport 'regression test': REGRESSION, 1 of 2 scenarios failed")


def test_a_model_version_shows_its_lineage_and_metrics(dashboard: str) -> None:
    version = ModelVersion(
        "digits", 3, "a" * 64, "sklearn.pipeline:Pipeline", NOW, "ada", "r" * 32, "digits-train@2",
        metrics={"accuracy": 0.97},
    )  # fmt: skip
    shown = version._repr_html_()
    assert "digits@3" in shown and "digits-train@2" in shown and "0.97" in shown
    assert 'href="http://dash.test:8707/models/digits"' in shown
    assert repr(version) == "<ModelVersion digits@3: sklearn.pipeline:Pipeline, trained on digits-train@2>"


def test_a_dataset_version_and_a_loop_round_link_their_pages(dashboard: str) -> None:
    version = DatasetVersion("team/digits", 2, "b" * 64, 10, 3, 1, 0, 1, NOW, "ada", message="more <labels>")
    assert 'href="http://dash.test:8707/datasets/team/digits/2"' in version._repr_html_()
    assert "more &lt;labels&gt;" in version._repr_html_()
    assert repr(version) == "<DatasetVersion team/digits@2: 10 examples, +3 -1 ~0>"
    round_ = LoopRound(
        "digits loop", 4, "promoted", NOW, "digits", "digits-train", "q", production_before="digits@3",
        production_after="digits@4", passed=True, promoted=True, scenarios={"all": {"passed": True, "size": 9}},
    )  # fmt: skip
    shown = round_._repr_html_()
    assert "digits@3 → digits@4" in shown and "promoted" in shown
    assert 'href="http://dash.test:8707/loops/digits%20loop"' in shown
    assert repr(round_) == "<LoopRound digits loop #4: promoted, production digits@4>"


def test_no_link_is_shown_when_no_dashboard_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPLINE_SERVER", raising=False)
    assert "href" not in images().save(workspace=Workspace.in_memory())._repr_html_()
