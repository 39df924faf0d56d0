"""`Workspace`: the stores the continuous-learning layer reads and writes, opened once.

A workspace bundles the CL store (datasets, models, aliases, reports, schedules, and the loop's
inference records, feedback, labeling tasks and rounds), the metadata store (artifact records,
runs) and the artifact store (the bytes). Public functions take `workspace=` and default to the
one that `LOOPLINE_HOME` (or `LOOPLINE_DATABASE_URL`) names, the same store a `LocalRunner` and
the CLI use.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from loopline.cl.store.memory import MemoryCLStore
from loopline.cl.store.protocol import CLStore
from loopline.core.records import ArtifactRecord, WriteBatch
from loopline.errors import StoreError
from loopline.settings import Settings
from loopline.storage.artifacts import MemoryArtifactStore, load_value, store_value
from loopline.storage.base import ArtifactStore, MetadataStore
from loopline.storage.embedded import open_stores
from loopline.storage.memory import MemoryMetadataStore

_OPEN: dict[tuple[int, Settings], Workspace] = {}


@dataclasses.dataclass
class Workspace:
    store: CLStore
    metadata: MetadataStore
    artifacts: ArtifactStore

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
        return cls.from_stores(*open_stores(settings))

    @classmethod
    def from_stores(cls, metadata: MetadataStore, artifacts: ArtifactStore) -> Workspace:
        """The workspace over a runner's (or client's) stores: the CL tables live in the same
        database as the metadata store's."""
        return cls(cl_store_for(metadata), metadata, artifacts)

    @classmethod
    def in_memory(cls) -> Workspace:
        """A throwaway workspace (tests, notebooks)."""
        return cls(MemoryCLStore(), MemoryMetadataStore(), MemoryArtifactStore())

    def put(self, value: Any) -> ArtifactRecord:
        """Store `value` as an artifact, with its record (summary, size) for display."""
        record = store_value(value, self.artifacts)
        self.metadata.write(WriteBatch(artifacts=[record]))
        return record

    def get(self, artifact_id: str) -> Any:
        """The value of an artifact (its hash is checked)."""
        return load_value(artifact_id, self.artifacts)

    def revisions(self) -> dict[str, int]:
        """Kind of record -> a counter its writes bump (`loopline.cl.store.revisions`), for live pages."""
        return self.store.revisions()


def resolve(workspace: Workspace | None) -> Workspace:
    return workspace if workspace is not None else Workspace.open()


def referenced_artifact_ids(metadata: MetadataStore) -> set[str]:
    """Artifacts the CL layer refers to in the database of `metadata` (for `loopline gc`)."""
    return cl_store_for(metadata).referenced_artifact_ids()


def cl_store_for(metadata: MetadataStore) -> CLStore:
    """The CL store that lives beside `metadata`: its tables are in the same database, or it is
    the same server's."""
    # The one place that picks a CL backend, imported when used, so `import loopline` and a
    # step's worker load neither SQLAlchemy nor httpx.
    connection = getattr(metadata, "connection", None)  # a server's store: its CL store too
    if connection is not None:
        from loopline.cl.store.http import HttpCLStore

        return HttpCLStore(connection)
    engine = getattr(metadata, "engine", None)
    if engine is None:
        raise StoreError(
            f"the continuous-learning layer needs a SQL or server metadata store, not {type(metadata).__name__}"
        )
    from loopline.cl.store.sql import SqlCLStore

    # The engine was checked (and the schema migrated) when the metadata store was opened.
    return SqlCLStore(engine, migrate=False)
