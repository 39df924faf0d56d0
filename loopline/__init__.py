"""Loopline: typed Python pipelines, tracked, cached and resumable, for continuous learning.

    import loopline

    @loopline.func
    def add(a: float, b: float) -> float:
        return a + b

    loopline.LocalRunner().run(add(1, 2))

Sematic pipelines port with `import loopline as sematic` (docs/sematic.md; `loopline migrate`
rewrites a codebase's imports).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from loopline._version import __version__
from loopline.client import Client
from loopline.core.html import dashboard_url
from loopline.core.image import Image
from loopline.core.records import RunRecord, RunState
from loopline.core.serialization import register_type
from loopline.engine.compat import (
    CloudResolver,
    CloudRunner,
    LocalResolver,
    Resolver,
    SilentResolver,
    StandardKuberayWrapper,
    has_container_image,
)
from loopline.engine.hooks import RunHooks
from loopline.engine.local import LocalRunner, RerunMode
from loopline.engine.runner import Runner
from loopline.engine.silent import SilentRunner
from loopline.errors import (
    ArgumentTypeError,
    FunctionDefinitionError,
    FunctionError,
    KubernetesError,
    LooplineError,
    OutputTypeError,
    PipelineRunError,
    UnsupportedFutureOperation,
)
from loopline.sdk.context import Context, context, log_metric
from loopline.sdk.function import Function, func
from loopline.sdk.future import Future
from loopline.sdk.kubernetes import (
    KubernetesCapabilities,
    KubernetesHostPathMount,
    KubernetesResourceRequirements,
    KubernetesSecretMount,
    KubernetesSecurityContext,
    KubernetesToleration,
    KubernetesTolerationEffect,
    KubernetesTolerationOperator,
)
from loopline.sdk.notebook import notebook
from loopline.sdk.resources import ResourceRequirements, RetrySettings
from loopline.sdk.timed_message import TimedMessage

SematicContext = Context  # Sematic's name for what `context()` returns

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ imports them
    from loopline import api_client, ee, inferences, labeling, miners, models, testing, types, utils
    from loopline.cl.datasets.dataset import Dataset
    from loopline.cl.regression.compare import regression_test
    from loopline.cl.regression.report import RegressionReport
    from loopline.cl.regression.scenarios import Scenario
    from loopline.engine.ray import RayRunner  # noqa: F401  (not in __all__: Ray is optional)
    from loopline.serving.predictor import predictor

__all__ = [
    "ArgumentTypeError",
    "Client",
    "CloudResolver",
    "CloudRunner",
    "Context",
    "Dataset",
    "Function",
    "FunctionDefinitionError",
    "FunctionError",
    "Future",
    "Image",
    "KubernetesCapabilities",
    "KubernetesError",
    "KubernetesHostPathMount",
    "KubernetesResourceRequirements",
    "KubernetesSecretMount",
    "KubernetesSecurityContext",
    "KubernetesToleration",
    "KubernetesTolerationEffect",
    "KubernetesTolerationOperator",
    "LocalResolver",
    "LocalRunner",
    "LooplineError",
    "OutputTypeError",
    "PipelineRunError",
    "RegressionReport",
    "RerunMode",
    "Resolver",
    "ResourceRequirements",
    "RetrySettings",
    "RunHooks",
    "RunRecord",
    "RunState",
    "Runner",
    "Scenario",
    "SematicContext",
    "SilentResolver",
    "SilentRunner",
    "StandardKuberayWrapper",
    "TimedMessage",
    "UnsupportedFutureOperation",
    "__version__",
    "api_client",
    "context",
    "dashboard_url",
    "ee",
    "func",
    "has_container_image",
    "inferences",
    "labeling",
    "log_metric",
    "miners",
    "models",
    "notebook",
    "predictor",
    "register_type",
    "regression_test",
    "testing",
    "types",
    "utils",
]


# Names that load on first use, so `import loopline` (in every worker process too) stays light:
# the continuous-learning layer, serving, and Ray (an optional integration).
_LAZY = {
    "Dataset": "loopline.cl.datasets.dataset",
    "predictor": "loopline.serving.predictor",
    "RegressionReport": "loopline.cl.regression.report",
    "Scenario": "loopline.cl.regression.scenarios",
    "regression_test": "loopline.cl.regression.compare",
    "RayRunner": "loopline.engine.ray",
}
_SUBMODULES = ("api_client", "ee", "inferences", "labeling", "miners", "models", "testing", "types", "utils")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"loopline.{name}")
    raise AttributeError(f"module 'loopline' has no attribute {name!r}")
