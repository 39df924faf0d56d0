from __future__ import annotations

from pathlib import Path

from loopline.settings import Settings
from loopline.storage.artifacts import LocalArtifactStore
from loopline.storage.embedded import open_stores
from loopline.storage.sql.store import SqlMetadataStore


def test_the_embedded_stores_live_in_loopline_home(tmp_path: Path) -> None:
    metadata, artifacts = open_stores(Settings.for_home(tmp_path / "home"))
    assert isinstance(metadata, SqlMetadataStore) and isinstance(artifacts, LocalArtifactStore)
    assert (tmp_path / "home" / "loopline.db").is_file() and artifacts.url == str(
        tmp_path / "home" / "artifacts"
    )
    metadata.close()
