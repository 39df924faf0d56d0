"""The MetadataStore conformance suite, run against every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopline.storage.base import MetadataStore
from loopline.storage.memory import MemoryMetadataStore
from loopline.storage.sql.store import SqlMetadataStore
from tests.storage.metadata_conformance import MetadataStoreConformance


class TestMemoryMetadataStore(MetadataStoreConformance):
    @pytest.fixture
    def store(self) -> MetadataStore:
        return MemoryMetadataStore()


class TestSqliteMetadataStore(MetadataStoreConformance):
    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore(sqlite_url)
        yield store
        store.close()


@pytest.mark.postgres
class TestPostgresMetadataStore(MetadataStoreConformance):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[MetadataStore]:
        store = SqlMetadataStore(postgres_url)
        yield store
        store.close()
