"""Ray inside a step, under Sematic's names (`sematic.ee.ray`): `RayCluster` and its
configuration, and `checkpoint` (Ray Train checkpoints stored as artifacts). Imports Ray."""

from __future__ import annotations

from loopline.core import ray_checkpoint as checkpoint
from loopline.engine.ray_cluster import (
    AutoscalerConfig,
    RayCluster,
    RayClusterConfig,
    RayNodeConfig,
    ScalingGroup,
    SimpleRayCluster,
)

__all__ = [
    "AutoscalerConfig",
    "RayCluster",
    "RayClusterConfig",
    "RayNodeConfig",
    "ScalingGroup",
    "SimpleRayCluster",
    "checkpoint",
]
