"""Sematic's Kubernetes pod settings, so that Sematic code constructs them unchanged.

Loopline runs steps on this machine or on Ray, never as Kubernetes pods of its own: of these
settings it reads the CPU, memory and GPU `requests` (see `ResourceRequirements`); the others
describe a pod and are ignored, with one warning, by every runner (`ignored_settings()` names
them). On a Ray cluster on Kubernetes, set them on the KubeRay worker group instead
(docs/ray.md).
"""

from __future__ import annotations

import dataclasses
import enum
import re
import uuid
from typing import Any

from loopline.errors import UsageError


@dataclasses.dataclass(frozen=True)
class KubernetesSecretMount:
    """Secrets of the `sematic-func-secrets` Kubernetes secret, exposed to a pod as environment
    variables (`environment_secrets`: key -> variable) or files (`file_secrets`: key -> path
    under `file_secret_root_path`)."""

    environment_secrets: dict[str, str] = dataclasses.field(default_factory=dict)
    file_secrets: dict[str, str] = dataclasses.field(default_factory=dict)
    file_secret_root_path: str = "/secrets"


@enum.unique
class KubernetesTolerationOperator(enum.Enum):
    """How a toleration matches a taint: `Equal` (key and value) or `Exists` (key only)."""

    Equal = "Equal"
    Exists = "Exists"


@enum.unique
class KubernetesTolerationEffect(enum.Enum):
    """The taint effect a toleration tolerates (`All`: any effect)."""

    NoSchedule = "NoSchedule"
    PreferNoSchedule = "PreferNoSchedule"
    NoExecute = "NoExecute"
    All = "All"


@dataclasses.dataclass(frozen=True)
class KubernetesToleration:
    """Lets a pod run on nodes with a matching taint."""

    key: str | None = None
    operator: KubernetesTolerationOperator = KubernetesTolerationOperator.Equal
    effect: KubernetesTolerationEffect = KubernetesTolerationEffect.All
    value: str | None = None
    toleration_seconds: int | None = None

    def __post_init__(self) -> None:
        for name in ("key", "value"):
            if not isinstance(getattr(self, name), (str, type(None))):
                raise UsageError(
                    f"KubernetesToleration({name}=...) must be None or a string, got {getattr(self, name)!r}"
                )
        if not isinstance(self.operator, KubernetesTolerationOperator):
            raise UsageError(
                f"KubernetesToleration(operator=...) must be a KubernetesTolerationOperator, got {self.operator!r}"
            )
        if not isinstance(self.effect, KubernetesTolerationEffect):
            raise UsageError(
                f"KubernetesToleration(effect=...) must be a KubernetesTolerationEffect, got {self.effect!r}"
            )
        if self.toleration_seconds is not None:
            if isinstance(self.toleration_seconds, bool) or not isinstance(self.toleration_seconds, int):
                raise UsageError(
                    f"KubernetesToleration(toleration_seconds=...) must be None or an int, got {self.toleration_seconds!r}"
                )
            if self.effect is not KubernetesTolerationEffect.NoExecute:
                raise UsageError(
                    "toleration_seconds should only be specified when the effect is NoExecute. "
                    f"Got effect={self.effect.value}: drop toleration_seconds, or use "
                    "effect=KubernetesTolerationEffect.NoExecute"
                )

    def to_api_keyword_args(self) -> dict[str, str | int | None]:
        """The keyword arguments of the Kubernetes client's `V1Toleration`."""
        return {
            "effect": None if self.effect is KubernetesTolerationEffect.All else self.effect.value,
            "key": self.key,
            "operator": self.operator.value,
            "toleration_seconds": self.toleration_seconds,
            "value": self.value,
        }


@dataclasses.dataclass(frozen=True)
class KubernetesCapabilities:
    """Linux capabilities added to or dropped from a pod's containers."""

    add: list[str] = dataclasses.field(default_factory=list)
    drop: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class KubernetesSecurityContext:
    """The security context of a pod's containers."""

    allow_privilege_escalation: bool
    privileged: bool
    capabilities: KubernetesCapabilities


@dataclasses.dataclass(frozen=True)
class KubernetesHostPathMount:
    """A folder of the node (`node_path`) mounted into the pod at `pod_mount_path`. Without a
    `name`, one is made from the mount path (at most 64 characters, as Kubernetes requires)."""

    node_path: str
    pod_mount_path: str
    name: str = ""
    type: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            name = "volume" + re.sub(r"_|/|\s", "-", self.pod_mount_path)
            if len(name) > 64:
                name = name[:58] + uuid.uuid4().hex[:6]
            object.__setattr__(self, "name", name)


@dataclasses.dataclass(frozen=True)
class KubernetesResourceRequirements:
    """Sematic's description of a step's pod. Loopline reads `requests` (cpu, memory, GPUs);
    the rest has no effect here (see `ignored_settings`)."""

    node_selector: dict[str, str] = dataclasses.field(default_factory=dict)
    requests: dict[str, str] = dataclasses.field(default_factory=dict)
    secret_mounts: KubernetesSecretMount = dataclasses.field(default_factory=KubernetesSecretMount)
    tolerations: list[KubernetesToleration] = dataclasses.field(default_factory=list)
    mount_expanded_shared_memory: bool = False
    security_context: KubernetesSecurityContext | None = None
    host_path_mounts: list[KubernetesHostPathMount] = dataclasses.field(default_factory=list)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

    def ignored_settings(self) -> list[str]:
        """The settings given here that only a Kubernetes pod could honour."""
        defaults = KubernetesResourceRequirements()
        ignored = [
            field.name
            for field in dataclasses.fields(self)
            if field.name != "requests" and getattr(self, field.name) != getattr(defaults, field.name)
        ]
        ignored += [f"requests[{key!r}]" for key in self.requests if key.lower() not in READ_REQUESTS]
        return ignored

    def clone(self) -> KubernetesResourceRequirements:
        """A copy whose dicts and lists are copies too."""
        copies: dict[str, Any] = {
            field.name: type(value)(value) if isinstance(value, (dict, list)) else value
            for field in dataclasses.fields(self)
            for value in [getattr(self, field.name)]
        }
        return KubernetesResourceRequirements(**copies)


GPU_REQUESTS = ("nvidia.com/gpu", "amd.com/gpu", "gpu", "gpus")
READ_REQUESTS = ("cpu", "memory", *GPU_REQUESTS)

__all__ = [
    "KubernetesCapabilities",
    "KubernetesHostPathMount",
    "KubernetesResourceRequirements",
    "KubernetesSecretMount",
    "KubernetesSecurityContext",
    "KubernetesToleration",
    "KubernetesTolerationEffect",
    "KubernetesTolerationOperator",
]
