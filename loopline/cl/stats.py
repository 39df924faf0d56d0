"""The statistics behind regression verdicts: Wilson intervals and McNemar's exact test.

Both are computed from counts only, exactly, with numpy (no scipy needed).
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Interval:
    """A confidence interval for a proportion."""

    low: float
    high: float
    confidence: float

    def __str__(self) -> str:
        return f"[{self.low:.3f}, {self.high:.3f}]"


def _z(confidence: float) -> float:
    """The two-sided normal quantile for `confidence` (0.95 -> 1.96), by bisection on erf."""
    target = confidence
    low, high = 0.0, 10.0
    for _ in range(80):
        mid = (low + high) / 2
        if math.erf(mid / math.sqrt(2)) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval | None:
    """Wilson's score interval for successes/n: well-behaved for small n and for 0% or 100%
    (where the plain normal interval collapses to a point). None when n is 0."""
    if n == 0:
        return None
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half), confidence)


def mcnemar_exact(worse: int, better: int) -> float:
    """One-sided exact McNemar test on paired right/wrong outcomes.

    `worse` examples flipped right->wrong and `better` flipped wrong->right. If the candidate
    were no worse than the baseline, each discordant example would flip either way with
    probability 1/2, so `worse` ~ Binomial(worse + better, 1/2). Returns P(X >= worse): a small
    value means that many right->wrong flips are unlikely to be noise."""
    n = worse + better
    if n == 0 or worse == 0:
        return 1.0
    if n <= 1000:
        tail = sum(math.comb(n, i) for i in range(worse, n + 1))
        return min(1.0, tail / 2**n)
    return _binomial_tail_log(worse, n)


def _binomial_tail_log(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2), summed in log space (large n)."""
    import numpy as np

    i = np.arange(k, n + 1, dtype=np.float64)
    # log C(n, i) via log-gamma of integers, built as cumulative sums of logs.
    logs = np.log(np.arange(1, n + 1, dtype=np.float64))
    log_factorial = np.concatenate([[0.0], np.cumsum(logs)])
    idx = i.astype(np.int64)
    log_terms = log_factorial[n] - log_factorial[idx] - log_factorial[n - idx] - n * math.log(2)
    top = float(log_terms.max())
    return float(min(1.0, math.exp(top) * float(np.exp(log_terms - top).sum())))
