"""Sematic's metric API: `log_metric(name, value, scope=MetricScope.RUN, metric_type=...)`."""

from __future__ import annotations

from loopline.sdk.metrics import MetricScope, MetricType, log_metric

__all__ = ["MetricScope", "MetricType", "log_metric"]
