"""The MetadataStore conformance suite, run against every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopline.core.records import RunRecord
from loopline.storage.base import MetadataStore
from loopline.storage.memory import MemoryMetadataStore
from loopline.storage.remote.metadata import HttpMetadataStore
from loopline.storage.sql.sqlite import SqliteMetadataStore
from loopline.storage.sql.store import SqlMetadataStore
from loopline.team.records import Role
from tests.storage.metadata_conformance import MetadataStoreConformance
from tests.team_server import TeamServer, team_server


class TestMemoryMetadataStore(MetadataStoreConformance):
    @pytest.fixture
    def store(self) -> MetadataStore:
        return MemoryMetadataStore()


class TestSqlAlchemyOnSqlite(MetadataStoreConformance):
    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore(sqlite_url)
        yield store
        store.close()


class TestEmbeddedSqliteMetadataStore(MetadataStoreConformance):
    """The embedded store: the runner's statements on sqlite3, the rest through SQLAlchemy."""

    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[MetadataStore]:
        store = SqliteMetadataStore(sqlite_url)
        yield store
        store.close()


@pytest.mark.postgres
class TestPostgresMetadataStore(MetadataStoreConformance):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore(postgres_url)
        yield store
        store.close()


@pytest.fixture(scope="module")
def metadata_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    with team_server(tmp_path_factory.mktemp("server") / "home") as server:
        yield server


class TestHttpMetadataStore(MetadataStoreConformance):
    """Through a real `loopline server` with auth on (team mode)."""

    @pytest.fixture
    def store(self, metadata_server: TeamServer) -> Iterator[MetadataStore]:
        metadata_server.empty()
        store = HttpMetadataStore(metadata_server.connection(Role.ADMIN))
        yield store
        store.close()

    def as_recorded(self, run: RunRecord) -> RunRecord:
        return run.replace(user="admin-client")
