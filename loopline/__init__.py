"""Loopline: typed Python pipelines, tracked, cached and resumable, for continuous learning.

    import loopline

    @loopline.func
    def add(a: float, b: float) -> float:
        return a + b

    loopline.LocalRunner().run(add(1, 2))

Sematic pipelines port with `import loopline as sematic`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from loopline._version import __version__
from loopline.cl.datasets import Dataset
from loopline.cl.regression import regression_test
from loopline.cl.report import RegressionReport
from loopline.cl.scenarios import Scenario
from loopline.client import Client
from loopline.core.image import Image
from loopline.core.records import RunRecord, RunState
from loopline.core.serialization import register_type
from loopline.engine.compat import CloudRunner
from loopline.engine.hooks import RunHooks
from loopline.engine.local import LocalRunner
from loopline.engine.runner import Runner
from loopline.engine.silent import SilentRunner
from loopline.errors import (
    ArgumentTypeError,
    FunctionDefinitionError,
    LooplineError,
    OutputTypeError,
    PipelineRunError,
    UnsupportedFutureOperation,
)
from loopline.sdk.context import Context, context, log_metric
from loopline.sdk.function import Function, func
from loopline.sdk.future import Future
from loopline.sdk.resources import KubernetesResourceRequirements, ResourceRequirements, RetrySettings

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ imports them
    from loopline import inferences, labeling, miners, models

__all__ = [
    "ArgumentTypeError",
    "Client",
    "CloudRunner",
    "Context",
    "Dataset",
    "Function",
    "FunctionDefinitionError",
    "Future",
    "Image",
    "KubernetesResourceRequirements",
    "LocalRunner",
    "LooplineError",
    "OutputTypeError",
    "PipelineRunError",
    "RegressionReport",
    "ResourceRequirements",
    "RetrySettings",
    "RunHooks",
    "RunRecord",
    "RunState",
    "Runner",
    "Scenario",
    "SilentRunner",
    "UnsupportedFutureOperation",
    "__version__",
    "context",
    "func",
    "inferences",
    "labeling",
    "log_metric",
    "miners",
    "models",
    "register_type",
    "regression_test",
]


_SUBMODULES = ("inferences", "labeling", "miners", "models", "testing")


def __getattr__(name: str) -> Any:
    # Optional integrations and the continuous-learning modules load on first use, so
    # `import loopline` (in every worker process too) stays light.
    if name == "RayRunner":
        from loopline.engine.ray import RayRunner

        return RayRunner
    if name in _SUBMODULES:
        return importlib.import_module(f"loopline.{name}")
    raise AttributeError(f"module 'loopline' has no attribute {name!r}")
