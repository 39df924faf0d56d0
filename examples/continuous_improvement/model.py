"""The demo's models: a scikit-learn logistic regression (the default) or a small PyTorch MLP.

Both are trained by a function `Dataset -> model`, and both models have `predict` and
`predict_proba`, which is all the loop, the miners and the regression gate need.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loopline import Dataset

CLASSES = np.arange(10)


def fit_sklearn(train: Dataset) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(
        train.features, train.labels
    )


class TorchDigits:
    """A 64-32-10 perceptron; its weights travel as numpy arrays, so it pickles anywhere."""

    def __init__(self, weights: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray) -> None:
        self.weights = weights
        self.mean = mean
        self.std = std
        self.classes_ = CLASSES

    def _net(self) -> Any:
        import torch

        net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
        net.load_state_dict({k: torch.from_numpy(v) for k, v in self.weights.items()})
        return net.eval()

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(
            ((np.asarray(features, dtype=np.float32) - self.mean) / self.std).astype(np.float32)
        )
        with torch.no_grad():
            return torch.softmax(self._net()(x), dim=1).numpy().astype(np.float64)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.predict_proba(features).argmax(axis=1)


def fit_torch(train: Dataset, epochs: int = 150) -> TorchDigits:
    import torch

    torch.manual_seed(0)
    x = np.asarray(train.features, dtype=np.float32)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1.0
    inputs = torch.from_numpy((x - mean) / std)
    targets = torch.from_numpy(np.asarray(train.labels, dtype=np.int64))
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-3)
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(inputs), targets).backward()
        optimizer.step()
    weights = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    return TorchDigits(weights, mean, std)


TRAINERS = {"sklearn": fit_sklearn, "torch": fit_torch}
