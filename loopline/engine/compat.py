"""Sematic names with no direct Loopline equivalent."""

from __future__ import annotations

from typing import Any

from loopline.errors import UsageError


class CloudRunner:
    """Sematic's Kubernetes runner. Loopline scales out on Ray instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise UsageError(
            "CloudRunner (Sematic's Kubernetes runner) does not exist in Loopline: to run on a "
            "cluster, use loopline.RayRunner(address='ray://...') (see docs/ray.md); on this "
            "machine, use loopline.LocalRunner()"
        )
