"""`RayCluster`: distributed work inside one step (Ray Data, Ray Train, plain Ray tasks).

    from loopline.ray import RayCluster

    @loopline.func
    def train(config: Config) -> Model:
        with RayCluster():
            result = TorchTrainer(...).fit()

`RayCluster()` connects to the cluster the step runs on (under RayRunner), to the Ray instance of
the environment (`RAY_ADDRESS`, or one started with `ray start`), or starts a local one for the
duration of the block. Loopline does not create clusters: Sematic's
`RayCluster(config=SimpleRayCluster(...))` is accepted unchanged, and its configuration records
what the step expects; create the cluster itself with KubeRay (see docs/ray.md).
"""

from __future__ import annotations

import dataclasses
import threading
from types import TracebackType

import ray

from loopline.engine.ray import connect
from loopline.errors import UsageError


@dataclasses.dataclass(frozen=True)
class RayNodeConfig:
    """One Ray node: `cpu` (may be fractional), `memory_gb`, `gpu_count`."""

    cpu: float
    memory_gb: float
    gpu_count: int = 0

    def __post_init__(self) -> None:
        _check_number("RayNodeConfig", "cpu", self.cpu)
        _check_number("RayNodeConfig", "memory_gb", self.memory_gb)
        if not isinstance(self.gpu_count, int) or self.gpu_count < 0:
            raise UsageError(f"RayNodeConfig(gpu_count=...) must be an int >= 0, got {self.gpu_count!r}")


@dataclasses.dataclass(frozen=True)
class ScalingGroup:
    """Workers that scale as a unit, between `min_workers` and `max_workers` nodes."""

    worker_nodes: RayNodeConfig
    min_workers: int = 1
    max_workers: int = 1

    def __post_init__(self) -> None:
        if self.min_workers < 0 or self.max_workers < 1 or self.min_workers > self.max_workers:
            raise UsageError(
                f"ScalingGroup needs 0 <= min_workers <= max_workers and max_workers >= 1, got "
                f"min_workers={self.min_workers}, max_workers={self.max_workers}"
            )


@dataclasses.dataclass(frozen=True)
class AutoscalerConfig:
    """The resources of Ray's autoscaler, which runs next to the head node."""

    cpu: float
    memory_gb: float

    def __post_init__(self) -> None:
        _check_number("AutoscalerConfig", "cpu", self.cpu)
        _check_number("AutoscalerConfig", "memory_gb", self.memory_gb)


@dataclasses.dataclass(frozen=True)
class RayClusterConfig:
    """A cluster: its head node and groups of workers (`ray_version` defaults to the installed Ray)."""

    head_node: RayNodeConfig
    scaling_groups: list[ScalingGroup] = dataclasses.field(default_factory=list)
    ray_version: str = ray.__version__
    autoscaler_config: AutoscalerConfig | None = None

    def __post_init__(self) -> None:
        if self.requires_autoscale() and self.autoscaler_config is None:
            raise UsageError(
                "this RayClusterConfig has a scaling group with max_workers > min_workers, which needs "
                "the autoscaler: pass autoscaler_config=AutoscalerConfig(cpu=..., memory_gb=...)"
            )

    def requires_autoscale(self) -> bool:
        return any(group.max_workers > group.min_workers for group in self.scaling_groups)


def SimpleRayCluster(  # Sematic's name for this factory
    n_nodes: int,
    node_config: RayNodeConfig,
    max_nodes: int | None = None,
    ray_version: str | None = None,
    autoscaler_config: AutoscalerConfig | None = None,
) -> RayClusterConfig:
    """`n_nodes` identical nodes (the head included), growing up to `max_nodes`."""
    max_nodes = n_nodes if max_nodes is None else max_nodes
    if n_nodes < 1 or max_nodes < n_nodes:
        raise UsageError(
            f"SimpleRayCluster needs 1 <= n_nodes <= max_nodes, got n_nodes={n_nodes}, max_nodes={max_nodes}"
        )
    groups = [ScalingGroup(node_config, n_nodes - 1, max_nodes - 1)] if max_nodes > 1 else []
    return RayClusterConfig(
        head_node=node_config,
        scaling_groups=groups,
        ray_version=ray_version or ray.__version__,
        autoscaler_config=autoscaler_config,
    )


class _Connection:
    """This process's use of Ray by RayCluster blocks: the first block to enter connects (if
    nothing else had), the last to leave disconnects what it connected; Ray itself is per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.owned = False

    def enter(self, address: str | None, log_to_driver: bool) -> None:
        with self.lock:
            if self.users == 0:
                self.owned = connect(address, log_to_driver=log_to_driver)
            self.users += 1

    def leave(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0 and self.owned:
                self.owned = False
                ray.shutdown()


_CONNECTION = _Connection()


@dataclasses.dataclass(frozen=True)
class RayCluster:
    """Ray for the duration of a `with` block inside a step (see the module's doc).

    - `config`: the cluster the step expects (Sematic's form); recorded, not provisioned.
    - `forward_logs`: show the output of Ray workers in this process's output.
    - `address`: a cluster to connect to when this process has no Ray yet.
    - `activation_timeout_seconds`: accepted for Sematic code; connecting does not wait for nodes.
    """

    config: RayClusterConfig | None = None
    forward_logs: bool = True
    activation_timeout_seconds: float = 15 * 60
    address: str | None = None

    def __enter__(self) -> RayCluster:
        _CONNECTION.enter(self.address, self.forward_logs)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _CONNECTION.leave()

    @property
    def resources(self) -> dict[str, float]:
        """The cluster's total resources (`CPU`, `GPU`, `memory`, ...), inside the block."""
        return {name: float(value) for name, value in ray.cluster_resources().items()}  # type: ignore[no-untyped-call]


def _check_number(owner: str, field: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise UsageError(f"{owner}({field}=...) must be a number >= 0, got {value!r}")


__all__ = [
    "AutoscalerConfig",
    "RayCluster",
    "RayClusterConfig",
    "RayNodeConfig",
    "ScalingGroup",
    "SimpleRayCluster",
]
