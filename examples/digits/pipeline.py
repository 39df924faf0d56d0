"""Train and evaluate a digit classifier on scikit-learn's bundled `load_digits`.

    loopline run examples/digits/pipeline.py --config '{"C": 10.0}'

It shows a dataclass config, a DataFrame and array artifacts, images, metrics and caching: run it
twice and the data loading, splitting and training steps are cache hits.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

import loopline


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    C: float = 5.0
    gamma: float = 0.001
    test_fraction: float = 0.25
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


@dataclasses.dataclass(frozen=True)
class Evaluation:
    accuracy: float
    per_class_accuracy: dict[int, float]
    confusion: np.ndarray
    hardest: list[loopline.Image]


@loopline.func(cache=True, version="1")
def load_data() -> pd.DataFrame:
    """The 1,797 8x8 digit images as a table: 64 pixel columns and the label."""
    digits = load_digits()
    frame = pd.DataFrame(digits.data, columns=[f"px{i}" for i in range(64)])
    frame["label"] = digits.target
    print(f"loaded {len(frame)} digits")
    return frame


@loopline.func(cache=True)
def split(data: pd.DataFrame, test_fraction: float, seed: int) -> Split:
    x = data.drop(columns="label").to_numpy(dtype=np.float64) / 16.0
    y = data["label"].to_numpy()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return Split(x_train, x_test, y_train, y_test)


@loopline.func(cache=True)
def train(x: np.ndarray, y: np.ndarray, config: TrainConfig) -> SVC:
    """An RBF support vector machine."""
    model = SVC(C=config.C, gamma=config.gamma * 64, random_state=config.seed)
    model.fit(x, y)
    print(f"trained on {len(y)} examples with C={config.C}")
    return model


@loopline.func
def evaluate(model: SVC, x: np.ndarray, y: np.ndarray) -> Evaluation:
    predicted = model.predict(x)
    accuracy = float((predicted == y).mean())
    loopline.log_metric("accuracy", accuracy)
    per_class = {int(d): float((predicted[y == d] == d).mean()) for d in np.unique(y)}
    for digit, value in per_class.items():
        loopline.log_metric("class_accuracy", value, step=digit)
    wrong = np.flatnonzero(predicted != y)[:8]
    hardest = [loopline.Image.from_array(x[i].reshape(8, 8)) for i in wrong]
    return Evaluation(accuracy, per_class, confusion_matrix(y, predicted), hardest)


@loopline.func
def pipeline(config: TrainConfig = TrainConfig()) -> Evaluation:
    """Load, split, train and evaluate."""
    data = split(load_data(), config.test_fraction, config.seed)
    model = train(data.x_train, data.y_train, config)
    return evaluate(model, data.x_test, data.y_test)


if __name__ == "__main__":
    result = loopline.LocalRunner().run(pipeline(TrainConfig()))
    print(f"accuracy {result.accuracy:.3f}")
