"""Built-in miners: functions that pick likely mistakes out of inference records.

A miner takes an `InferenceTable` and returns `Candidates` (ids, scores, reasons); settings are
keyword arguments, so `functools.partial(low_confidence, method="entropy")` is a miner too.

- `low_confidence`: the model hesitated (small margin between its top two scores, high entropy,
  or low confidence).
- `feedback`: a human flagged or corrected the prediction, or a heuristic judged it wrong.
- `disagreement`: a reference model (or a committee) predicts something else.
- `out_of_distribution`: the input is far from the training data (k-nearest-neighbour distance).
- `label_errors` (in `loopline.cl.mining.label_errors`): training examples whose label looks wrong.

Every miner is vectorised over the table: a million records take a fraction of a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.mining.candidates import Candidates
from loopline.cl.registry.versions import load
from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from loopline.cl.production.table import InferenceTable

Uncertainty = Literal["margin", "entropy", "confidence"]


def low_confidence(
    table: InferenceTable,
    *,
    method: Uncertainty = "margin",
    threshold: float | None = None,
    limit: int | None = None,
) -> Candidates:
    """Records the model was unsure about, scored 0 (sure) to 1 (unsure):

    - "margin": 1 - (top score - second score);
    - "entropy": the entropy of the scores over its maximum, log(classes);
    - "confidence": 1 - the logged confidence.

    Only scores above `threshold` (if given) are kept, and at most `limit` of them (the
    highest). Records logged without scores (or confidence) are left out."""
    import numpy as np

    if method in ("margin", "entropy"):
        if table.scores is None:
            return Candidates.empty()
        scores = table.scores
        usable = ~np.isnan(scores).any(axis=1)
        if method == "margin":
            top2 = np.partition(scores, scores.shape[1] - 2, axis=1)[:, -2:] if scores.shape[1] > 1 else None
            statistic = np.ones(len(scores)) if top2 is None else top2[:, 1] - top2[:, 0]
            uncertainty = 1.0 - statistic
            template = "margin {:.3f} between the top two scores"
        else:
            p = np.clip(scores / np.maximum(scores.sum(axis=1, keepdims=True), 1e-12), 1e-12, 1.0)
            statistic = -(p * np.log(p)).sum(axis=1) / max(math.log(scores.shape[1]), 1e-12)
            uncertainty = statistic
            template = "entropy {:.3f} of the scores (1 = uniform)"
    elif method == "confidence":
        statistic = table.confidence
        usable = ~np.isnan(statistic)
        uncertainty = 1.0 - statistic
        template = "confidence {:.3f}"
    else:
        raise UsageError(f"low_confidence(method=...) must be margin, entropy or confidence, got {method!r}")
    keep = usable if threshold is None else usable & (uncertainty > threshold)
    rows = _highest(np.flatnonzero(keep), uncertainty, limit)
    return Candidates.of(
        f"low_confidence:{method}",
        table.request_ids[rows],
        uncertainty[rows],
        [template.format(v) for v in statistic[rows].tolist()],
        table.predictions[rows],
    )


def feedback(table: InferenceTable) -> Candidates:
    """Records a human corrected (score 1) or flagged as wrong (0.9), or a heuristic judged
    wrong (0.8 x its score). A correction is offered as the suggested label."""
    import numpy as np

    assert table.flagged is not None and table.corrections is not None and table.heuristic is not None
    corrected = table.corrections != None  # noqa: E711 - elementwise
    score = np.maximum.reduce(
        [np.where(corrected, 1.0, 0.0), np.where(table.flagged, 0.9, 0.0), 0.8 * table.heuristic]
    )
    rows = np.flatnonzero(score > 0)
    reasons = np.where(
        corrected[rows],
        "a user corrected the prediction",
        np.where(
            table.flagged[rows], "a user flagged the prediction as wrong", "a heuristic judged it wrong"
        ),
    )
    suggestions = np.where(corrected[rows], table.corrections[rows], table.predictions[rows].astype(object))
    return Candidates.of(
        "feedback", table.request_ids[rows], score[rows], reasons.astype(object), suggestions
    )


def disagreement(table: InferenceTable, reference: Any, *, inputs: Any = None) -> Candidates:
    """Records where a reference model predicts something else than the logged prediction.

    `reference`: a model (an object with `predict`, a function of the inputs, or a registered
    reference such as "digits@3"), a list of them (a committee: the score is the share of its
    members that disagree), or their predictions already made (one row per model). `inputs`:
    the inputs to predict on (default: the table's logged inputs)."""
    import numpy as np

    if len(table) == 0:
        return Candidates.of("disagreement", [], [], [])
    votes = _reference_predictions(table, reference, inputs)
    disagree = votes != table.predictions[None, :]
    share = disagree.mean(axis=0)
    rows = np.flatnonzero(share > 0)
    majority = _majority(votes[:, rows])
    members = votes.shape[0]
    if members == 1:
        reasons = [f"the reference model predicts {v!r}" for v in majority.tolist()]
    else:
        counts = disagree[:, rows].sum(axis=0).tolist()
        reasons = [
            f"{c} of {members} committee models disagree (most say {v!r})"
            for c, v in zip(counts, majority.tolist(), strict=True)
        ]
    return Candidates.of(
        "disagreement", table.request_ids[rows], share[rows], reasons, majority.astype(object)
    )


def out_of_distribution(
    table: InferenceTable,
    reference: Any,
    *,
    k: int = 5,
    quantile: float = 0.99,
    standardize: bool = True,
    inputs: Any = None,
    max_reference: int = 10_000,
) -> Candidates:
    """Records whose input is far from `reference` (training features, or a Dataset).

    The ratio is the mean distance to the `k` nearest reference examples over the `quantile` of
    that distance among the reference examples themselves: above 1, the input is farther out
    than (1 - quantile) of the training data. Only those are returned, scored 1 - 1/ratio (in
    [0, 1) like the other miners: twice the usual distance scores 0.5). Features are
    standardized on the reference first (unless `standardize=False`); a reference larger than
    `max_reference` is subsampled to that many examples (seeded), which bounds the cost."""
    import numpy as np

    if k < 1 or not 0 < quantile < 1:
        raise UsageError(
            f"out_of_distribution needs k >= 1 and 0 < quantile < 1, got k={k}, quantile={quantile}"
        )
    if len(table) == 0:
        return Candidates.of("out_of_distribution", [], [], [])
    ref = _matrix(reference.features if isinstance(reference, Dataset) else reference, "reference")
    queries = _matrix(table.inputs() if inputs is None else inputs, "inputs")
    if queries.shape[1] != ref.shape[1]:
        raise UsageError(f"the inputs have {queries.shape[1]} features but the reference has {ref.shape[1]}")
    if len(ref) <= k:
        raise UsageError(f"out_of_distribution needs more than k={k} reference examples, got {len(ref)}")
    rng = np.random.default_rng(0)
    if len(ref) > max_reference:
        ref = ref[rng.choice(len(ref), max_reference, replace=False)]
    if standardize:
        mean, std = ref.mean(axis=0), ref.std(axis=0)
        std[std == 0] = 1.0
        ref, queries = (ref - mean) / std, (queries - mean) / std
    ref32, queries32 = ref.astype(np.float32), queries.astype(np.float32)
    calibration = ref32[rng.choice(len(ref32), min(len(ref32), 2000), replace=False)]
    usual = float(np.quantile(knn_distance(calibration, ref32, k, skip_self=True), quantile))
    distance = knn_distance(queries32, ref32, k)
    ratio = distance / max(usual, 1e-12)
    rows = np.flatnonzero(ratio > 1.0)
    reasons = [
        f"{d:.2f} from its {k} nearest training examples ({r:.1f}x the usual {usual:.2f})"
        for d, r in zip(distance[rows].tolist(), ratio[rows].tolist(), strict=True)
    ]
    score = 1.0 - 1.0 / ratio[rows]
    return Candidates.of(
        "out_of_distribution", table.request_ids[rows], score, reasons, table.predictions[rows]
    )


def knn_distance(
    queries: NDArray[np.floating[Any]],
    reference: NDArray[np.floating[Any]],
    k: int,
    *,
    skip_self: bool = False,
    chunk: int = 2048,
) -> NDArray[np.float64]:
    """The mean Euclidean distance of each query to its `k` nearest reference rows (skipping the
    nearest one, itself, when the queries are reference rows), in chunks of `chunk` queries.

    Squared distances are |q|^2 + |r|^2 - 2 q.r, one matrix product per chunk; the k smallest
    per row are found by k passes of argmin (for a small k, much cheaper than partitioning
    every row)."""
    import numpy as np

    ref_norms = (reference * reference).sum(axis=1)
    take = k + 1 if skip_self else k
    out = np.empty(len(queries))
    for start in range(0, len(queries), chunk):
        q = queries[start : start + chunk]
        partial = q @ reference.T  # |q|^2 is added to the chosen few only
        partial *= -2.0
        partial += ref_norms[None, :]
        if take <= 16:
            rows = np.arange(len(q))
            nearest = np.empty((len(q), take))
            for j in range(take):
                at = partial.argmin(axis=1)
                nearest[:, j] = partial[rows, at]
                partial[rows, at] = np.inf
        else:
            nearest = np.sort(np.partition(partial, take - 1, axis=1)[:, :take], axis=1)
        distances = np.sqrt(np.maximum(nearest + (q * q).sum(axis=1)[:, None], 0.0))
        out[start : start + chunk] = (distances[:, 1:] if skip_self else distances).mean(axis=1)
    return out


def _matrix(values: Any, what: str) -> NDArray[np.float64]:
    import numpy as np

    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError(
            f"out_of_distribution needs numeric {what} (arrays), got {type(values).__qualname__}"
        ) from None
    if array.ndim < 2:
        raise UsageError(
            f"out_of_distribution needs {what} with one row per example, got shape {array.shape}"
        )
    return array.reshape(len(array), -1)


def _reference_predictions(table: InferenceTable, reference: Any, inputs: Any) -> NDArray[Any]:
    """(models, records) predictions of the reference model(s)."""
    import numpy as np

    if hasattr(reference, "shape") and not hasattr(reference, "predict"):
        votes = np.asarray(reference)
        return votes.reshape(1, -1) if votes.ndim == 1 else votes
    members: Sequence[Any] = reference if isinstance(reference, (list, tuple)) else [reference]
    features = table.inputs() if inputs is None else inputs
    rows = [np.asarray(_predict(model, features)).reshape(-1) for model in members]
    if any(len(r) != len(table) for r in rows):
        raise UsageError(f"a reference model returned a prediction count other than the {len(table)} records")
    return np.stack(rows)


def _predict(model: Any, features: Any) -> Any:
    if isinstance(model, str):
        model = load(model)
    if hasattr(model, "predict"):
        return model.predict(features)
    if callable(model):
        return model(features)
    raise UsageError(
        f"a reference model must have predict(), be a function, or be a registered reference, got {model!r}"
    )


def _majority(votes: NDArray[Any]) -> NDArray[Any]:
    """The most common prediction of each column (on ties, the earliest model's)."""
    import numpy as np

    agreeing = np.stack([(votes == member[None, :]).sum(axis=0) for member in votes])
    majority: NDArray[Any] = votes[np.argmax(agreeing, axis=0), np.arange(votes.shape[1])]
    return majority


def _highest(rows: NDArray[np.intp], values: NDArray[np.float64], limit: int | None) -> NDArray[np.intp]:
    import numpy as np

    if limit is None or len(rows) <= limit:
        return rows
    return rows[np.argpartition(-values[rows], limit - 1)[:limit]]
