"""Metrics of a model on a slice of examples, vectorised with numpy.

Built in: `accuracy`, `precision[C]`, `recall[C]`, `f1[C]` (per class C), `macro_f1`, `auroc`
(binary, or one-vs-rest macro average), `mae` and `rmse`. User metrics are functions
`fn(labels, predictions) -> float`, or `Metric(fn, higher_is_better=..., needs_scores=True)` for
functions `fn(labels, predictions, scores) -> float`. A metric that is undefined on a slice
(recall of a class absent from it, AUROC of a one-class slice) is NaN. Precision and F1 of a
class the slice holds but the model never predicts are 0 (as scikit-learn's `zero_division=0`),
so a model that stops predicting a class fails its checks instead of skipping them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclasses.dataclass(frozen=True)
class Metric:
    """A user-defined metric. `fn(labels, predictions)` (or `fn(labels, predictions, scores)`
    when `needs_scores`) returns a float; `higher_is_better` tells which way is a regression."""

    fn: Callable[..., float]
    higher_is_better: bool = True
    needs_scores: bool = False


@dataclasses.dataclass(frozen=True)
class SliceData:
    """One model's outputs on one slice (arrays restricted to the slice's examples)."""

    labels: NDArray[Any]
    predictions: NDArray[Any]
    scores: NDArray[Any] | None  # (n,) for a binary positive class, (n, k) for `classes`
    classes: NDArray[Any] | None
    correct: NDArray[np.bool_] | None  # None when right/wrong is undefined (continuous labels)
    label_values: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # "3" -> 3


PER_CLASS = re.compile(r"^(precision|recall|f1)\[(.+)\]$")
_LOWER_IS_BETTER = {"mae", "rmse"}
_SCORE_METRICS = {"auroc"}
_WHOLE_SLICE = ("accuracy", "macro_f1", "auroc", "mae", "rmse")
BUILT_IN = ("accuracy", "precision[C]", "recall[C]", "f1[C]", "macro_f1", "auroc", "mae", "rmse")


def is_built_in(name: str) -> bool:
    return name in _WHOLE_SLICE or PER_CLASS.match(name) is not None


def check_name(name: str, user: Mapping[str, Metric]) -> None:
    """UsageError unless `name` is a built-in or user metric."""
    if name in user or is_built_in(name):
        return
    known = ", ".join([*BUILT_IN, *sorted(user)])
    raise UsageError(
        f"unknown metric {name!r}; known: {known}. Pass your own to regression_test(metrics={{...}})"
    )


def higher_is_better(name: str, user: Mapping[str, Metric]) -> bool:
    if name in user:
        return user[name].higher_is_better
    return name not in _LOWER_IS_BETTER


def needs_scores(name: str, user: Mapping[str, Metric]) -> bool:
    if name in user:
        return user[name].needs_scores
    return name in _SCORE_METRICS


def as_metrics(metrics: Mapping[str, Callable[..., float] | Metric] | None) -> dict[str, Metric]:
    out = {}
    for name, value in (metrics or {}).items():
        if is_built_in(name):
            raise UsageError(f"metrics={{{name!r}: ...}} shadows a built-in metric; give it another name")
        if isinstance(value, Metric):
            out[name] = value
        elif callable(value):
            out[name] = Metric(value)
        else:
            raise UsageError(
                f"metrics[{name!r}] must be a function or a Metric, got {type(value).__qualname__}"
            )
    return out


def compute(name: str, data: SliceData, user: Mapping[str, Metric]) -> float:
    """The metric `name` on `data` (NaN where undefined), as a Python float."""
    return float(_compute(name, data, user))


def _compute(name: str, data: SliceData, user: Mapping[str, Metric]) -> float:
    import numpy as np

    n = len(data.labels)
    if name in user:
        metric = user[name]
        args = (
            (data.labels, data.predictions, data.scores)
            if metric.needs_scores
            else (data.labels, data.predictions)
        )
        try:
            return float(metric.fn(*args))
        except Exception as exc:
            raise UsageError(f"the metric {name!r} failed: {type(exc).__name__}: {exc}") from exc
    if n == 0:
        return math.nan
    if name == "accuracy":
        if data.correct is None:
            raise UsageError(
                "accuracy needs right/wrong outcomes, but the labels are continuous; pass "
                "regression_test(correct=lambda labels, predictions: ...) or use 'mae'/'rmse'"
            )
        return float(data.correct.mean())
    if name in ("mae", "rmse"):
        error = np.asarray(data.predictions, dtype=np.float64) - np.asarray(data.labels, dtype=np.float64)
        return float(np.abs(error).mean()) if name == "mae" else float(np.sqrt((error * error).mean()))
    if name == "macro_f1":
        classes = np.union1d(np.unique(data.labels), np.unique(data.predictions))
        values = [_per_class("f1", data, c) for c in classes.tolist()]
        defined = [v for v in values if not math.isnan(v)]
        return float(np.mean(defined)) if defined else math.nan
    if name == "auroc":
        return _auroc(data)
    match = PER_CLASS.match(name)
    if match is None:  # pragma: no cover - names are checked up front
        raise UsageError(f"unknown metric {name!r}")
    return _per_class(match.group(1), data, class_value(match.group(2), data))


def class_value(text: str, data: SliceData) -> Any:
    """The label value that `precision[3]` means: matched by its string form."""
    return data.label_values.get(text, text)


def _per_class(kind: str, data: SliceData, cls: Any) -> float:
    import numpy as np

    actual = data.labels == cls
    predicted = data.predictions == cls
    n_actual, n_predicted = int(np.count_nonzero(actual)), int(np.count_nonzero(predicted))
    if n_actual == 0 and n_predicted == 0:
        return math.nan  # the class is not in the slice, and the model never says it: nothing to say
    tp = float(np.count_nonzero(actual & predicted))
    if kind == "precision":  # a class the model never predicts, though present, scores 0
        return tp / n_predicted if n_predicted else 0.0
    if kind == "recall":
        return tp / n_actual if n_actual else math.nan
    return 2 * tp / (n_actual + n_predicted)  # f1: 0 when the model gets none of the class right


def _auroc(data: SliceData) -> float:
    import numpy as np

    if data.scores is None:
        raise UsageError(
            "auroc needs scores: give a model with predict_proba, or Predictions(labels, scores=...)"
        )
    scores = np.asarray(data.scores, dtype=np.float64)
    if scores.ndim == 1:
        positive_class = data.classes[-1] if data.classes is not None and len(data.classes) else 1
        return binary_auroc(scores, data.labels == positive_class)
    classes = data.classes if data.classes is not None else np.arange(scores.shape[1])
    values = [binary_auroc(scores[:, k], data.labels == c) for k, c in enumerate(classes.tolist())]
    defined = [v for v in values if not math.isnan(v)]
    return float(np.mean(defined)) if defined else math.nan


def binary_auroc(scores: NDArray[np.float64], positive: NDArray[np.bool_]) -> float:
    """The area under the ROC curve: the chance a random positive outranks a random negative
    (ties count half), from average ranks (Mann-Whitney U). NaN without both classes."""
    import numpy as np

    n_pos = int(np.count_nonzero(positive))
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(scores)  # ties are averaged below: no need for a stable sort
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    average_rank = (starts + ends + 1) / 2.0  # 1-based average rank of each tie group
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(average_rank, ends - starts)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))
