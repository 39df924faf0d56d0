"""The model registry: `register`, `promote`, `load` and friends.

    import loopline.models as models

    version = models.register("digits", model, dataset=train, metrics={"accuracy": 0.97})
    models.promote(version, "production", report=report, reason="beats production")
    model = models.load("digits@production")

See `loopline.cl.models` for the details of references, lineage and gated promotion.
"""

from __future__ import annotations

from loopline.cl.models import aliases, get, history, load, promote, register, versions
from loopline.cl.records import AliasMove, ModelVersion

__all__ = [
    "AliasMove",
    "ModelVersion",
    "aliases",
    "get",
    "history",
    "load",
    "promote",
    "register",
    "versions",
]
