"""`loopline.ray.RayCluster`: Ray inside one step, written as Sematic wrote it."""

from __future__ import annotations

import pytest
import ray

import loopline
from loopline import RayRunner
from loopline.errors import UsageError
from loopline.ray import (
    AutoscalerConfig,
    RayCluster,
    RayClusterConfig,
    RayNodeConfig,
    ScalingGroup,
    SimpleRayCluster,
)

pytestmark = [pytest.mark.ray, pytest.mark.timeout(60)]

CONFIG = SimpleRayCluster(n_nodes=1, node_config=RayNodeConfig(cpu=1, memory_gb=1))


def double(x: int) -> int:
    return 2 * x


@loopline.func
def distributed_sum(n: int) -> int:
    with RayCluster(config=CONFIG) as cluster:
        assert cluster.resources["CPU"] >= 1
        remote = ray.remote(double)
        return sum(ray.get([remote.remote(i) for i in range(n)]))


def test_a_step_on_ray_runs_ray_tasks_on_the_runners_cluster(ray_runner: RayRunner) -> None:
    assert ray_runner.run(distributed_sum(4)) == 12
    assert ray.is_initialized()


def test_a_block_joins_the_ray_this_process_has_and_leaves_it_running(
    ray_instance: None, runner: loopline.LocalRunner
) -> None:
    assert runner.run(distributed_sum(3)) == 6
    assert ray.is_initialized()


def test_sematic_cluster_configs_are_accepted() -> None:
    config = SimpleRayCluster(
        n_nodes=2,
        node_config=RayNodeConfig(cpu=2, memory_gb=4, gpu_count=1),
        max_nodes=4,
        autoscaler_config=AutoscalerConfig(cpu=1, memory_gb=1),
    )
    assert config.scaling_groups == [ScalingGroup(RayNodeConfig(2, 4, 1), min_workers=1, max_workers=3)]
    assert config.ray_version == ray.__version__


def test_a_config_that_needs_the_autoscaler_says_so() -> None:
    with pytest.raises(UsageError, match="autoscaler_config"):
        RayClusterConfig(RayNodeConfig(1, 2), [ScalingGroup(RayNodeConfig(1, 2), 0, 2)])
