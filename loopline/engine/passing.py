"""How values pass from step to step: encoded into the artifact store (the tracked runners), or
by reference (SilentRunner's default), where only their types are checked.

`ValueStore` is what the state machine and the executors use; the artifact store is one kind
of it. By reference, a step receives the very object its producer returned (as in plain Python,
and in Sematic's SilentRunner): nothing is encoded, copied or hashed, and a step that changes
its input in place changes it for every other step that reads it.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from loopline.core.records import ArtifactRecord, utcnow
from loopline.core.serialization import qualified_name
from loopline.storage.artifacts import load_value, store_value
from loopline.storage.base import ArtifactStore


class ValueStore(Protocol):
    def put(self, value: Any) -> ArtifactRecord:
        """Keep `value`; its record names it from now on."""

    def get(self, artifact_id: str) -> Any:
        """The value a record named."""


class StoredValues:
    """Values encoded into an artifact store (content-addressed, hashed, verified on reading)."""

    def __init__(self, artifacts: ArtifactStore) -> None:
        self.artifacts = artifacts

    def put(self, value: Any) -> ArtifactRecord:
        return store_value(value, self.artifacts)

    def get(self, artifact_id: str) -> Any:
        return load_value(artifact_id, self.artifacts)


class ValueReferences:
    """The values themselves, kept for the run, each under an id of its own (not a content hash:
    nothing is encoded)."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._ids = itertools.count(1)

    def put(self, value: Any) -> ArtifactRecord:
        artifact_id = f"{next(self._ids):064x}"
        self._values[artifact_id] = value
        return ArtifactRecord(artifact_id, qualified_name(type(value)), 0, {}, utcnow())

    def get(self, artifact_id: str) -> Any:
        return self._values[artifact_id]

    def clear(self) -> None:
        """Let go of every value (the run is over)."""
        self._values.clear()
