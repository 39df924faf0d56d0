"""Sematic's metric API: a point for the run, or with MetricScope.PIPELINE for the root run."""

from __future__ import annotations

import pytest

import loopline
from loopline.ee.metrics import MetricScope, MetricType, log_metric
from loopline.utils.exceptions import NotInSematicFuncError


@loopline.func
def step() -> int:
    log_metric("loss", 0.5)
    log_metric("rows", 10, scope=MetricScope.PIPELINE, metric_type=MetricType.COUNT)
    return 1


@loopline.func
def pipeline() -> int:
    return step()


def test_run_and_pipeline_scopes_land_on_their_runs(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    future = pipeline()
    runner.run(future)
    (step_run,) = client.runs(name="step")
    assert [(p.name, p.value) for p in client.metrics(step_run.id)] == [("loss", 0.5)]
    assert [(p.name, p.value) for p in client.metrics(future.id)] == [("rows", 10.0)]


def test_outside_a_func_it_is_sematic_error() -> None:
    with pytest.raises(
        NotInSematicFuncError, match="within a Sematic Function, i.e. inside a @loopline.func"
    ):
        log_metric("loss", 1.0)
