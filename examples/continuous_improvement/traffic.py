"""Simulated production: the production model serves requests, every prediction is logged, and
some users give feedback (a few flag wrong answers, fewer type the right digit, some confirm)."""

from __future__ import annotations

import dataclasses

import numpy as np

from examples.continuous_improvement import data
from loopline import models
from loopline.cl.workspace import Workspace
from loopline.inferences import InferenceLog

FLAG_WRONG = 0.3  # share of wrong answers a user flags
CORRECT_FLAGGED = 0.3  # share of those flags that come with the right digit
CONFIRM_RIGHT = 0.05  # share of right answers a user confirms


@dataclasses.dataclass(frozen=True)
class Served:
    requests: int
    wrong: int
    feedback: int


def serve(rows: np.ndarray, *, model: str, seed: int, workspace: Workspace | None = None) -> Served:
    """Serve the images at `rows` with `model` (e.g. "digits@production"), log every prediction
    with its scores, and record the users' feedback."""
    split = data.split()
    production = models.load(model, workspace=workspace)
    features = split.features[rows]
    scores = production.predict_proba(features)
    predictions = np.asarray(production.classes_)[scores.argmax(axis=1)]
    request_ids = [data.request_id(r) for r in rows.tolist()]
    with InferenceLog(workspace, background=False) as log:
        log.log_batch(
            model, features, predictions, scores=scores, request_ids=request_ids, display="image 8x8"
        )
        rng = np.random.default_rng(seed)
        truth = split.labels[rows]
        wrong = predictions != truth
        flagged = wrong & (rng.random(len(rows)) < FLAG_WRONG)
        corrected = flagged & (rng.random(len(rows)) < CORRECT_FLAGGED)
        confirmed = ~wrong & (rng.random(len(rows)) < CONFIRM_RIGHT)
        for i in np.flatnonzero(flagged | confirmed).tolist():
            user = f"user-{rng.integers(1000):03d}"
            if corrected[i]:
                log.feedback(request_ids[i], "correction", label=int(truth[i]), source=user)
            elif flagged[i]:
                log.feedback(request_ids[i], "flag", source=user)
            else:
                log.feedback(request_ids[i], "confirmation", source=user)
    return Served(len(rows), int(wrong.sum()), int((flagged | confirmed).sum()))
