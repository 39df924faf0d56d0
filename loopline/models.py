"""The model registry: `register`, `promote`, `load` and friends.

    import loopline.models as models

    version = models.register("digits", model, dataset=train, metrics={"accuracy": 0.97})
    models.promote(version, "production", report=report, reason="beats production")
    model = models.load("digits@production")

See `loopline.cl.registry.versions` for the details of references, lineage and gated promotion.
"""

from __future__ import annotations

from loopline.cl.registry.promotion import promote
from loopline.cl.registry.versions import aliases, get, history, load, register, versions
from loopline.cl.store.records import AliasMove, ModelVersion

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
