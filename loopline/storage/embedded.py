"""Opening the stores that Settings describe (the embedded default, or a team's database)."""

from __future__ import annotations

from loopline.settings import Settings
from loopline.storage.artifacts import open_artifact_store
from loopline.storage.base import ArtifactStore, MetadataStore


def open_stores(settings: Settings) -> tuple[MetadataStore, ArtifactStore]:
    """The metadata and artifact stores, migrated and ready (creates the embedded folder)."""
    from loopline.storage.sql.store import SqlMetadataStore

    if settings.database_url.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
    return SqlMetadataStore(settings.database_url), open_artifact_store(settings.artifacts_url)
