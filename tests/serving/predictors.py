"""Predictors the serving tests load by reference (`tests/serving/predictors.py:NAME`)."""

from __future__ import annotations

from typing import Any

import numpy as np

import loopline
from loopline.serving import Array, InvalidInput, Outputs, Record


@loopline.predictor(input=Array((8, 8)), display="image 8x8")
def images(model: Any, batch: np.ndarray) -> Outputs:
    """Takes 8x8 images with pixels in [0, 1]; answers words; logs the model's own features."""
    features = batch.reshape(len(batch), 64) * 16
    scores = model.predict_proba(features)
    words = [f"digit {d}" for d in model.classes_[scores.argmax(axis=1)].tolist()]
    return Outputs(words, scores=scores, inputs=features)


@loopline.predictor(input=Record({"pixels": object, "user": str}))
def checked(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Refuses rows whose pixels are not 64 numbers, naming the row and the field."""
    for i, row in enumerate(rows):
        if not isinstance(row["pixels"], list) or len(row["pixels"]) != 64:
            raise InvalidInput.at((i, "pixels"), "expected 64 pixels")
    return model.predict(np.array([row["pixels"] for row in rows])).tolist()


@loopline.predictor
def logits(model: Any, batch: Any) -> Outputs:
    """A broken predictor: raw scores, not probabilities."""
    return Outputs(model.predict(batch), scores=model.decision_function(batch))


not_a_predictor = 3
