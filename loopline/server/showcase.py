"""Small example pipelines that exercise every part of the dashboard (used by `screenshots`).

Needs numpy and pandas (the `ml` extra).
"""

from __future__ import annotations

import dataclasses
import time

import loopline


@dataclasses.dataclass
class TrainConfig:
    learning_rate: float = 0.1
    epochs: int = 8
    classes: int = 4


@dataclasses.dataclass
class Evaluation:
    accuracy: float
    confusion: object
    worst_class: int


@loopline.func
def load_dataset(rows: int) -> object:
    """Load the labeled examples (a synthetic table with a few missing values)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    print(f"loading {rows} examples")
    frame = pd.DataFrame(
        {
            "feature_a": rng.normal(size=rows).round(3),
            "feature_b": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(2.0, 0.5, rows).round(3)),
            "source": rng.choice(["import", "mined", "labeled"], rows),
            "label": rng.integers(0, 4, rows),
        }
    )
    print(f"{int(frame['feature_b'].isna().sum())} rows miss feature_b")
    return frame


@loopline.func
def train(data: object, config: TrainConfig) -> dict[str, object]:
    """Fit the model, logging the loss and accuracy of every epoch."""
    import numpy as np

    for epoch in range(config.epochs):
        loss = 1.2 * 0.7**epoch + 0.05
        loopline.log_metric("loss", loss, epoch)
        loopline.log_metric("accuracy", 0.55 + 0.4 * (1 - 0.7**epoch), epoch)
        print(f"epoch {epoch}: loss={loss:.3f}")
        time.sleep(0.02)
    weights = np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(64, 64) ** 2
    return {"weights": weights, "epochs": config.epochs}


@loopline.func
def evaluate(model: dict[str, object], data: object, suite_score: float) -> Evaluation:
    """Score the model on the golden set."""
    import numpy as np

    print(f"regression suite score {suite_score:.3f}")
    confusion = np.array([[48, 2, 1, 0], [3, 44, 2, 1], [0, 4, 41, 5], [1, 0, 6, 42]], dtype=np.int64)
    accuracy = float(np.trace(confusion) / confusion.sum())
    print(f"accuracy {accuracy:.3f}")
    return Evaluation(accuracy, confusion, int(np.argmin(np.diag(confusion))))


@loopline.func
def score_shard(shard: int) -> float:
    return 0.9 + (shard % 7) / 100


@loopline.func
def regression_suite(shards: int) -> float:
    """Score every shard of the golden dataset in parallel."""
    return mean([score_shard(i) for i in range(shards)])


@loopline.func
def mean(values: list[float]) -> float:
    return sum(values) / len(values)


@loopline.func
def training_pipeline(rows: int = 200, shards: int = 120) -> Evaluation:
    """Load, train, evaluate, and run the regression suite."""
    data = load_dataset(rows)
    model = train(data, TrainConfig())
    return evaluate(model, data, regression_suite(shards))


@loopline.func
def check_labels(rows: int) -> int:
    raise ValueError(f"{rows} labels are outside 0..3: fix the labeling export before retraining")


@loopline.func
def label_audit(rows: int = 50) -> int:
    """Check the labels of the newest examples."""
    return check_labels(rows)
