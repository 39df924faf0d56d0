from __future__ import annotations

from pathlib import Path

from loopline.settings import Settings
from loopline.storage.artifacts import LocalArtifactStore
from loopline.storage.embedded import open_stores
from loopline.storage.sql.sqlite import SqliteMetadataStore
from loopline.storage.sql.store import SqlMetadataStore
from loopline.storage.values import TieredArtifactStore


def test_the_embedded_stores_live_in_loopline_home(tmp_path: Path) -> None:
    metadata, artifacts = open_stores(Settings.for_home(tmp_path / "home"))
    assert isinstance(metadata, SqliteMetadataStore) and isinstance(artifacts, TieredArtifactStore)
    assert isinstance(artifacts.large, LocalArtifactStore)
    assert (tmp_path / "home" / "loopline.db").is_file() and artifacts.url == str(
        tmp_path / "home" / "artifacts"
    )
    metadata.close()


def test_another_database_url_opens_on_sqlalchemy(tmp_path: Path) -> None:
    settings = Settings.for_home(tmp_path, {"LOOPLINE_DATABASE_URL": "sqlite://"})
    metadata, _ = open_stores(settings)
    assert isinstance(metadata, SqlMetadataStore)
    metadata.close()


def test_artifacts_on_an_object_store_keep_small_values_in_the_database(tmp_path: Path) -> None:
    settings = Settings.for_home(tmp_path, {"LOOPLINE_ARTIFACTS_URL": "memory://loopline-embedded-test"})
    metadata, artifacts = open_stores(settings)
    assert isinstance(artifacts, TieredArtifactStore)
    assert artifacts.url == f"memory://loopline-embedded-test#values={settings.database_url}"
    metadata.close()
