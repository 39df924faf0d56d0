"""Every public name of Sematic 0.41.0 exists at the same path under `loopline`.

The list is Sematic's `sematic/__init__.py`, `sematic.types`, `sematic.ee.metrics`,
`sematic.ee.ray`, `sematic.utils.exceptions` (the exceptions its users catch), the read
functions of `sematic.api_client`, `sematic.client` and `sematic.testing`.
"""

from __future__ import annotations

import importlib

import pytest

SEMATIC_PUBLIC_NAMES = {
    "": (
        "func SematicContext context TimedMessage StandardKuberayWrapper Resolver CloudResolver "
        "LocalResolver KubernetesCapabilities KubernetesHostPathMount KubernetesResourceRequirements "
        "KubernetesSecretMount KubernetesSecurityContext KubernetesToleration KubernetesTolerationEffect "
        "KubernetesTolerationOperator ResourceRequirements SilentResolver RetrySettings Runner CloudRunner "
        "LocalRunner RerunMode SilentRunner KubernetesError PipelineRunError __version__ has_container_image "
        "types api_client client testing FunctionError"
    ),
    "types": (
        "S3Bucket S3Location datetime HuggingFaceDatasetReference HuggingFaceModelReference "
        "HuggingFaceStoredModel Image Link PromptResponse SnowflakeTable"
    ),
    "ee.metrics": "log_metric MetricType MetricScope",
    "ee.ray": "checkpoint RayCluster AutoscalerConfig RayClusterConfig RayNodeConfig ScalingGroup SimpleRayCluster",
    "utils.exceptions": (
        "ExceptionMetadata format_exception_for_run InfrastructureError KubernetesError ExternalResourceError "
        "NotInSematicFuncError TimeoutError PipelineRunError ResolutionError CancellationError FunctionError"
    ),
    "api_client": "get_artifact_value_by_id get_artifact_value get_run get_runs block_on_run get_run_output",
    "client": "get_artifact_value get_run_output block_on_run",
    "testing": "mock_sematic_funcs",
}
NAMES = [(module, name) for module, names in SEMATIC_PUBLIC_NAMES.items() for name in names.split()]


@pytest.mark.parametrize(("module", "name"), NAMES, ids=[f"{m or 'sematic'}.{n}" for m, n in NAMES])
def test_the_name_exists_at_the_same_path(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(f"loopline.{module}".rstrip(".")), name)


def test_import_loopline_as_sematic_reaches_the_submodules() -> None:
    import loopline as sematic

    assert sematic.types.Image is sematic.Image and sematic.api_client.get_run is not None
    assert sematic.utils.exceptions is not None and sematic.ee is not None
