"""A regression gate on scikit-learn's handwritten digits.

    loopline ci examples/digits_regression/pipeline.py --C 0.2            # a benign change: exit 0
    loopline ci examples/digits_regression/pipeline.py --drop-digit 3     # a harmful one: exit 1

`setup` pins the data and the baseline. The first time, it splits the digits into a training set
and a golden set, saved as `digits-train@1` and `digits-golden@1` (the versions every run uses,
whatever is added to the datasets later), and registers a baseline model as `digits@1`, promoted
to `digits@production`.

`pipeline` retrains with a change (`--C`: regularisation; `--drop-digit D`: keep only
`--keep-fraction` of the training examples of digit D, as a buggy sampling change would) and
tests the candidate against `digits@production` on the golden scenarios: one per digit (no
significant regression, by McNemar's exact test), all digits (accuracy at least 0.9), and a
must-pass list of hard examples. With `--promote`, a passing candidate becomes production.
"""

from __future__ import annotations

import dataclasses

from sklearn.pipeline import Pipeline

import loopline
from loopline import Dataset, RegressionReport, Scenario, models

TRAIN, GOLDEN, MODEL = "digits-train", "digits-golden", "digits"
BASELINE_C = 0.1

# Golden examples close to the decision boundary that every reasonable model gets right.
HARD_EXAMPLES = [
    "digit-1591", "digit-1602", "digit-1728", "digit-1666", "digit-0524",
    "digit-1038", "digit-1723", "digit-1646", "digit-1500", "digit-1299",
]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Pinned:
    """The dataset versions this gate runs on."""

    train: str  # "digits-train@1"
    golden: str  # "digits-golden@1"


def fit(train: Dataset, C: float) -> Pipeline:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000)).fit(
        train.features, train.labels
    )


PINNED = Pinned(train=f"{TRAIN}@1", golden=f"{GOLDEN}@1")


def save_splits() -> None:
    """Version 1 of the datasets that do not exist yet: load_digits split 70/30, stratified."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    ids = np.array([f"digit-{i:04d}" for i in range(len(digits.target))])
    train_at, golden_at = train_test_split(
        np.arange(len(ids)), test_size=0.3, random_state=0, stratify=digits.target
    )
    for name, at, tags in ((TRAIN, train_at, None), (GOLDEN, golden_at, {"hard": HARD_EXAMPLES})):
        if Dataset.versions(name):
            continue
        data = Dataset(name, digits.data[at], digits.target[at], ids=ids[at], tags=tags, display="image 8x8")
        data.save(f"load_digits, stratified {len(at) * 100 // len(ids)}% (random_state=0)")


@loopline.func
def setup() -> Pinned:
    """Create the pinned dataset versions and the first baseline, the first time only."""
    if not Dataset.versions(TRAIN) or not Dataset.versions(GOLDEN):
        save_splits()
    if "production" not in models.aliases(MODEL):
        train = Dataset.load(PINNED.train)
        baseline = models.register(MODEL, fit(train, BASELINE_C), dataset=train, description="first baseline")
        models.promote(baseline, "production", reason="first baseline, set up by the example")
    return PINNED


@loopline.func
def train_candidate(pinned: Pinned, C: float, drop_digit: int | None, keep_fraction: float) -> Pipeline:
    """Train on the pinned training set, changed as asked."""
    import numpy as np

    train = Dataset.load(pinned.train)
    if drop_digit is not None:
        rng = np.random.default_rng(0)
        digit = train.labels == drop_digit
        train = train.select(~digit | (rng.random(len(train)) < keep_fraction))
    return fit(train, C)


SCENARIOS = [
    *(Scenario(f"digit {d}", labels=[d], description=f"golden images of the digit {d}") for d in range(10)),
    Scenario("all digits", at_least={"accuracy": 0.9}),
    Scenario("hard examples", tag="hard", all_correct=True, no_regression=()),
]


@loopline.func
def evaluate(candidate: Pipeline, pinned: Pinned) -> RegressionReport:
    """Test the candidate against production on the pinned golden set."""
    return loopline.regression_test(
        candidate,
        Dataset.load(pinned.golden),
        SCENARIOS,
        baseline=f"{MODEL}@production",
        name="digits gate",
        training=Dataset.load(pinned.train),
    )


@loopline.func
def promote_if_passed(candidate: Pipeline, report: RegressionReport, pinned: Pinned) -> str:
    if not report.passed:
        return f"not promoted: {', '.join(s.name for s in report.failures)} failed"
    version = models.register(MODEL, candidate, dataset=pinned.train)
    models.promote(version, "production", report=report, reason="passed the digits gate")
    return f"promoted {version.ref} to production"


@loopline.func
def pipeline(
    C: float = BASELINE_C, drop_digit: int | None = None, keep_fraction: float = 0.1, promote: bool = False
) -> RegressionReport:
    """Retrain with a change and gate it against production."""
    pinned = setup()
    candidate = train_candidate(pinned, C, drop_digit, keep_fraction)
    report = evaluate(candidate, pinned)
    if promote:
        promote_if_passed(candidate, report, pinned)
    return report


if __name__ == "__main__":
    print(loopline.LocalRunner().run(pipeline()))
