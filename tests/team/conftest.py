"""Fixtures of the team tests: the storage suite's real databases, and a real team server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.storage.conftest import (  # noqa: F401 - fixtures, used by name
    _class_database,
    _sqlite_template,
    postgres_server,
    postgres_url,
    sqlite_url,
)
from tests.team_server import TeamServer, team_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    with team_server(tmp_path_factory.mktemp("team") / "server-home") as running:
        yield running
