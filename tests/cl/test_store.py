"""The CLStore conformance suite, run against every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopline.cl.sql_store import SqlCLStore
from loopline.cl.store import CLStore, MemoryCLStore
from tests.cl.store_conformance import CLStoreConformance


class TestMemoryCLStore(CLStoreConformance):
    @pytest.fixture
    def cl_store(self) -> CLStore:
        return MemoryCLStore()


class TestSqliteCLStore(CLStoreConformance):
    @pytest.fixture
    def cl_store(self, sqlite_url: str) -> Iterator[CLStore]:
        store = SqlCLStore(sqlite_url)
        yield store
        store.engine.dispose()


@pytest.mark.postgres
class TestPostgresCLStore(CLStoreConformance):
    @pytest.fixture
    def cl_store(self, postgres_url: str) -> Iterator[CLStore]:
        store = SqlCLStore(postgres_url)
        yield store
        store.engine.dispose()
