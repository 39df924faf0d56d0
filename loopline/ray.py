"""Distributed work inside one step (Ray Data, Ray Train, plain Ray tasks): `RayCluster`.

    from loopline.ray import RayCluster

    @loopline.func
    def train(config: Config) -> Model:
        with RayCluster():
            result = TorchTrainer(...).fit()

See `loopline.engine.ray_cluster` for how the cluster is found, and docs/ray.md.
"""

from __future__ import annotations

from loopline.engine.ray import RayRunner
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
    "RayRunner",
    "ScalingGroup",
    "SimpleRayCluster",
]
