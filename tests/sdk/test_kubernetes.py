from __future__ import annotations

import pytest

from loopline import (
    KubernetesHostPathMount,
    KubernetesResourceRequirements,
    KubernetesSecretMount,
    KubernetesToleration,
    KubernetesTolerationEffect,
    ResourceRequirements,
)
from loopline.errors import UsageError


def test_sematic_positional_form_reads_the_requests() -> None:
    resources = ResourceRequirements(KubernetesResourceRequirements(requests={"cpu": "2", "memory": "1Gi"}))
    assert (resources.cpus, resources.memory, resources.from_kubernetes) == (2.0, 2**30, {"cpus", "memory"})


def test_pod_only_settings_are_named() -> None:
    kubernetes = KubernetesResourceRequirements(
        node_selector={"pool": "gpu"},
        requests={"cpu": "1", "ephemeral-storage": "10Gi"},
        secret_mounts=KubernetesSecretMount(environment_secrets={"key": "API_KEY"}),
        tolerations=[KubernetesToleration(key="gpu")],
    )
    assert kubernetes.ignored_settings() == [
        "node_selector",
        "secret_mounts",
        "tolerations",
        "requests['ephemeral-storage']",
    ]
    assert KubernetesResourceRequirements(requests={"memory": "1Gi"}).ignored_settings() == []


def test_toleration_seconds_need_the_no_execute_effect() -> None:
    with pytest.raises(UsageError, match="only be specified when the effect is NoExecute"):
        KubernetesToleration(key="k", effect=KubernetesTolerationEffect.NoSchedule, toleration_seconds=5)
    assert (
        KubernetesToleration(
            effect=KubernetesTolerationEffect.NoExecute, toleration_seconds=5
        ).to_api_keyword_args()["toleration_seconds"]
        == 5
    )


def test_host_path_mounts_get_a_kubernetes_name() -> None:
    assert KubernetesHostPathMount(node_path="/tmp", pod_mount_path="/host_tmp").name == "volume-host-tmp"
    assert len(KubernetesHostPathMount(node_path="/", pod_mount_path="/" + "x" * 80).name) == 64


def test_requirements_given_twice_are_refused() -> None:
    with pytest.raises(UsageError, match="twice"):
        ResourceRequirements(KubernetesResourceRequirements(), kubernetes=KubernetesResourceRequirements())
