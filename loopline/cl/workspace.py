"""`Workspace`: the stores the continuous-learning layer reads and writes, opened once.

A workspace bundles the CL store (datasets, models, aliases, reports, schedules), the metadata
store (artifact records, runs), the artifact store (the bytes) and the loop store (inference
records, feedback, labeling tasks, loop rounds). Public functions take `workspace=` and default
to the one that `LOOPLINE_HOME` (or `LOOPLINE_DATABASE_URL`) names, the same store a
`LocalRunner` and the CLI use.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from loopline.cl.loop_store import LoopStore, MemoryLoopStore
from loopline.cl.store import CLStore, MemoryCLStore
from loopline.core.records import ArtifactRecord, WriteBatch
from loopline.errors import StoreError
from loopline.settings import Settings
from loopline.storage.artifacts import MemoryArtifactStore, load_value, store_value
from loopline.storage.base import ArtifactStore, MetadataStore

_OPEN: dict[tuple[int, Settings], Workspace] = {}


@dataclasses.dataclass
class Workspace:
    store: CLStore
    metadata: MetadataStore
    artifacts: ArtifactStore
    loop: LoopStore

    @classmethod
    def open(cls, settings: Settings | None = None) -> Workspace:
        """The workspace of `settings` (default: from the environment). Opened once per process
        and settings, since opening checks the schema."""
        chosen = settings or Settings.from_env()
        key = (os.getpid(), chosen)
        if key not in _OPEN:
            _OPEN[key] = cls._connect(chosen)
        return _OPEN[key]

    @classmethod
    def _connect(cls, settings: Settings) -> Workspace:
        from loopline.storage.embedded import open_stores

        return cls.from_stores(*open_stores(settings))

    @classmethod
    def from_stores(cls, metadata: MetadataStore, artifacts: ArtifactStore) -> Workspace:
        """The workspace over a runner's (or client's) stores: the CL tables live in the same
        database as the metadata store's."""
        return cls(_sql_cl_store(metadata), metadata, artifacts, _sql_loop_store(metadata))

    @classmethod
    def in_memory(cls) -> Workspace:
        """A throwaway workspace (tests, notebooks)."""
        from loopline.storage.memory import MemoryMetadataStore

        return cls(MemoryCLStore(), MemoryMetadataStore(), MemoryArtifactStore(), MemoryLoopStore())

    def put(self, value: Any) -> ArtifactRecord:
        """Store `value` as an artifact, with its record (summary, size) for display."""
        record = store_value(value, self.artifacts)
        self.metadata.write(WriteBatch(artifacts=[record]))
        return record

    def get(self, artifact_id: str) -> Any:
        """The value of an artifact (its hash is checked)."""
        return load_value(artifact_id, self.artifacts)

    def revisions(self) -> dict[str, int]:
        """Kind of record -> a counter its writes bump (`loopline.cl.revisions`), for live pages."""
        return {**self.store.revisions(), **self.loop.revisions()}


def resolve(workspace: Workspace | None) -> Workspace:
    return workspace if workspace is not None else Workspace.open()


def referenced_artifact_ids(metadata: MetadataStore) -> set[str]:
    """Artifacts the CL layer refers to in the database of `metadata` (for `loopline gc`)."""
    return (
        _sql_cl_store(metadata).referenced_artifact_ids()
        | _sql_loop_store(metadata).referenced_artifact_ids()
    )


def _sql_cl_store(metadata: MetadataStore) -> CLStore:
    from loopline.cl.sql_store import SqlCLStore

    engine = getattr(metadata, "engine", None)
    if engine is None:  # pragma: no cover - the HTTP store of team mode comes later
        raise StoreError(
            f"the continuous-learning layer needs a SQL metadata store, not {type(metadata).__name__}"
        )
    return SqlCLStore(engine, migrate=False)


def _sql_loop_store(metadata: MetadataStore) -> LoopStore:
    from loopline.cl.loop_sql_store import SqlLoopStore

    # The engine was checked (and the schema migrated) when the metadata store was opened.
    return SqlLoopStore(metadata.engine, migrate=False)  # type: ignore[attr-defined]
