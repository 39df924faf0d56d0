"""Sematic's runner names: the `*Resolver` aliases, and the Kubernetes pieces Loopline has not.

Sematic renamed its resolvers to runners; both names keep working here. What ran on Kubernetes
(`CloudRunner`, the KubeRay wrapper plugin, container images) has a Ray counterpart instead:
these names exist so that Sematic code imports, and say what to use when they are used.
"""

from __future__ import annotations

from typing import Any

from loopline.engine.local import LocalRunner
from loopline.engine.runner import Runner
from loopline.engine.silent import SilentRunner
from loopline.errors import UsageError

_RAY_INSTEAD = (
    "to run on a cluster, use loopline.RayRunner(address='ray://...') (on Kubernetes, a KubeRay "
    "cluster; see docs/ray.md); on this machine, use loopline.LocalRunner()"
)


class CloudRunner:
    """Sematic's Kubernetes runner. Loopline scales out on Ray instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise UsageError(
            f"CloudRunner (Sematic's Kubernetes runner) does not exist in Loopline: {_RAY_INSTEAD}"
        )


class CloudResolver(CloudRunner):
    """Sematic's older name for `CloudRunner`."""


Resolver = Runner
SilentResolver = SilentRunner
LocalResolver = LocalRunner


class StandardKuberayWrapper:
    """Sematic's plugin that wrote KubeRay manifests for `RayCluster`. Loopline does not create
    Ray clusters: it connects to one that KubeRay (or `ray start`) runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise UsageError(
            "StandardKuberayWrapper (Sematic's KubeRay plugin) does not exist in Loopline: create "
            "the Ray cluster with KubeRay itself and use loopline.ray.RayCluster() inside a step, "
            "or RayRunner for the whole pipeline (docs/ray.md)"
        )


def has_container_image() -> bool:
    """Whether a container image was built for cloud execution (Sematic's API): never, since
    Loopline runs steps in the environment they are launched from (or Ray's runtime_env)."""
    return False


__all__ = [
    "CloudResolver",
    "CloudRunner",
    "LocalResolver",
    "Resolver",
    "SilentResolver",
    "StandardKuberayWrapper",
    "has_container_image",
]
