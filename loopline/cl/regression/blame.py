"""Which new training examples a failed gate points at.

When a round's candidate regresses, the golden examples it now gets wrong (right for the
baseline, wrong for the candidate, in a failing must-pass scenario) say what it learned: a
golden 7 now called a 1 was most likely taught by new examples labeled 1 that look like it. So
each flipped golden example blames the `k` new examples nearest to it (in feature space,
standardized) among those whose label is the candidate's wrong answer, 1 for the nearest, 1/2
for the next, ...; an example's blame is its share of the largest total, 0 to 1. Without
numeric features, an example is blamed by the share of the flips whose wrong answer is its
label.

    scores = blame(report, golden, new_examples)      # one score per new example, 0 to 1

This ranks labels for a reviewer; it proves nothing about any one label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.regression.report import RegressionReport

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


def blame(report: RegressionReport, golden: Dataset, new: Dataset, *, k: int = 3) -> NDArray[np.float64]:
    """How much the report's regressions point at each example of `new` (0 to 1, aligned)."""
    import numpy as np

    scores = np.zeros(len(new))
    if new.labels is None or not len(new):
        return scores
    flips: dict[str, Any] = {}
    for result in report.failures:
        for flip in result.right_to_wrong:
            flips.setdefault(flip.id, flip.candidate)
    present = [i for i in flips if i in set(golden.ids.tolist())]
    if not present:
        return scores
    wrong_answers = np.array([flips[i] for i in present], dtype=object)
    labels = np.asarray(new.labels, dtype=object)
    points = _matrix(new.features)
    targets = _matrix(golden.subset(present).features)
    if points is None or targets is None or points.shape[1] != targets.shape[1]:
        for answer in wrong_answers.tolist():
            scores += labels == answer
    else:
        scale = np.concatenate([points, targets]).std(axis=0)
        scale[scale == 0] = 1.0
        points, targets = points / scale, targets / scale
        for target, answer in zip(targets, wrong_answers.tolist(), strict=True):
            teaching = np.flatnonzero(labels == answer)
            if not len(teaching):
                continue
            distance = ((points[teaching] - target) ** 2).sum(axis=1)
            nearest = teaching[np.argsort(distance, kind="stable")[:k]]
            scores[nearest] += 1.0 / np.arange(1, len(nearest) + 1)
    top = scores.max()
    return scores / top if top > 0 else scores


def _matrix(features: Any) -> NDArray[np.float64] | None:
    """The features as a (n, d) float matrix, or None when they are not numbers."""
    import numpy as np

    try:
        array = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if array.ndim < 1 or not len(array) or not np.isfinite(array).all():
        return None
    return array.reshape(len(array), -1)
