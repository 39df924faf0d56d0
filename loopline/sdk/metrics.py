"""Sematic's metric API (`sematic.ee.metrics`): a scope and an aggregation type per point.

Loopline records every point on a run; `MetricScope.PIPELINE` records it on the pipeline's root
run. The dashboard charts every point as it was logged, without aggregating them, so the
`MetricType` (Sematic's sum-or-mean aggregation) is accepted and changes nothing.
"""

from __future__ import annotations

import enum

from loopline.errors import NotInFuncError, OptionTypeError
from loopline.sdk import context


class MetricType(enum.IntEnum):
    """How points are aggregated: `COUNT` by sum, `GAUGE` by mean (Sematic's values)."""

    COUNT = 0
    GAUGE = 1


class MetricScope(enum.Enum):
    """Where a point is shown: on the current run, or on the pipeline (its root run)."""

    RUN = "0"
    PIPELINE = "1"


def log_metric(
    name: str,
    value: float,
    scope: MetricScope = MetricScope.RUN,
    metric_type: MetricType = MetricType.GAUGE,
) -> None:
    """Record `value` for the metric `name` from inside a running func (Sematic's signature).

    Same as `loopline.log_metric(name, value)`, or `loopline.log_metric(name, value,
    pipeline=True)` for `scope=MetricScope.PIPELINE`."""
    if not isinstance(scope, MetricScope):
        raise OptionTypeError(f"log_metric(scope=...) must be a MetricScope, got {scope!r}")
    if not isinstance(metric_type, MetricType):
        raise OptionTypeError(f"log_metric(metric_type=...) must be a MetricType, got {metric_type!r}")
    try:
        context.log_metric(name, value, pipeline=scope is MetricScope.PIPELINE)
    except NotInFuncError:  # said in Sematic's words: this is Sematic's entry point
        raise NotInFuncError(
            "log_metric must be called within a Sematic Function, i.e. inside a @loopline.func "
            "while a runner executes it"
        ) from None
