"""Per-func execution settings: retries and resource requests (with Sematic's Kubernetes form)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from loopline.core.records import Resources
from loopline.errors import UsageError


@dataclasses.dataclass(frozen=True)
class RetrySettings:
    """Retry a func when it raises one of `exceptions`, up to `retries` more times.

    Attempt n+1 starts `backoff_s * backoff_factor**(n-1)` seconds after attempt n failed
    (at most `max_backoff_s`). A worker process that dies counts as a failure to retry.
    """

    exceptions: tuple[type[BaseException], ...] = (Exception,)
    retries: int = 0
    backoff_s: float = 0.1
    backoff_factor: float = 2.0
    max_backoff_s: float = 60.0

    def __post_init__(self) -> None:
        exceptions = self.exceptions
        if isinstance(exceptions, type):
            exceptions = (exceptions,)
        exceptions = tuple(exceptions)
        if not all(isinstance(e, type) and issubclass(e, BaseException) for e in exceptions):
            raise UsageError(
                f"RetrySettings(exceptions=...) takes exception classes, got {self.exceptions!r}"
            )
        object.__setattr__(self, "exceptions", exceptions)
        if not isinstance(self.retries, int) or self.retries < 0:
            raise UsageError(f"RetrySettings(retries=...) must be an int >= 0, got {self.retries!r}")
        if self.backoff_s < 0 or self.backoff_factor < 1 or self.max_backoff_s < 0:
            raise UsageError("RetrySettings: backoff_s and max_backoff_s must be >= 0, backoff_factor >= 1")

    def should_retry(self, error: BaseException, attempts_done: int) -> bool:
        return attempts_done <= self.retries and isinstance(error, self.exceptions)

    def delay_s(self, attempts_done: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * self.backoff_factor ** max(0, attempts_done - 1))


@dataclasses.dataclass(frozen=True)
class KubernetesResourceRequirements:
    """Sematic's Kubernetes resource form. Loopline reads `requests` (cpu, memory, GPUs) and
    keeps the other fields so Sematic code constructs unchanged; they have no effect here."""

    node_selector: dict[str, str] = dataclasses.field(default_factory=dict)
    requests: dict[str, str] = dataclasses.field(default_factory=dict)
    secret_mounts: Any = None
    tolerations: Sequence[Any] = ()
    mount_expanded_shared_memory: bool = False
    security_context: Any = None
    host_path_mounts: Sequence[Any] = ()
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


_MEMORY_UNITS = {
    "": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
}
_GPU_KEYS = ("nvidia.com/gpu", "gpu", "gpus", "amd.com/gpu")


def parse_memory(value: str | int | float | None) -> int | None:
    """`"2Gi"`, `"512Mi"`, `"1.5G"`, `"4GB"` or a number of bytes, as bytes."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _MEMORY_UNITS:
        raise UsageError(f"cannot read memory size {value!r}: use bytes or e.g. '512Mi', '2Gi', '4GB'")
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()])


def parse_cpus(value: str | int | float | None) -> float | None:
    """`2`, `0.5` or Kubernetes' `"500m"` (millicores), as a number of CPUs."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        raise UsageError(f"cannot read CPU count {value!r}: use a number such as 2, 0.5 or '500m'") from None


@dataclasses.dataclass(frozen=True, init=False)
class ResourceRequirements:
    """What a func's step needs: `cpus`, `gpus` and `memory` (bytes, or '4Gi').

    Sematic's `ResourceRequirements(kubernetes=KubernetesResourceRequirements(requests={...}))`
    is accepted: its cpu, memory and GPU requests are read into these fields.
    """

    cpus: float | None
    gpus: int
    memory: int | None
    kubernetes: KubernetesResourceRequirements | None

    def __init__(
        self,
        cpus: float | str | None = None,
        gpus: int = 0,
        memory: int | str | None = None,
        kubernetes: KubernetesResourceRequirements | None = None,
    ) -> None:
        if kubernetes is not None:
            requests = {k.lower(): v for k, v in kubernetes.requests.items()}
            cpus = cpus if cpus is not None else requests.get("cpu")
            memory = memory if memory is not None else requests.get("memory")
            for key in _GPU_KEYS:
                if key in requests and not gpus:
                    gpus = int(parse_cpus(requests[key]) or 0)
        if not isinstance(gpus, int) or gpus < 0:
            raise UsageError(f"ResourceRequirements(gpus=...) must be an int >= 0, got {gpus!r}")
        object.__setattr__(self, "cpus", parse_cpus(cpus))
        object.__setattr__(self, "gpus", gpus)
        object.__setattr__(self, "memory", parse_memory(memory))
        object.__setattr__(self, "kubernetes", kubernetes)

    def to_record(self) -> Resources:
        return Resources(cpus=self.cpus, gpus=self.gpus, memory_bytes=self.memory)
