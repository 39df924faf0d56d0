"""A gate never passes without checking: every criterion that cannot be decided fails or is
refused up front, and the report (or the error) says why. Checked on scikit-learn's data sets."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loopline import Dataset, Scenario, regression_test
from loopline.cl.regression.metrics import Metric
from loopline.cl.regression.predictors import Predictions
from loopline.errors import UsageError


@functools.cache
def _diabetes() -> tuple[Dataset, np.ndarray, np.ndarray]:
    """Golden diabetes progression (integral floats) with a linear and a ridge model's predictions."""
    x, y = load_diabetes(return_X_y=True)
    train, test = np.arange(300), np.arange(300, len(y))
    golden = Dataset("diabetes", x[test], y[test], ids=[f"p{i}" for i in test])
    linear = LinearRegression().fit(x[train], y[train]).predict(x[test])
    ridge = Ridge(alpha=1.0).fit(x[train], y[train]).predict(x[test])
    return golden, linear, ridge


@functools.cache
def _cancer() -> tuple[Dataset, np.ndarray, np.ndarray]:
    """Golden breast-cancer diagnoses (0 malignant, 1 benign) with a good and a bad model."""
    x, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, test = order[:350], order[350:]
    golden = Dataset("cancer", x[test], y[test], ids=[f"c{i}" for i in test])
    good = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[train], y[train]).predict(x[test])
    bad = np.where(rng.random(len(test)) < 0.45, 1 - y[test], y[test])  # wrong on about 45%
    return golden, good, bad


def diabetes() -> tuple[Dataset, np.ndarray, np.ndarray]:
    golden, linear, ridge = _diabetes()
    return golden, linear.copy(), ridge.copy()


def cancer() -> tuple[Dataset, np.ndarray, np.ndarray]:
    golden, good, bad = _cancer()
    return golden, good.copy(), bad.copy()


def test_a_default_scenario_on_a_regression_target_is_refused_naming_the_metric_and_the_task() -> None:
    golden, linear, ridge = diabetes()
    with pytest.raises(UsageError, match=r"accuracy .* regression") as refused:
        regression_test(ridge, golden, baseline=linear)
    assert "Scenario('all examples')" in str(refused.value)
    assert "no_regression='mae'" in str(refused.value)


def test_a_regression_target_is_gated_by_its_own_metrics() -> None:
    golden, linear, ridge = diabetes()
    report = regression_test(ridge, golden, [Scenario("all", no_regression=("mae", "rmse"))], baseline=linear)
    result = report.scenario("all")
    assert report.task is not None and report.task.kind == "regression"
    assert result.candidate["mae"] == pytest.approx(mean_absolute_error(golden.labels, ridge))
    assert {c.rule for c in result.checks} == {"bootstrap"}


def test_class_metrics_on_a_regression_target_are_refused_all_at_once() -> None:
    golden, linear, ridge = diabetes()
    scenarios = [Scenario("f1", at_least={"macro_f1": 0.5}), Scenario("recall", no_regression="recall[1]")]
    with pytest.raises(UsageError, match=r"3 criteria do not fit .*macro_f1.*accuracy.*recall\[1\]"):
        regression_test(ridge, golden, scenarios, baseline=linear)


@pytest.mark.parametrize("metric", ["recall[malignant]", "recall[7]", "precision[2]", "f1[1.5]"])
@pytest.mark.parametrize("criterion", ["no_regression", "at_least"])
def test_a_class_that_is_not_among_the_labels_is_refused_by_every_rule(metric: str, criterion: str) -> None:
    golden, good, bad = cancer()
    scenario = (
        Scenario("named class", no_regression=metric)
        if criterion == "no_regression"
        else Scenario("named class", at_least={metric: 0.9}, no_regression=())
    )
    with pytest.raises(UsageError, match=r"not a class of the task \(classes: 0, 1\)"):
        regression_test(bad, golden, [scenario], baseline=good)


def test_the_model_that_replaced_a_better_one_through_an_unknown_class_is_now_blocked() -> None:
    golden, good, bad = cancer()
    report = regression_test(bad, golden, [Scenario("malignant recall", no_regression="recall[0]")], good)
    assert not report.passed and report.scenario("malignant recall").candidate["recall[0]"] < 0.7


@pytest.mark.parametrize("rule", ["paired", "bootstrap", "tolerance"])
def test_a_metric_undefined_on_the_slice_fails_by_every_rule(rule: str) -> None:
    golden, good, _ = cancer()
    benign_only = Scenario("benign", labels=[1], no_regression="recall[0]", rule=rule)  # type: ignore[arg-type]
    report = regression_test(good, golden, [benign_only], baseline=good.copy())
    (check,) = report.scenario("benign").checks
    assert (report.passed, check.passed) == (False, False)
    assert "undefined" in check.reason and "fails closed" in check.reason


@pytest.mark.parametrize("rule", ["paired", "tolerance"])
def test_a_metric_of_your_own_that_returns_nan_fails(rule: str) -> None:
    golden, good, _ = cancer()
    broken = Metric(lambda labels, predictions: math.nan)
    scenario = Scenario("all", no_regression="mine", rule=rule)  # type: ignore[arg-type]
    report = regression_test(good, golden, [scenario], good.copy(), metrics={"mine": broken})
    assert not report.passed and "undefined" in report.scenario("all").reason


@pytest.mark.parametrize("missing", [None, math.nan], ids=["None", "NaN"])
def test_a_baseline_without_predictions_for_some_golden_examples_is_refused(missing: object) -> None:
    golden, good, _ = cancer()
    partial = good.astype(object if missing is None else float)
    partial[[3, 7]] = missing
    with pytest.raises(UsageError, match=r"baseline model .* no prediction for 2 of 219 golden examples"):
        regression_test(good, golden, [Scenario("all")], baseline=partial)


def test_a_baseline_predicting_for_only_some_ids_is_refused() -> None:
    golden, good, _ = cancer()
    some = Predictions(good[:100], ids=golden.ids[:100].tolist())
    with pytest.raises(UsageError, match="no entry for 119 golden examples"):
        regression_test(good, golden, [Scenario("all")], baseline=some)


def test_a_candidate_whose_label_set_differs_is_refused() -> None:
    golden, good, _ = cancer()
    names = np.where(good == 0, "malignant", "benign")
    with pytest.raises(UsageError, match=r"candidate .* 2 value\(s\) that are not classes.*'benign' \(str\)"):
        regression_test(names, golden, [Scenario("all")], baseline=good)
    shifted = good + 1  # 1/2 instead of 0/1: both score zero on class 0, nothing "regresses"
    with pytest.raises(UsageError, match=r"2 \(int\)"):
        regression_test(shifted, golden, [Scenario("all")], baseline=shifted.copy())


def test_classes_missing_from_the_golden_set_can_be_declared() -> None:
    golden, good, _ = cancer()
    ones = golden.select(golden.labels == 1)
    predictions = good[golden.labels == 1]  # some are 0: a class the golden slice lacks
    report = regression_test(predictions, ones, [Scenario("all")], predictions.copy(), classes=[0, 1])
    assert report.passed and report.task is not None and report.task.classes == (0, 1)
    with pytest.raises(UsageError, match="leaves out labels"):
        regression_test(predictions, ones, [Scenario("all")], classes=[0])


def test_golden_examples_without_a_label_are_refused() -> None:
    golden = Dataset("g", np.zeros((3, 1)), [1.0, math.nan, 0.0], ids=["a", "b", "c"])
    with pytest.raises(UsageError, match="1 examples of the golden dataset .* have no label"):
        regression_test([1.0, 0.0, 0.0], golden, [Scenario("all")])


def test_a_scenario_must_check_something_and_a_nan_tolerance_is_refused() -> None:
    with pytest.raises(UsageError, match="checks nothing"):
        Scenario("nothing", no_regression=())
    with pytest.raises(UsageError, match="tolerance must be a number >= 0"):
        Scenario("nan", tolerance=math.nan)
    with pytest.raises(UsageError, match="finite numbers"):
        Scenario("nan threshold", at_least={"accuracy": math.nan})


def test_a_regression_task_can_be_declared_for_rounded_predictions() -> None:
    golden, linear, ridge = diabetes()
    rounded = np.round(ridge)
    report = regression_test(
        rounded, golden, [Scenario("all", no_regression="mae")], baseline=np.round(linear), task="regression"
    )
    assert report.task is not None and report.task.why == "declared with task='regression'"
    with pytest.raises(UsageError, match=r"task=\.\.\.\) must be one of auto, classification, regression"):
        regression_test(rounded, golden, task="ordinal")  # type: ignore[arg-type]
