"""The statistics behind regression verdicts: Wilson intervals and McNemar's exact test.

Both are computed from counts only, with numpy (no scipy needed); the paired bootstrap, which
needs the examples themselves, is in `bootstrap.py`.
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
    value means that many right->wrong flips are unlikely to be noise. Summed in log space over
    the shorter tail (the binomial with p = 1/2 is symmetric), so it costs microseconds even for
    thousands of flips."""
    n = worse + better
    if n == 0 or worse == 0:
        return 1.0
    if 2 * worse > n:
        return binomial_half_upper_tail(worse, n)
    return max(0.0, 1.0 - binomial_half_upper_tail(n - worse + 1, n))  # P(X >= k) = 1 - P(X >= n-k+1)


def binomial_half_upper_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2): the first term from log-gamma, the others by the
    ratio C(n, i+1) / C(n, i) = (n - i) / (i + 1), summed in log space."""
    import numpy as np

    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    first = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
    i = np.arange(k, n, dtype=np.float64)
    logs = np.concatenate([[first], first + np.cumsum(np.log(n - i) - np.log(i + 1))])
    top = float(logs.max())
    return float(min(1.0, math.exp(top) * float(np.exp(logs - top).sum())))
