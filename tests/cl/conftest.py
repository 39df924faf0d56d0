"""Fixtures of the continuous-learning tests: CL stores on every backend, workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopline.cl.sql_store import SqlCLStore
from loopline.cl.store import CLStore, MemoryCLStore

BACKENDS = ["memory", "sqlite"]


@pytest.fixture(params=BACKENDS)
def cl_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CLStore]:
    """A fresh CLStore of each kind: in memory, and SQLite in a real file."""
    if request.param == "memory":
        yield MemoryCLStore()
        return
    store = SqlCLStore(f"sqlite:///{tmp_path / 'cl.db'}")
    yield store
    store.engine.dispose()
