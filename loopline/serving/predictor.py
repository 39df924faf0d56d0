"""How a served model predicts: its own methods, or a `@loopline.predictor` of yours.

    import loopline
    from loopline.serving import Array, Outputs

    @loopline.predictor(input=Array((8, 8)), display="image 8x8")
    def digits(model, images):                      # images: an (n, 8, 8) float64 array
        features = images.reshape(len(images), 64)  # pre-processing
        scores = model.predict_proba(features)
        labels = model.classes_[scores.argmax(axis=1)]
        return Outputs([f"digit {d}" for d in labels], scores=scores, inputs=features)

    loopline serve digits@production --predictor serving.py:digits

A predictor is a function `(model, batch) -> Outputs` (or just the predictions, one per input);
`batch` is the request's inputs checked against `input=` (see `loopline.serving.inputs`). It is
code you deploy with the server, found by reference (`FILE.py:NAME` or `package.module:NAME`),
while the model it is given is whichever version the alias holds: promotions change the model,
not the code around it. Without a predictor, the model's own methods are used:

- scikit-learn (and any object with `predict_proba` and `classes_`): the class scores from
  `predict_proba`, the prediction their most probable class (`predict` too for SVC and NuSVC,
  whose `predict` can disagree with their probabilities); an object with only `predict`
  (a regressor) gives predictions without scores;
- a torch module: `forward` under `torch.inference_mode()` on the batch as float32 on the
  module's device; an (n, k) output becomes class probabilities (its softmax, unless its rows are
  probabilities already) and the prediction their argmax, any other output the predictions.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Callable
from typing import Any, overload

from loopline.errors import UsageError
from loopline.sdk.targets import Target
from loopline.serving.inputs import InputSpec, spec_of


@dataclasses.dataclass(frozen=True)
class Outputs:
    """What a predictor returns for a batch of n inputs.

    - `predictions`: one per input (JSON values, or numpy values that become them);
    - `scores`: optional (n, k) class probabilities, each in [0, 1] (log the softmax of logits);
      the confidence of a prediction is its highest score;
    - `inputs`: what to log as each input (default: the inputs as checked), e.g. the features
      after pre-processing, so that mined examples join the training data in its own form.
    """

    predictions: Any
    scores: Any = None
    inputs: Any = None


PredictFunction = Callable[[Any, Any], Any]


class Predictor:
    """A prediction function for a served model, with the input it takes and how to show it."""

    def __init__(
        self, fn: PredictFunction, *, input: Any = None, display: str = "", name: str | None = None
    ) -> None:
        if not callable(fn):
            raise UsageError(
                f"@loopline.predictor decorates a function (model, batch) -> Outputs, got {fn!r}"
            )
        self.fn = fn
        self.input: InputSpec | None = None if input is None else spec_of(input)
        self.display = display
        self.name: str = name or str(getattr(fn, "__qualname__", type(fn).__name__))

    def __call__(self, model: Any, batch: Any) -> Any:
        return self.fn(model, batch)

    def __repr__(self) -> str:
        return f"<predictor {self.name}>"


@overload
def predictor(fn: PredictFunction, /) -> Predictor: ...


@overload
def predictor(*, input: Any = None, display: str = "") -> Callable[[PredictFunction], Predictor]: ...


def predictor(
    fn: PredictFunction | None = None, /, *, input: Any = None, display: str = ""
) -> Predictor | Callable[[PredictFunction], Predictor]:
    """Make `fn(model, batch)` the prediction function of a served model (`loopline serve MODEL
    --predictor FILE.py:NAME`). `input`: what each input must be (`Array(shape)`, `Record(fields)`,
    a dataclass; default: what the model declares); `display`: how logged inputs are shown
    (e.g. "image 8x8"; default: as the model's training dataset shows its examples)."""
    if fn is not None:
        return Predictor(fn, input=input, display=display)
    return lambda f: Predictor(f, input=input, display=display)


def load_predictor(reference: str) -> Predictor:
    """The `@loopline.predictor` that `FILE.py:NAME` or `package.module:NAME` names."""
    where, sep, name = reference.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise UsageError(f"--predictor {reference!r}: expected FILE.py:NAME or package.module:NAME")
    if where.endswith(".py"):
        module = Target.parse(reference).import_module()
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as error:
            raise UsageError(f"--predictor {reference!r}: cannot import {where!r}: {error}") from None
    found = getattr(module, name, None)
    if found is None:
        known = sorted(k for k, v in vars(module).items() if isinstance(v, Predictor))
        hint = f"; predictors there: {', '.join(known)}" if known else ""
        raise UsageError(f"--predictor {reference!r}: {where} has no {name!r}{hint}")
    if not isinstance(found, Predictor):
        raise UsageError(
            f"--predictor {reference!r} is a {type(found).__name__}, not a predictor: decorate it with "
            "@loopline.predictor (a function (model, batch) -> Outputs)"
        )
    return found


# -- the model's own methods --------------------------------------------------------------------


def own_predictor(model: Any, ref: str) -> Predictor:
    """The predictor made of the model's own methods (UsageError when it has none)."""
    torch = sys.modules.get("torch")  # loaded already when the model is a torch module
    if torch is not None and isinstance(model, torch.nn.Module):
        return Predictor(_forward, name=f"{type(model).__name__}.forward")
    if callable(getattr(model, "predict_proba", None)) and getattr(model, "classes_", None) is not None:
        return Predictor(_by_probabilities, name=f"{type(model).__name__}.predict_proba")
    if callable(getattr(model, "predict", None)):
        return Predictor(_by_predict, name=f"{type(model).__name__}.predict")
    raise UsageError(
        f"{ref} is a {type(model).__qualname__}, which cannot predict: it has no predict(X) or "
        "predict_proba(X), and is not a torch module. Register a model that has them, or serve it "
        "with a predictor of yours: loopline serve MODEL --predictor FILE.py:NAME (@loopline.predictor)"
    )


def _by_probabilities(model: Any, batch: Any) -> Outputs:
    import numpy as np

    scores = model.predict_proba(batch)
    if _predict_may_disagree(model):
        return Outputs(model.predict(batch), scores=scores)
    return Outputs(np.asarray(model.classes_)[np.asarray(scores).argmax(axis=1)], scores=scores)


def _predict_may_disagree(model: Any) -> bool:
    """SVC and NuSVC predict from the decision function, not from their (Platt) probabilities."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return type(final).__name__ in {"SVC", "NuSVC"}


def _by_predict(model: Any, batch: Any) -> Outputs:
    return Outputs(model.predict(batch))


def _forward(model: Any, batch: Any) -> Outputs:
    import numpy as np
    import torch

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    with torch.inference_mode():
        output = model(torch.as_tensor(np.asarray(batch), dtype=torch.float32, device=device))
    values = output.detach().float().cpu().numpy()
    if values.ndim == 2 and values.shape[1] > 1:
        probabilities = values.min() >= 0 and np.allclose(values.sum(axis=1), 1.0, atol=1e-4)
        if not probabilities:
            shifted = np.exp(values - values.max(axis=1, keepdims=True))
            values = shifted / shifted.sum(axis=1, keepdims=True)
        return Outputs(values.argmax(axis=1), scores=values.astype(np.float64))
    return Outputs(values.reshape(len(values)) if values.ndim == 2 else values)
