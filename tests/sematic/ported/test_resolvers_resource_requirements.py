"""Ported from Sematic 0.41.0 (Apache-2.0): sematic/resolvers/tests/test_resource_requirements.py.

Written by tests/sematic/port.py: the file went through `loopline migrate` (its imports), then
lost the tests of Sematic's internals:
- test_is_serializable: tests an internal of Sematic's (its type registry's JSON encoding)
Tests marked xfail show a difference of Loopline's, explained in the marker and docs/sematic.md.
"""

# Third-party
import pytest

# Sematic
from loopline import (
    KubernetesHostPathMount,
    KubernetesToleration,
    KubernetesTolerationEffect,
    KubernetesTolerationOperator,
)


def test_tolerations_validation():
    with pytest.raises(
        ValueError,
        match="toleration_seconds should only be specified when the effect is NoExecute.",
    ):
        KubernetesToleration(
            key="k",
            value="v",
            effect=KubernetesTolerationEffect.PreferNoSchedule,
            operator=KubernetesTolerationOperator.Equal,
            toleration_seconds=42,
        )


def test_host_path_mounts_name_sanitization():
    mount = KubernetesHostPathMount(node_path="/tmp", pod_mount_path="/host_tmp")
    assert mount.name == "volume-host-tmp"

    mount = KubernetesHostPathMount(name="", node_path="/tmp", pod_mount_path="/host_tmp")
    assert mount.name == "volume-host-tmp"

    path = "/0123456789012345678901234567890123456789012345678901234567890123456789"
    mount = KubernetesHostPathMount(node_path="/tmp", pod_mount_path=path)
    assert len(mount.name) == 64
    assert mount.name[:58] == "volume-012345678901234567890123456789012345678901234567890"
