"""Opening a Loopline server's stores for a client (`LOOPLINE_SERVER`, `LOOPLINE_API_KEY`)."""

from __future__ import annotations

from loopline.settings import Settings
from loopline.storage.base import ArtifactStore, MetadataStore
from loopline.storage.embedded import open_artifact_store
from loopline.storage.remote.artifacts import HttpArtifactStore
from loopline.storage.remote.client import ServerConnection
from loopline.storage.remote.metadata import HttpMetadataStore


def open_server_stores(settings: Settings) -> tuple[MetadataStore, ArtifactStore]:
    assert settings.server is not None
    connection = ServerConnection(settings.server, settings.api_key)
    connection.check()
    artifacts: ArtifactStore = (
        open_artifact_store(settings.artifacts_url)
        if settings.artifacts_direct
        else HttpArtifactStore(connection)
    )
    return HttpMetadataStore(connection), artifacts
