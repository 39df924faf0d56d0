from __future__ import annotations

import pytest

import loopline
from loopline import KubernetesResourceRequirements, ResourceRequirements, RetrySettings
from loopline.errors import LooplineDeprecationWarning, LooplineWarning, UsageError


def test_plain_resources() -> None:
    resources = ResourceRequirements(cpus=2, gpus=1, memory="4Gi")
    assert (resources.cpus, resources.gpus, resources.memory) == (2.0, 1, 4 * 2**30)


def test_sematic_kubernetes_requests_are_mapped() -> None:
    resources = ResourceRequirements(
        kubernetes=KubernetesResourceRequirements(
            requests={"cpu": "500m", "memory": "2Gi", "nvidia.com/gpu": "1"}
        )
    )
    assert (resources.cpus, resources.gpus, resources.memory) == (0.5, 1, 2 * 2**30)


@pytest.mark.parametrize(
    ("text", "size"), [("512Mi", 512 * 2**20), ("1.5G", 1_500_000_000), ("4GB", 4 * 10**9), (1024, 1024)]
)
def test_memory_sizes(text: str | int, size: int) -> None:
    assert ResourceRequirements(memory=text).memory == size


def test_unreadable_sizes_are_explained() -> None:
    with pytest.raises(UsageError, match="cannot read memory size '2 gigs'"):
        ResourceRequirements(memory="2 gigs")
    with pytest.raises(UsageError, match="cannot read CPU count"):
        ResourceRequirements(cpus="two")


def test_retry_settings_validate() -> None:
    assert RetrySettings(exceptions=ValueError, retries=1).exceptions == (ValueError,)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="exception classes"):
        RetrySettings(exceptions=("ValueError",), retries=1)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="retries"):
        RetrySettings(retries=-1)


def test_sematic_func_options_keep_working() -> None:
    with pytest.warns(LooplineDeprecationWarning, match="inline"):
        inline_false = loopline.func(inline=False)(lambda_free)
    assert inline_false.options.standalone
    with pytest.warns(LooplineWarning, match="base_image_tag"):
        loopline.func(base_image_tag="cuda")(lambda_free)
    resources = ResourceRequirements(cpus=1)
    assert loopline.func(resource_requirements=resources)(lambda_free).options.resources is resources


def lambda_free(x: int) -> int:
    return x


def test_cloud_runner_points_to_ray_runner() -> None:
    with pytest.raises(UsageError, match=r"use loopline.RayRunner\(address="):
        loopline.CloudRunner(detach=True)
