"""The paired tests that decide "no regression" by default, held against independent oracles: a
plain resampling loop over scikit-learn's metrics for the vectorised bootstrap, scipy's binomial
test for McNemar's exact test."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loopline import Dataset, Scenario, regression_test
from loopline.cl.regression.bootstrap import Bootstrap
from loopline.cl.regression.predictors import Predictions
from loopline.cl.regression.stats import mcnemar_exact


@functools.cache
def digits() -> tuple[Dataset, np.ndarray]:
    """Golden digits and a logistic regression's predictions on them."""
    x, y = load_digits(return_X_y=True)
    train, test = train_test_split(np.arange(len(y)), test_size=0.25, random_state=0, stratify=y)
    golden = Dataset("digits-golden", x[test], y[test], ids=[f"d{i}" for i in test])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(x[train], y[train])
    return golden, model.predict(x[test])


def one_more_wrong(golden: Dataset, predictions: np.ndarray) -> np.ndarray:
    """The same predictions with one more example wrong: a one-example wobble."""
    assert golden.labels is not None
    wobble = predictions.copy()
    right = np.flatnonzero(wobble == golden.labels)
    wobble[right[0]] = (golden.labels[right[0]] + 1) % 10
    return wobble


def naive_p_value(metric, labels, cand, base, resamples: int = 500, seed: int = 123) -> float:  # type: ignore[no-untyped-def]
    """The bootstrap p-value by the book: resample examples, call the metric on each resample."""
    rng = np.random.default_rng(seed)
    n, within = len(labels), 0
    for _ in range(resamples):
        pick = rng.integers(0, n, n)
        within += metric(labels[pick], cand[pick]) - metric(labels[pick], base[pick]) >= -1e-12
    return (within + 1) / (resamples + 1)


def test_macro_f1_takes_a_one_example_wobble_that_a_raw_tolerance_blocks() -> None:
    golden, baseline = digits()
    candidate = one_more_wrong(golden, baseline)
    paired = Scenario("all", no_regression="macro_f1")
    raw = Scenario("all, raw", no_regression="macro_f1", rule="tolerance")
    report = regression_test(candidate, golden, [paired, raw], baseline=baseline)
    values = report.scenario("all").candidate, report.scenario("all").baseline or {}
    assert values[0]["macro_f1"] == pytest.approx(f1_score(golden.labels, candidate, average="macro"))
    assert values[1]["macro_f1"] == pytest.approx(f1_score(golden.labels, baseline, average="macro"))
    assert report.scenario("all").passed and not report.scenario("all, raw").passed
    assert report.scenario("all").checks[0].rule == "bootstrap"
    assert "raw tolerance" in report.scenario("all, raw").reason


def test_a_real_macro_f1_drop_is_a_regression() -> None:
    golden, baseline = digits()
    assert golden.labels is not None
    candidate = np.where(golden.labels == 3, 5, baseline)  # every 3 called a 5
    report = regression_test(candidate, golden, [Scenario("all", no_regression="macro_f1")], baseline)
    (check,) = report.scenario("all").checks
    assert not report.passed and check.p_value is not None and check.p_value < 0.001


@pytest.mark.parametrize(
    ("name", "oracle"),
    [
        ("accuracy", accuracy_score),
        ("macro_f1", functools.partial(f1_score, average="macro", zero_division=0)),
        ("recall[3]", lambda y, p: recall_score(y == 3, p == 3, zero_division=0)),
        ("f1[8]", lambda y, p: f1_score(y == 8, p == 8, zero_division=0)),
    ],
)
def test_the_vectorised_bootstrap_agrees_with_resampling_scikit_learn_metrics(name: str, oracle) -> None:  # type: ignore[no-untyped-def]
    golden, baseline = digits()
    labels = golden.labels
    assert labels is not None
    candidate = baseline.copy()  # a little worse: two 3s and two 8s wrong, one error fixed
    for digit in (3, 8):
        right = np.flatnonzero((candidate == labels) & (labels == digit))[:2]
        candidate[right] = (labels[right] + 3) % 10
    candidate[np.flatnonzero(candidate != labels)[0]] = labels[np.flatnonzero(candidate != labels)[0]]
    report = regression_test(
        candidate, golden, [Scenario("all", no_regression=name, rule="bootstrap")], baseline, resamples=4000
    )
    (check,) = report.scenario("all").checks
    assert check.rule == "bootstrap" and check.p_value is not None
    expected = naive_p_value(oracle, labels, candidate, baseline)
    assert 0.05 < expected < 0.6  # a p-value in the middle, where the two can disagree
    assert check.p_value == pytest.approx(expected, abs=0.06)  # two Monte Carlo estimates of one p


def test_the_bootstrap_of_auroc_and_mae_agrees_with_scikit_learn() -> None:
    rng = np.random.default_rng(2)
    n = 400
    labels = rng.integers(0, 2, n)
    base_scores = np.clip(labels * 0.3 + rng.random(n) * 0.7, 0, 1)
    cand_scores = np.clip(base_scores + rng.normal(0, 0.08, n), 0, 1)
    golden = Dataset("binary", np.zeros((n, 1)), labels, ids=[f"b{i}" for i in range(n)])
    cand = Predictions((cand_scores > 0.5).astype(int), scores=cand_scores)
    base = Predictions((base_scores > 0.5).astype(int), scores=base_scores)
    report = regression_test(cand, golden, [Scenario("all", no_regression="auroc")], base, resamples=4000)
    (check,) = report.scenario("all").checks
    assert check.candidate == pytest.approx(roc_auc_score(labels, cand_scores))
    score_oracle = lambda y, s: roc_auc_score(y, s)  # noqa: E731
    expected = naive_p_value(score_oracle, labels, cand_scores, base_scores)
    assert check.p_value == pytest.approx(expected, abs=0.06)

    targets = np.linspace(0, 10, n)
    houses = Dataset("houses", targets.reshape(-1, 1), targets, ids=[f"h{i}" for i in range(n)])
    near, nearer = targets + rng.normal(0, 1.0, n), targets + rng.normal(0, 0.97, n)
    report = regression_test(near, houses, [Scenario("all", no_regression="mae")], nearer, resamples=4000)
    (check,) = report.scenario("all").checks
    assert check.candidate == pytest.approx(mean_absolute_error(targets, near))
    expected = naive_p_value(lambda y, p: -mean_absolute_error(y, p), targets, near, nearer)
    assert check.p_value == pytest.approx(expected, abs=0.06)


def test_the_seed_is_recorded_and_the_same_inputs_give_the_same_verdict() -> None:
    golden, baseline = digits()
    candidate = one_more_wrong(golden, baseline)
    scenario = [Scenario("all", no_regression=("accuracy", "macro_f1"))]
    first = regression_test(candidate, golden, scenario, baseline, seed=7)
    again = regression_test(candidate, golden, scenario, baseline, seed=7)
    assert first.bootstrap == again.bootstrap == Bootstrap(resamples=1000, seed=7)
    assert [c.p_value for c in first.scenario("all").checks] == [
        c.p_value for c in again.scenario("all").checks
    ]
    assert [c.rule for c in first.scenario("all").checks] == ["mcnemar", "bootstrap"]
    assert "seed 7" in first.scenario("all").checks[1].reason


def test_ten_thousand_examples_and_a_thousand_resamples_per_scenario_run() -> None:
    rng = np.random.default_rng(3)
    n = 10_000
    labels = rng.integers(0, 10, n)
    base = np.where(rng.random(n) < 0.1, rng.integers(0, 10, n), labels)
    cand = np.where(rng.random(n) < 0.01, (labels + 1) % 10, base)
    golden = Dataset("big", np.zeros((n, 1)), labels, ids=[f"x{i}" for i in range(n)])
    scenarios = [
        Scenario(
            f"slice {k}",
            where=lambda d, k=k: np.arange(len(d)) % 10 != k,
            no_regression=("macro_f1", f"recall[{k}]"),
        )
        for k in range(10)
    ]
    report = regression_test(cand, golden, scenarios, base)
    assert all(c.rule == "bootstrap" for s in report.scenarios for c in s.checks)
    assert all(s.size == 9000 for s in report.scenarios)


@settings(max_examples=200, deadline=None)
@given(worse=st.integers(0, 1500), better=st.integers(0, 1500))
def test_exact_mcnemar_is_scipys_one_sided_binomial_test(worse: int, better: int) -> None:
    expected = binomtest(worse, worse + better, 0.5, alternative="greater").pvalue if worse + better else 1.0
    ours = mcnemar_exact(worse, better)
    if expected < 1e-250:  # scipy underflows to 0 where the log-space sum still has digits
        assert ours < 1e-250
    else:
        assert ours == pytest.approx(expected, rel=1e-9)
