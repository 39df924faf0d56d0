"""What a "model" can be in a regression test, and how its outputs on the golden set are obtained.

- an object with `predict(X)` (and `predict_proba(X)` when a metric needs scores),
- a function (or a `@loopline.func`, called directly) mapping the features to predictions,
- precomputed `Predictions` (or a plain array with one prediction per golden example),
- a registered model: `"digits@production"`, `"digits@3"`, `"digits"` (the latest version).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.registry import versions as registry
from loopline.cl.store.records import ModelVersion
from loopline.core.hashing import digest_chunks
from loopline.core.serialization import encode
from loopline.errors import SerializationError, UsageError
from loopline.sdk.function import Function

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from loopline.cl.store.workspace import Workspace


@dataclasses.dataclass(frozen=True)
class Predictions:
    """A model's outputs computed elsewhere: one label per golden example (in the dataset's
    order, or matched by `ids`), optional `scores` ((n,) for the positive class of a binary task,
    or (n, k) with `classes` naming the k columns)."""

    labels: Any
    scores: Any = None
    classes: Any = None
    ids: Sequence[str] | None = None


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """Which model a report talks about: a readable label, the registered version (if any) and
    the content id of the model value (if it is a value, not precomputed predictions)."""

    label: str
    ref: str | None = None
    artifact_id: str | None = None


@dataclasses.dataclass(frozen=True)
class ModelOutputs:
    info: ModelInfo
    predictions: NDArray[Any]
    scores: NDArray[Any] | None
    classes: NDArray[Any] | None


def model_outputs(
    model: Any, golden: Dataset, *, role: str, need_scores: bool, workspace: Workspace | None
) -> ModelOutputs | None:
    """The model's outputs on `golden`. None only for a registered alias that points nowhere yet."""
    import numpy as np

    if isinstance(model, (str, ModelVersion)):
        if isinstance(model, str):
            version = registry.find_version(model, workspace=workspace)
            if version is None:
                return None
            label = model if model == version.ref else f"{version.ref} ({model})"
        else:
            version, label = model, model.ref
        info = ModelInfo(label, version.ref, version.artifact_id)
        return _outputs_of(
            registry.load_version(version, workspace=workspace), golden, role, need_scores, info
        )
    if isinstance(model, (Predictions, np.ndarray, list, tuple)):
        return _from_predictions(model, golden, role)
    return _outputs_of(model, golden, role, need_scores)


def _outputs_of(
    model: Any, golden: Dataset, role: str, need_scores: bool, info: ModelInfo | None = None
) -> ModelOutputs:
    """Predictions (and scores) of a model object; `info` names it (default: by its type and
    content id)."""

    if hasattr(model, "predict"):
        info = info or ModelInfo(type(model).__qualname__, None, content_id(model))
        predictions = _call(model.predict, golden, role, "predict(X)")
        scores, classes = None, None
        if need_scores:
            if hasattr(model, "predict_proba"):
                scores = _call(model.predict_proba, golden, role, "predict_proba(X)")
                classes = getattr(model, "classes_", None)
            elif hasattr(model, "decision_function"):
                scores = _call(model.decision_function, golden, role, "decision_function(X)")
                classes = getattr(model, "classes_", None)
            else:
                raise UsageError(
                    f"the {role} model ({info.label}) has no predict_proba(X), but a metric needs "
                    "scores (auroc); give Predictions(labels, scores=...) instead"
                )
        return _checked(info, predictions, scores, classes, golden, role)
    if isinstance(model, Function):
        info = info or ModelInfo(f"{model.name}()")
        return _from_output(info, _call(model.fn, golden, role, f"{model.name}(X)"), golden, role)
    if callable(model):
        name = getattr(model, "__name__", type(model).__qualname__)
        info = info or ModelInfo(f"{name}()")
        return _from_output(info, _call(model, golden, role, f"{name}(X)"), golden, role)
    raise UsageError(
        f"the {role} model is a {type(model).__qualname__}, which Loopline cannot get predictions "
        "from: give an object with predict(X), a function of X, Predictions, or a registered "
        "model name such as 'digits@production'"
    )


def _call(fn: Any, golden: Dataset, role: str, what: str) -> Any:
    try:
        return fn(golden.features)
    except Exception as exc:
        raise UsageError(
            f"the {role} model's {what} failed on {golden.ref}: {type(exc).__name__}: {exc}"
        ) from exc


def _from_output(info: ModelInfo, output: Any, golden: Dataset, role: str) -> ModelOutputs:
    if isinstance(output, Predictions):
        outputs = _from_predictions(output, golden, role)
        return dataclasses.replace(outputs, info=info)
    return _checked(info, output, None, None, golden, role)


def _from_predictions(value: Any, golden: Dataset, role: str) -> ModelOutputs:
    import numpy as np

    given = value if isinstance(value, Predictions) else Predictions(value)
    labels, scores = given.labels, given.scores
    if given.ids is not None:
        ids = np.asarray(given.ids).astype(str)
        where = {example_id: i for i, example_id in enumerate(ids.tolist())}
        missing = [i for i in golden.ids.tolist() if i not in where]
        if missing:
            raise UsageError(
                f"the {role} predictions have no entry for {len(missing)} golden examples, e.g. {missing[:3]}"
            )
        order = np.array([where[i] for i in golden.ids.tolist()], dtype=np.intp)
        labels = np.asarray(labels)[order]
        scores = None if scores is None else np.asarray(scores)[order]
    return _checked(ModelInfo("predictions"), labels, scores, given.classes, golden, role)


def _checked(
    info: ModelInfo, predictions: Any, scores: Any, classes: Any, golden: Dataset, role: str
) -> ModelOutputs:
    import numpy as np

    array = np.asarray(predictions)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != len(golden):
        raise UsageError(
            f"the {role} model gave predictions of shape {array.shape}, but {golden.ref} has "
            f"{len(golden)} examples: one prediction per example is needed"
        )
    score_array = None if scores is None else np.asarray(scores, dtype=np.float64)
    if score_array is not None and (score_array.ndim not in (1, 2) or len(score_array) != len(golden)):
        raise UsageError(
            f"the {role} model's scores have shape {score_array.shape}; expected ({len(golden)}, k)"
        )
    class_array = None if classes is None else np.asarray(classes)
    return ModelOutputs(info, array, score_array, class_array)


def content_id(model: Any) -> str | None:
    """The artifact id this model would be stored under (None if it cannot be stored)."""

    try:
        return digest_chunks(encode(model).chunks())
    except SerializationError:
        return None
