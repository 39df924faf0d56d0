"""Values that are registered entities (a model version, a dataset version, a loop round, a
regression report): which page of the dashboard each one is, so a value links to it wherever it
is shown."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

from loopline.core.records import ArtifactRecord

_RECORDS = "loopline.cl.store.records:"  # types are named module:qualname
REPORT_TYPE = "loopline.cl.regression.report:RegressionReport"


@dataclasses.dataclass(frozen=True)
class EntityLink:
    label: str  # "model digits@4"
    href: str  # "/models/digits#v4"


def entity_link(summary: Any, artifact: ArtifactRecord | None = None) -> EntityLink | None:
    """The page of the entity a value is (from its summary), or None when it is not one. A report
    is known by its artifact id (its page is `/reports/ID`): only a whole `artifact` links to one."""
    if artifact is not None and artifact.type_name == REPORT_TYPE:
        return EntityLink("regression report", f"/reports/{artifact.id}")
    if not isinstance(summary, dict):
        return None
    kind, type_name = summary.get("kind"), summary.get("type")
    if kind != "dataclass" or not isinstance(type_name, str) or not type_name.startswith(_RECORDS):
        return None
    fields = summary.get("fields") or {}

    def field(name: str) -> Any:
        value = fields.get(name)
        return value.get("value") if isinstance(value, dict) and value.get("kind") in ("str", "int") else None

    record = type_name.removeprefix(_RECORDS)
    if record in ("ModelVersion", "DatasetVersion"):
        name, version = field("name"), field("version")
        if isinstance(name, str) and isinstance(version, int):
            if record == "ModelVersion":
                return EntityLink(f"model {name}@{version}", f"/models/{quote(name)}#v{version}")
            return EntityLink(f"dataset {name}@{version}", f"/datasets/{quote(name)}/{version}")
    if record == "LoopRound":
        loop, round_number = field("loop"), field("round")
        if isinstance(loop, str) and isinstance(round_number, int):
            return EntityLink(
                f"loop {loop}, round {round_number}", f"/loops/{quote(loop)}#round-{round_number}"
            )
    return None
