"""What a regression test is about: classification or regression, its classes, and whether every
criterion and every model's predictions fit it. A gate that checks a metric the task does not
have (accuracy of house prices, recall of a class no label carries) checks nothing, so each
misfit is an error here, before anything is measured, naming the scenario, the metric and what
the labels look like.

- `infer_task(labels, predictions, declared)`: "classification" when the labels are classes
  (strings, booleans, integers, or integral floats that the candidate predicts as such);
  "regression" when they are continuous numbers, or integral numbers that the candidate
  predicts with fractions (a regressor on `load_diabetes`). `declared` ("classification",
  "regression") overrides the guess.
- `check_criteria(scenarios, task, ...)`: every metric fits the task, every class a per-class
  metric names is a class of the task.
- `check_predictions(outputs, task, role, golden)`: every golden example has a prediction, and
  a classifier predicts only classes of the task.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from loopline.cl.regression import metrics as m
from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from loopline.cl.datasets.dataset import Dataset
    from loopline.cl.regression.predictors import ModelOutputs
    from loopline.cl.regression.scenarios import Scenario

TaskKind = Literal["classification", "regression"]
DeclaredTask = Literal["auto", "classification", "regression"]
TASKS = ("auto", "classification", "regression")
_CLASSIFICATION_ONLY = ("macro_f1", "auroc")
_REGRESSION_ONLY = ("mae", "rmse")
_SHOWN = 10


@dataclasses.dataclass(frozen=True)
class Task:
    """The task a golden set's labels describe: its kind, its classes (classification) and why
    it was taken to be so (shown in errors and in the report's notes)."""

    kind: TaskKind
    classes: tuple[Any, ...] = ()  # label values, sorted, as plain Python values
    why: str = ""

    def class_named(self, text: str) -> Any:
        """The class that `recall[text]` means (matched by its printed form), or KeyError."""
        for value in self.classes:
            if str(value) == text:
                return value
        raise KeyError(text)

    def describe_classes(self) -> str:
        shown = ", ".join(repr(c) for c in self.classes[:_SHOWN])
        return shown + (f" and {len(self.classes) - _SHOWN} more" if len(self.classes) > _SHOWN else "")


def infer_task(
    labels: NDArray[Any],
    predictions: NDArray[Any],
    declared: DeclaredTask,
    classes: Sequence[Any] | None,
) -> Task:
    """The task of these golden labels, given the candidate's predictions (see the module)."""
    import numpy as np

    if declared not in TASKS:
        raise UsageError(f"regression_test(task=...) must be one of {', '.join(TASKS)}, got {declared!r}")
    numeric = labels.dtype.kind in "iuf"
    if declared == "regression":
        if not numeric:
            raise UsageError(
                f"regression_test(task='regression') needs numeric labels, got {labels.dtype} labels"
            )
        return Task("regression", why="declared with task='regression'")
    if declared == "auto" and numeric:
        fractional_labels = labels.dtype.kind == "f" and not bool(np.all(np.mod(labels, 1) == 0))
        fractional_predictions = _fractional(predictions)
        if fractional_labels or fractional_predictions:
            count = len(np.unique(labels))
            why = (
                f"{count} distinct numeric labels"
                + (", some with fractions" if fractional_labels else "")
                + (", and the candidate predicts numbers with fractions" if fractional_predictions else "")
            )
            return Task("regression", why=why)
    values = distinct(labels) if classes is None else list(dict.fromkeys(_plain(classes)))
    if classes is not None:
        left_out = [v for v in distinct(labels) if v not in values]
        if left_out:
            raise UsageError(
                f"regression_test(classes=...) leaves out labels of the golden set: "
                f"{', '.join(repr(v) for v in left_out[:_SHOWN])}; list every class"
            )
    source = "declared with classes=[...]" if classes is not None else "the golden labels"
    how = "declared with task='classification'" if declared == "classification" else f"{labels.dtype} labels"
    return Task("classification", tuple(values), f"{len(values)} classes from {source} ({how})")


def check_criteria(
    scenarios: Sequence[Scenario], task: Task, user: Mapping[str, m.Metric], *, correct_given: bool
) -> None:
    """UsageError naming every criterion that does not fit `task` (all of them at once)."""
    problems: list[str] = []
    for scenario in scenarios:
        for metric in scenario.metrics:
            problem = _misfit(metric, task, user, correct_given)
            if problem:
                problems.append(f"Scenario({scenario.name!r}): {problem}")
        if scenario.all_correct and task.kind == "regression" and not correct_given:
            problems.append(
                f"Scenario({scenario.name!r}): all_correct needs right/wrong outcomes, which a "
                "regression task only has with regression_test(correct=lambda labels, predictions: ...)"
            )
    if problems:
        hint = (
            " For a regression task, use no_regression='mae' (or 'rmse') and at_most={'mae': ...}, or "
            "define right/wrong with correct=...; if the labels are classes, pass task='classification'."
            if task.kind == "regression"
            else ""
        )
        raise UsageError(
            f"{len(problems)} criteria do not fit the task ({task.kind}: {task.why}): "
            + "; ".join(problems)
            + "."
            + hint
        )


def _misfit(metric: str, task: Task, user: Mapping[str, m.Metric], correct_given: bool) -> str:
    if metric in user:
        return ""
    per_class = m.PER_CLASS.match(metric)
    if task.kind == "regression":
        if metric == "accuracy" and not correct_given:
            return "accuracy counts exact matches, which continuous predictions almost never are"
        if per_class or metric in _CLASSIFICATION_ONLY:
            return f"{metric} needs classes, and a regression task has none"
        return ""
    if metric in _REGRESSION_ONLY:
        return f"{metric} measures numeric errors, and the labels are classes (pass task='regression' if they are numbers)"
    if per_class:
        try:
            task.class_named(per_class.group(2))
        except KeyError:
            return (
                f"{metric} names the class {per_class.group(2)!r}, which is not a class of the task "
                f"(classes: {task.describe_classes()})"
            )
    return ""


def check_predictions(outputs: ModelOutputs, task: Task, role: str, golden: Dataset) -> None:
    """UsageError if the model left golden examples without a prediction (None, NaN), gave NaN
    scores, or (classification) predicts values that are not classes of the task."""
    import numpy as np

    predictions = outputs.predictions
    absent = missing(predictions)
    if absent.any():
        ids = golden.ids[absent][:5].tolist()
        raise UsageError(
            f"the {role} model ({outputs.info.label}) has no prediction for {int(absent.sum())} of "
            f"{len(predictions)} golden examples (None or NaN), e.g. {', '.join(ids)}: a model is "
            "compared on every golden example; predict them all"
        )
    if outputs.scores is not None and not bool(np.all(np.isfinite(outputs.scores))):
        rows = ~np.isfinite(outputs.scores).reshape(len(outputs.scores), -1).all(axis=1)
        raise UsageError(
            f"the {role} model ({outputs.info.label}) gave scores that are NaN or infinite for "
            f"{int(rows.sum())} golden examples, e.g. {', '.join(golden.ids[rows][:5].tolist())}"
        )
    if task.kind == "regression":
        if predictions.dtype.kind not in "iufb":
            raise UsageError(
                f"the {role} model ({outputs.info.label}) predicts {predictions.dtype} values, but the "
                "task is a regression on numbers"
            )
        return
    outside = [v for v in distinct(predictions) if v not in task.classes]
    if outside:
        shown = ", ".join(f"{v!r} ({type(v).__name__})" for v in outside[:_SHOWN])
        raise UsageError(
            f"the {role} model ({outputs.info.label}) predicts {len(outside)} value(s) that are not "
            f"classes of the task: {shown}; its classes: {task.describe_classes()} ({task.why}). "
            "A model speaking another label set matches nothing and regresses nowhere: map its "
            "predictions to the golden labels, or declare every class with classes=[...]"
        )


def _fractional(values: NDArray[Any]) -> bool:
    import numpy as np

    if values.dtype.kind != "f":
        return False
    finite = values[np.isfinite(values)]
    return bool(len(finite)) and not bool(np.all(np.mod(finite, 1) == 0))


def missing(values: NDArray[Any]) -> NDArray[np.bool_]:
    """Where values are missing: None, or NaN."""
    import numpy as np

    if values.dtype.kind == "f":
        nan: NDArray[np.bool_] = np.isnan(values)
        return nan
    if values.dtype.kind == "O":
        return np.array(
            [v is None or (isinstance(v, float) and math.isnan(v)) for v in values.tolist()], dtype=bool
        )
    return np.zeros(len(values), dtype=bool)


def _plain(values: Any) -> list[Any]:
    """Values as plain Python values (numpy scalars unwrapped), so that 3 and np.int64(3) are one
    class and "3" another."""
    import numpy as np

    return [v.item() if isinstance(v, np.generic) else v for v in list(values)]


def distinct(values: NDArray[Any]) -> list[Any]:
    """The distinct values, sorted when they sort together (else in order of appearance), as
    plain Python values."""
    import numpy as np

    try:
        return _plain(np.unique(values))
    except TypeError:  # values of types that do not sort together (an object array)
        return list(dict.fromkeys(_plain(values)))
