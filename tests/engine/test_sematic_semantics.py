"""What Sematic pipelines and their tests rely on, on every runner: the failure's chain, the
conversions of values (said once in the run's log, refused with strict types), Kubernetes
settings on a machine that is no pod, and runner.run() inside a func."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import loopline
from loopline import KubernetesResourceRequirements, ResourceRequirements
from loopline.errors import ArgumentTypeError, FunctionError, LooplineWarning, ResourceUnavailableError


@loopline.func
def fails() -> int:
    raise ValueError("intentional")


def test_the_failure_leads_to_the_user_error_through_cause_and_context() -> None:
    with pytest.raises(loopline.PipelineRunError, match="intentional") as caught:
        loopline.SilentRunner().run(fails())
    assert isinstance(caught.value.__cause__, ValueError)
    assert isinstance(caught.value.__context__, FunctionError)
    assert caught.value.__context__.__context__ is caught.value.__cause__


@loopline.func
def to_series() -> pd.Series:
    return np.arange(3)  # type: ignore[return-value]


@loopline.func
def scale(values: pd.Series, factor: int) -> float:
    return float(values.sum() * factor)


def test_an_output_conversion_is_said_once_in_the_run_log(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    assert runner.run(to_series()).tolist() == [0, 1, 2]
    logs = client.logs(client.runs(name="to_series")[0].id)
    assert logs.count("loopline: to_series() returned values that Loopline converted") == 1
    assert "numpy.ndarray to Series" in logs


def test_an_argument_conversion_is_said_in_the_log_of_the_run_it_concerns(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    future = scale(np.arange(3), 2.0)  # type: ignore[arg-type]
    assert runner.run(future) == 6.0
    assert "float to int (at factor)" in client.logs(future.id)  # type: ignore[attr-defined]


def test_strict_types_from_the_environment_refuse_converted_arguments(
    home,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("LOOPLINE_STRICT_TYPES", "1")
    with pytest.raises(loopline.PipelineRunError) as caught:
        loopline.LocalRunner(home=home, echo=False).run(scale(np.arange(3), 2.0))  # type: ignore[arg-type]
    assert isinstance(caught.value.__cause__, ArgumentTypeError)
    assert "only once converted" in str(caught.value.__cause__)


def test_a_strict_silent_runner_refuses_converted_outputs() -> None:
    with pytest.raises(loopline.PipelineRunError, match="returned array"):
        loopline.SilentRunner(strict_types=True).run(to_series())


POD = KubernetesResourceRequirements(node_selector={"pool": "gpu"}, requests={"memory": "100000Gi"})


@loopline.func(resource_requirements=ResourceRequirements(POD))
def sized_for_a_pod() -> int:
    return 1


@loopline.func
def twice_sized() -> list[int]:
    return [sized_for_a_pod(), sized_for_a_pod()]  # type: ignore[list-item]


def test_kubernetes_settings_are_ignored_with_one_warning(runner: loopline.LocalRunner) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert runner.run(twice_sized()) == [1, 1]
    messages = [str(w.message) for w in caught if issubclass(w.category, LooplineWarning)]
    assert len(messages) == 1
    assert "(node_selector) have no effect" in messages[0] and "requests for memory exceed" in messages[0]


@loopline.func(resources=ResourceRequirements(memory="100000Gi"))
def sized_by_hand() -> int:
    return 1


def test_an_explicit_request_this_machine_cannot_meet_still_fails(runner: loopline.LocalRunner) -> None:
    with pytest.raises(loopline.PipelineRunError) as caught:
        runner.run(sized_by_hand())
    assert isinstance(caught.value.__cause__, ResourceUnavailableError)


@loopline.func
def add(a: float, b: float) -> float:
    return a + b


@loopline.func
def runs_a_pipeline_inside() -> float:
    return loopline.SilentRunner().run(add(1, 2))


def test_a_pipeline_run_inside_a_func_is_a_pipeline_of_its_own() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the inner future ran: no unused-future warning
        assert loopline.SilentRunner().run(runs_a_pipeline_inside()) == 3.0
