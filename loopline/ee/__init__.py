"""Sematic's "enterprise edition" names (`sematic.ee`), all of them open in Loopline:
`loopline.ee.metrics` (metrics with a scope) and `loopline.ee.ray` (Ray inside a step, which
imports Ray, so both load on first use)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopline.ee import metrics, ray

__all__ = ["metrics", "ray"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"loopline.ee.{name}")
    raise AttributeError(f"module 'loopline.ee' has no attribute {name!r}")
