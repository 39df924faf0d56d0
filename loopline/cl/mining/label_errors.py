"""Likely label errors in a training dataset, by confident learning (Northcutt et al., 2021).

    found = label_errors(train, train=fit)              # out-of-fold probabilities, 5 folds
    found = label_errors(train, pred_probs=probabilities, classes=[0, 1, ..., 9])

An example is a likely label error when the model, trained without it, is confident that it
belongs to another class: for each class j the threshold t_j is the mean probability of j over
the examples labeled j; an example's confident class is its most probable class among those
whose probability reaches their threshold; when that class differs from its label, the label is
suspect (the off-diagonal of the "confident joint"). Candidates are ranked by how little
probability the given label gets (score = 1 - p(label)), and suggest the confident class.

`method="cleanlab"` uses the cleanlab package instead (`pip install loopline[cleanlab]`);
"auto" (the default) uses it when it is installed and this implementation otherwise.

In a loop, `LoopSpec(miners=(..., label_errors))` re-checks the training data every round: the
round calls it with the canonical training dataset and the loop's `train`, and its candidates
(relabeling tasks) compete for the round's budget with the inference miners' candidates.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from loopline.cl.mining.candidates import Candidates, training_data_miner
from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from loopline.cl.datasets.dataset import Dataset

Method = Literal["auto", "builtin", "cleanlab"]


@training_data_miner
def label_errors(
    dataset: Dataset,
    *,
    pred_probs: Any = None,
    train: Callable[[Dataset], Any] | None = None,
    classes: Sequence[Any] | None = None,
    folds: int = 5,
    method: Method = "auto",
) -> Candidates:
    """Examples of `dataset` whose label looks wrong.

    - `pred_probs`: out-of-sample class probabilities, one row per example (columns in the
      order of `classes`, default the sorted labels); or
    - `train`: a function training a model (with `predict_proba`) on a Dataset: the
      probabilities are then computed out of fold, with `folds` folds.
    """
    import numpy as np

    if dataset.labels is None:
        raise UsageError(f"{dataset.ref} has no labels to check")
    if not len(dataset):
        return Candidates.empty(source=dataset.ref)
    labels = np.asarray(dataset.labels)
    known = np.unique(labels) if classes is None else np.asarray(list(classes))
    if pred_probs is None:
        if train is None:
            raise UsageError("label_errors needs pred_probs=... or train=... (a function fitting a model)")
        pred_probs = out_of_fold_probabilities(dataset, train, folds=folds, classes=known)
    probs = np.asarray(pred_probs, dtype=float)
    if probs.shape != (len(labels), len(known)):
        raise UsageError(
            f"pred_probs must have one row per example and one column per class: expected "
            f"{(len(labels), len(known))}, got {probs.shape}"
        )
    given = _indices(labels, known)
    if method == "auto":
        method = "cleanlab" if importlib.util.find_spec("cleanlab") is not None else "builtin"
    if method == "cleanlab":
        suspects = _cleanlab_issues(given, probs)
    elif method == "builtin":
        suspects = confident_learning_issues(given, probs)
    else:
        raise UsageError(f"label_errors(method=...) must be auto, builtin or cleanlab, got {method!r}")
    self_confidence = probs[suspects, given[suspects]]
    likely = probs[suspects].argmax(axis=1)
    reasons = [
        f"labeled {known[g]!r} but the model gives that {p:.2f} and {known[c]!r} {probs[i, c]:.2f}"
        for i, g, c, p in zip(
            suspects.tolist(),
            given[suspects].tolist(),
            likely.tolist(),
            self_confidence.tolist(),
            strict=True,
        )
    ]
    return Candidates.of(
        f"label_errors:{method}",
        dataset.ids[suspects],
        1.0 - self_confidence,
        reasons,
        known[likely].astype(object),
        source=dataset.ref,
    )


def confident_learning_issues(labels: NDArray[np.intp], probs: NDArray[np.float64]) -> NDArray[np.intp]:
    """Positions of the examples off the diagonal of the confident joint (vectorised)."""
    import numpy as np

    classes = probs.shape[1]
    counts = np.bincount(labels, minlength=classes)
    sums = np.zeros(classes)
    np.add.at(sums, labels, probs[np.arange(len(labels)), labels])
    thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
    above = probs >= thresholds[None, :]
    confident = np.where(above, probs, -np.inf).argmax(axis=1)
    return np.flatnonzero(above.any(axis=1) & (confident != labels))


def _cleanlab_issues(labels: NDArray[np.intp], probs: NDArray[np.float64]) -> NDArray[np.intp]:
    import numpy as np

    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        raise UsageError(
            "method='cleanlab' needs the cleanlab package: pip install 'loopline[cleanlab]'"
        ) from None
    found = find_label_issues(labels=labels, pred_probs=probs, filter_by="confident_learning")
    return np.flatnonzero(np.asarray(found))


def out_of_fold_probabilities(
    dataset: Dataset, train: Callable[[Dataset], Any], *, folds: int, classes: Any
) -> NDArray[np.float64]:
    """Class probabilities of every example from a model trained on the other folds."""
    import numpy as np

    if folds < 2:
        raise UsageError(f"folds must be at least 2, got {folds}")
    n = len(dataset)
    fold = np.random.default_rng(0).permutation(n) % folds
    probs = np.zeros((n, len(classes)))
    for f in range(folds):
        held = fold == f
        model = train(dataset.select(~held))
        if not hasattr(model, "predict_proba"):
            raise UsageError("label_errors(train=...) must return a model with predict_proba()")
        fitted = np.asarray(getattr(model, "classes_", classes))
        columns = _indices(fitted, np.asarray(classes))
        probs[np.ix_(np.flatnonzero(held), columns)] = model.predict_proba(dataset.select(held).features)
    return probs


def _indices(values: Any, classes: Any) -> NDArray[np.intp]:
    import numpy as np

    order = np.argsort(classes)
    at = np.searchsorted(classes, values, sorter=order)
    at = np.minimum(at, len(classes) - 1)
    positions = order[at]
    unknown = classes[positions] != values
    if unknown.any():
        raise UsageError(
            f"labels {sorted(set(np.asarray(values)[unknown].tolist()))[:5]} are not among the classes"
        )
    found: NDArray[np.intp] = positions.astype(np.intp)
    return found
