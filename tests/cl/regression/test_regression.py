"""regression_test: per-scenario metrics, flips, and the rule that decided each verdict."""

from __future__ import annotations

import numpy as np
import pytest

import loopline
from loopline import Dataset, RegressionReport, Scenario, regression_test
from loopline.cl.regression.metrics import Metric
from loopline.cl.regression.predictors import Predictions
from loopline.cl.store.errors import DatasetOverlapError
from loopline.cl.store.workspace import Workspace
from loopline.errors import UsageError


def golden(n: int = 200, classes: int = 4) -> Dataset:
    labels = np.arange(n) % classes
    features = np.column_stack([labels, np.arange(n)]).astype(float)
    return Dataset(
        "golden", features, labels, ids=[f"g{i}" for i in range(n)], tags={"hard": ["g0", "g1", "g2"]}
    )


def wrong_at(data: Dataset, ids: list[str]) -> np.ndarray:
    """The true labels, except wrong (label + 1) at `ids`."""
    assert data.labels is not None
    predictions = data.labels.copy()
    where = data.positions(ids)
    predictions[where] = (predictions[where] + 1) % 4
    return predictions


class LabelReader:
    """A 'model' that reads the label off the first feature (always right)."""

    def predict(self, features: np.ndarray) -> np.ndarray:
        return features[:, 0].astype(int)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return np.eye(4)[features[:, 0].astype(int)] * 0.9 + 0.025


def test_identical_predictions_pass_with_no_flips() -> None:
    data = golden()
    report = regression_test(data.labels, data, [Scenario("all")], baseline=data.labels)
    result = report.scenario("all")
    assert report.passed and report.verdict == "pass"
    assert (result.size, len(result.right_to_wrong), result.candidate["accuracy"]) == (200, 0, 1.0)
    assert "no significant regression" in result.reason


def test_a_real_regression_names_the_scenario_and_the_flipped_examples() -> None:
    data = golden()
    broken = [f"g{i}" for i in range(3, 200, 4)][:12]  # twelve examples of label 3
    report = regression_test(
        wrong_at(data, broken),
        data,
        [Scenario("label 3", labels=[3]), Scenario("label 0", labels=[0])],
        data.labels,
    )
    assert not report.passed and [s.name for s in report.failures] == ["label 3"]
    failed = report.scenario("label 3")
    assert [f.id for f in failed.right_to_wrong] == broken
    assert {f.id for f in report.flipped()} == set(broken)
    assert failed.checks[0].rule == "mcnemar" and failed.checks[0].p_value is not None
    assert "12 right→wrong vs 0 wrong→right" in failed.reason and "regression" in failed.reason
    assert report.examples is not None and sorted(report.examples.ids.tolist()) == sorted(broken)


def test_reports_hold_plain_python_values() -> None:
    data = golden()
    scenario = Scenario("label 1", labels=[1], at_least={"recall[1]": 0.9})
    report = regression_test(wrong_at(data, ["g1", "g5"]), data, [scenario], data.labels)
    result = report.scenario("label 1")
    assert {type(c.passed) for c in result.checks} == {bool}
    assert {type(v) for v in (*result.candidate.values(), *(result.baseline or {}).values())} == {float}
    assert {type(f.label) for f in result.right_to_wrong} == {int}
    assert len(result.checks) == 2 and result.reason.count(";") >= 1


def test_mcnemar_ignores_a_one_example_wobble_that_a_raw_tolerance_blocks() -> None:
    data = golden(160)  # 40 examples per label: one example moves accuracy 2.5 points
    candidate = wrong_at(data, ["g3", "g7"])
    by_tolerance = Scenario("label 3", labels=[3], rule="tolerance", tolerance=0.03)
    by_test = Scenario("label 3 (mcnemar)", labels=[3])
    report = regression_test(candidate, data, [by_tolerance, by_test], data.labels)
    assert not report.scenario("label 3").passed
    assert "dropped beyond the tolerance 0.03" in report.scenario("label 3").reason
    assert report.scenario("label 3 (mcnemar)").passed
    assert "2 right→wrong vs 0 wrong→right" in report.scenario("label 3 (mcnemar)").reason


def test_mcnemar_catches_a_regression_that_hides_under_a_tolerance_in_a_large_slice() -> None:
    data = golden(4000)
    candidate = wrong_at(data, [f"g{i}" for i in range(0, 4000, 50)])  # 80 flips: -2 points
    report = regression_test(
        candidate,
        data,
        [Scenario("raw", rule="tolerance", tolerance=0.03), Scenario("paired", tolerance=0.0)],
        data.labels,
    )
    assert report.scenario("raw").passed
    assert not report.scenario("paired").passed
    assert report.scenario("paired").checks[0].p_value < 1e-6  # type: ignore[operator]


def test_a_significant_drop_within_the_tolerance_passes_and_says_so() -> None:
    data = golden(4000)
    candidate = wrong_at(data, [f"g{i}" for i in range(0, 4000, 50)])
    report = regression_test(candidate, data, [Scenario("all", tolerance=0.05)], data.labels)
    assert report.passed and "within the tolerance of 5 pts" in report.scenario("all").reason


def test_every_result_carries_its_sample_size_and_a_wilson_interval() -> None:
    data = golden(40, classes=1)
    report = regression_test(
        wrong_at(data, ["g0", "g1"]), data, [Scenario("all")], data.labels, classes=[0, 1]
    )
    result = report.scenario("all")
    assert result.size == 40 and result.candidate["accuracy"] == 0.95
    assert result.candidate_interval is not None and result.baseline_interval is not None
    assert result.candidate_interval.low == pytest.approx(0.835, abs=1e-3)
    assert result.candidate_interval.high == pytest.approx(0.986, abs=1e-3)


def test_without_a_baseline_relative_criteria_are_skipped_and_absolute_ones_decide() -> None:
    data = golden()
    scenarios = [
        Scenario("strict", at_least={"accuracy": 0.99}),
        Scenario("lenient", at_least={"accuracy": 0.5}),
    ]
    report = regression_test(wrong_at(data, ["g5", "g6", "g7", "g8"]), data, scenarios)
    assert [s.passed for s in report.scenarios] == [False, True]
    assert "no baseline given" in " ".join(report.notes)
    skipped = [c for c in report.scenario("lenient").checks if c.kind == "no_regression"]
    assert skipped[0].passed is None and skipped[0].rule == "skipped"
    assert "misses the threshold (at least 0.99)" in report.scenario("strict").reason


def test_must_pass_examples_must_all_be_right() -> None:
    data = golden()
    report = regression_test(
        wrong_at(data, ["g1", "g50"]),
        data,
        [Scenario("hard", tag="hard", all_correct=True, no_regression=())],
    )
    result = report.scenario("hard")
    assert not result.passed and result.wrong == ("g1",)
    assert result.reason == "1 of 3 must-pass examples wrong: g1"


def test_informational_scenarios_do_not_block() -> None:
    data = golden()
    report = regression_test(
        wrong_at(data, ["g1"]), data, [Scenario("hard", tag="hard", all_correct=True, must_pass=False)]
    )
    assert report.passed and not report.scenario("hard").passed and report.failures == ()


def test_slices_by_predicate_ids_and_combinations() -> None:
    data = golden()
    scenarios = [
        Scenario("early", where=lambda d: d.features[:, 1] < 20),
        Scenario("listed", ids=["g4", "g5"]),
        Scenario("early label 2", where=lambda d: d.features[:, 1] < 20, labels=[2]),
    ]
    report = regression_test(data.labels, data, scenarios)
    assert [s.size for s in report.scenarios] == [20, 2, 5]


@pytest.mark.parametrize("baseline", [True, False], ids=["with a baseline", "alone"])
def test_a_slice_that_selects_nothing_fails_and_says_so(baseline: bool) -> None:
    data = golden()
    report = regression_test(
        data.labels, data, [Scenario("label 9", labels=[9])], data.labels if baseline else None
    )
    result = report.scenario("label 9")
    assert not report.passed and result.checks == ()
    assert result.reason == "selected no examples of the golden set (label in [9]): an empty slice fails"


def test_an_empty_golden_set_is_refused() -> None:
    with pytest.raises(UsageError, match="golden dataset golden .* has no examples"):
        regression_test([], golden().select([]))


def test_one_scenario_needs_no_list() -> None:
    data = golden()
    assert regression_test(data.labels, data, Scenario("all")).scenario("all").size == 200


def test_a_scenario_slice_takes_lists() -> None:
    with pytest.raises(UsageError, match=r"labels takes a list, e\.g\. labels=\[3\], got 3"):
        Scenario("three", labels=3)  # type: ignore[arg-type]


def test_per_class_metrics_auroc_and_user_metrics() -> None:
    data = golden()
    candidate = wrong_at(data, [f"g{i}" for i in range(2, 200, 4)][:25])  # half the 2s become 3s
    scenario = Scenario(
        "all",
        at_least={"recall[2]": 0.4, "precision[3]": 0.6, "macro_f1": 0.8, "errors_are_rare": 0.8},
        no_regression=(),
    )
    report = regression_test(
        candidate, data, [scenario], metrics={"errors_are_rare": lambda y, p: float((y == p).mean())}
    )
    values = report.scenario("all").candidate
    assert values["recall[2]"] == 0.5 and values["precision[3]"] == pytest.approx(50 / 75)
    assert values["errors_are_rare"] == values["accuracy"] == 0.875
    scored = regression_test(LabelReader(), data, [Scenario("all", at_least={"auroc": 0.99})])
    assert scored.passed and scored.scenario("all").candidate["auroc"] == 1.0


def test_user_metrics_can_use_scores_and_prefer_lower_values() -> None:
    data = golden()

    def mean_doubt(labels: np.ndarray, predictions: np.ndarray, scores: np.ndarray) -> float:
        return float(1 - scores.max(axis=1).mean())

    doubt = Metric(mean_doubt, higher_is_better=False, needs_scores=True)
    confident = Predictions(data.labels, scores=np.eye(4)[data.labels])  # type: ignore[index]
    hesitant = Predictions(data.labels, scores=np.full((200, 4), 0.25))
    scenario = Scenario("all", no_regression=("doubt",), rule="tolerance", tolerance=0.1)
    metrics = {"doubt": doubt}
    assert not regression_test(hesitant, data, [scenario], confident, metrics=metrics).passed
    assert regression_test(confident, data, [scenario], hesitant, metrics=metrics).passed


def test_regression_metrics_decide_by_tolerance_in_the_right_direction() -> None:
    targets = np.linspace(0, 10, 100)
    data = Dataset("houses", targets.reshape(-1, 1), targets, ids=[f"h{i}" for i in range(100)])
    worse = targets + 1.0
    better = targets + 0.1
    scenario = Scenario("all", no_regression=("mae", "rmse"), rule="tolerance", tolerance=0.2)
    assert not regression_test(worse, data, [scenario], baseline=better).passed
    report = regression_test(better, data, [scenario], baseline=worse)
    assert report.passed and report.scenario("all").candidate["mae"] == pytest.approx(0.1)
    assert "lower is better" in report.scenario("all").reason
    close = regression_test(better, data, [Scenario("all")], worse, correct=lambda y, p: abs(y - p) < 0.5)
    assert close.scenario("all").wrong_to_right_count == 100


def test_a_paired_bootstrap_decides_any_metric_against_noise() -> None:
    data = golden(400)  # 100 examples per label
    one_wobble = wrong_at(data, ["g3"])  # recall[3] drops 1 point: noise
    real_drop = wrong_at(data, [f"g{i}" for i in range(3, 400, 4)][:30])  # recall[3] drops 30 points
    scenario = Scenario("label 3", labels=[3], no_regression="recall[3]", rule="bootstrap")
    wobble = regression_test(one_wobble, data, [scenario], data.labels)
    assert wobble.passed and "no significant regression" in wobble.scenario("label 3").reason
    drop = regression_test(real_drop, data, [scenario], data.labels).scenario("label 3")
    (check,) = drop.checks
    assert not drop.passed and check.rule == "bootstrap" and check.p_value < 0.01  # type: ignore[operator]
    assert "paired bootstrap over 1000 resamples" in check.reason
    again = regression_test(real_drop, data, [scenario], data.labels).scenario("label 3").checks[0]
    assert again.p_value == check.p_value  # a fixed seed: the same data, the same verdict


def test_a_paired_bootstrap_knows_lower_is_better() -> None:
    targets = np.linspace(0, 10, 200)
    data = Dataset("houses", targets.reshape(-1, 1), targets, ids=[f"h{i}" for i in range(200)])
    good, bad = targets + 0.1, targets + 1.0
    scenario = Scenario("all", no_regression="mae", rule="bootstrap")
    assert not regression_test(bad, data, [scenario], baseline=good).passed
    assert regression_test(good, data, [scenario], baseline=bad).passed


def test_continuous_labels_need_a_definition_of_correct() -> None:
    data = Dataset("houses", np.zeros((3, 1)), [0.5, 1.5, 2.5], ids=["a", "b", "c"])
    with pytest.raises(UsageError, match="correct="):
        regression_test([0.5, 1.5, 2.5], data, [Scenario("all")], [0.5, 1.5, 2.5])


def test_models_can_be_objects_functions_or_precomputed_predictions() -> None:
    data = golden()

    @loopline.func
    def classify(features: np.ndarray) -> np.ndarray:
        return features[:, 0].astype(int)

    shuffled = np.random.default_rng(0).permutation(len(data))
    by_id = Predictions(data.labels[shuffled], ids=data.ids[shuffled].tolist())  # type: ignore[index]
    for model in (LabelReader(), classify, lambda x: x[:, 0].astype(int), by_id, list(data.labels)):  # type: ignore[arg-type]
        report = regression_test(model, data, [Scenario("all", at_least={"accuracy": 1.0})])
        assert report.passed, model


def test_predictions_of_the_wrong_length_are_explained() -> None:
    data = golden()
    with pytest.raises(UsageError, match="one prediction per example"):
        regression_test(np.zeros(3), data)
    with pytest.raises(UsageError, match="cannot get predictions"):
        regression_test(object(), data)


def test_unknown_metrics_and_bad_scenarios_are_refused_up_front() -> None:
    data = golden()
    with pytest.raises(UsageError, match="unknown metric 'acuracy'"):
        regression_test(data.labels, data, [Scenario("all", at_least={"acuracy": 0.9})])
    with pytest.raises(UsageError, match="repeated: a"):
        regression_test(data.labels, data, [Scenario("a"), Scenario("a")])
    with pytest.raises(UsageError, match="alpha must be between 0 and 1"):
        Scenario("x", alpha=5)
    with pytest.raises(UsageError, match="rule must be one of"):
        Scenario("x", rule="vibes")  # type: ignore[arg-type]


def test_overlap_with_training_data_is_refused_or_reported() -> None:
    data = golden()
    training = Dataset("train", data.features[:5] + 0, data.labels[:5], ids=["g0", "t1", "t2", "t3", "t4"])  # type: ignore[index]
    with pytest.raises(DatasetOverlapError, match=r"1 by id .*4 by content"):
        regression_test(data.labels, data, training=training)
    report = regression_test(data.labels, data, training=training, overlap="report")
    assert report.overlap == ("g0", "g1", "g2", "g3", "g4")


def test_a_registered_version_is_not_compared_with_itself() -> None:
    ws = Workspace.in_memory()
    data = golden()
    first = loopline.models.register("reader", LabelReader(), workspace=ws)
    loopline.models.promote(first, "production", workspace=ws)
    with pytest.raises(UsageError, match="refusing to compare reader@1 with itself"):
        regression_test("reader@production", data, baseline="reader@1", workspace=ws)
    loopline.models.register("reader", LabelReader(), workspace=ws)  # the same bytes, version 2
    report = regression_test("reader@2", data, baseline="reader@production", workspace=ws)
    assert report.passed and "byte for byte" in " ".join(report.notes)
    assert (report.candidate.ref, report.baseline.ref if report.baseline else None) == (
        "reader@2",
        "reader@1",
    )


def test_an_alias_without_a_holder_is_a_missing_baseline_and_decides_nothing_alone() -> None:
    ws = Workspace.in_memory()
    loopline.models.register("reader", LabelReader(), workspace=ws)
    data = golden()
    report = regression_test(LabelReader(), data, baseline="reader@production", workspace=ws)
    assert "reader@production points at no model yet" in " ".join(report.notes)
    assert (report.passed, report.verdict) == (False, "undecided")
    assert "nothing was checked" in report.scenario("all examples").reason
    absolute = [Scenario("all", at_least={"accuracy": 0.9})]
    assert regression_test(LabelReader(), data, absolute, baseline="reader@production", workspace=ws).passed


def test_a_report_is_a_func_output_and_prints_as_a_verdict(runner: loopline.LocalRunner) -> None:
    @loopline.func
    def gate() -> RegressionReport:
        data = golden()
        return regression_test(
            wrong_at(data, ["g3", "g7", "g11", "g15", "g19", "g23"]), data, [Scenario("all")], data.labels
        )

    report = runner.run(gate())
    assert isinstance(report, RegressionReport) and not report.passed
    assert str(report).startswith("regression test: REGRESSION")
    assert "FAIL  all (n=200)" in str(report)


def test_a_model_that_stops_predicting_a_class_fails_its_per_class_checks() -> None:
    from sklearn.metrics import f1_score, precision_score

    data = golden()
    labels = np.asarray(data.labels)
    never_3 = np.where(labels == 3, 2, labels)  # every 3 called a 2
    report = regression_test(
        never_3,
        data,
        [
            Scenario("precision of 3", no_regression=("precision[3]",)),
            Scenario("f1 of 3", no_regression=("f1[3]",)),
            Scenario("macro f1", no_regression=("macro_f1",)),
        ],
        baseline=labels,
    )
    by_name = {s.name: s for s in report.scenarios}
    assert not any(s.passed for s in report.scenarios)  # none skipped for want of a value
    expected_macro = f1_score(labels, never_3, average="macro", zero_division=0)
    assert by_name["macro f1"].candidate["macro_f1"] == pytest.approx(expected_macro)
    assert by_name["f1 of 3"].candidate["f1[3]"] == 0.0
    assert by_name["precision of 3"].candidate["precision[3]"] == precision_score(
        labels == 3, never_3 == 3, zero_division=0
    )
