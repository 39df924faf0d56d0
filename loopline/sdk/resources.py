"""Per-func execution settings: retries and resource requests (with Sematic's Kubernetes form)."""

from __future__ import annotations

import dataclasses
import re

from loopline.core.records import Resources
from loopline.errors import UsageError
from loopline.sdk.kubernetes import GPU_REQUESTS, KubernetesResourceRequirements


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

    Sematic's `ResourceRequirements(KubernetesResourceRequirements(requests={...}))` (or with
    `kubernetes=`) is accepted: its cpu, memory and GPU requests are read into these fields, and
    its other settings are kept (they describe a Kubernetes pod and have no effect here).

    A runner that cannot provide what a step asks for fails that step, except for what came
    from Kubernetes requests: those size a pod on a cluster, so on a smaller machine they are
    ignored with one warning, as Sematic's LocalRunner ignored them.
    """

    cpus: float | None
    gpus: int
    memory: int | None
    kubernetes: KubernetesResourceRequirements | None
    from_kubernetes: frozenset[str]  # which of cpus, gpus, memory the Kubernetes requests set

    def __init__(
        self,
        cpus: float | str | KubernetesResourceRequirements | None = None,
        gpus: int = 0,
        memory: int | str | None = None,
        kubernetes: KubernetesResourceRequirements | None = None,
    ) -> None:
        if isinstance(cpus, KubernetesResourceRequirements):  # Sematic's positional form
            if kubernetes is not None:
                raise UsageError("ResourceRequirements got Kubernetes requirements twice")
            cpus, kubernetes = None, cpus
        if kubernetes is not None and not isinstance(kubernetes, KubernetesResourceRequirements):
            raise UsageError(
                f"ResourceRequirements(kubernetes=...) must be a KubernetesResourceRequirements, got {kubernetes!r}"
            )
        derived: set[str] = set()
        if kubernetes is not None:
            requests = {k.lower(): v for k, v in kubernetes.requests.items()}
            if cpus is None and "cpu" in requests:
                cpus = requests["cpu"]
                derived.add("cpus")
            if memory is None and "memory" in requests:
                memory = requests["memory"]
                derived.add("memory")
            gpu_request = next((requests[key] for key in GPU_REQUESTS if key in requests), None)
            if not gpus and gpu_request is not None:
                gpus = int(parse_cpus(gpu_request) or 0)
                derived.add("gpus")
        if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
            raise UsageError(f"ResourceRequirements(gpus=...) must be an int >= 0, got {gpus!r}")
        object.__setattr__(self, "cpus", parse_cpus(cpus))
        object.__setattr__(self, "gpus", gpus)
        object.__setattr__(self, "memory", parse_memory(memory))
        object.__setattr__(self, "kubernetes", kubernetes)
        object.__setattr__(self, "from_kubernetes", frozenset(derived))

    def ignored_settings(self) -> list[str]:
        """The Kubernetes-only settings these requirements carry (they have no effect here)."""
        return self.kubernetes.ignored_settings() if self.kubernetes is not None else []

    def without(self, fields: frozenset[str] | set[str]) -> ResourceRequirements:
        """A copy that no longer asks for `fields` (of cpus, gpus, memory)."""
        copy = ResourceRequirements(
            cpus=None if "cpus" in fields else self.cpus,
            gpus=0 if "gpus" in fields else self.gpus,
            memory=None if "memory" in fields else self.memory,
        )
        object.__setattr__(copy, "kubernetes", self.kubernetes)
        object.__setattr__(copy, "from_kubernetes", self.from_kubernetes - set(fields))
        return copy

    def clone(self) -> ResourceRequirements:
        """A copy (Sematic's API; these requirements are immutable, so it is an equal value)."""
        return self

    def to_record(self) -> Resources:
        return Resources(cpus=self.cpus, gpus=self.gpus, memory_bytes=self.memory)
