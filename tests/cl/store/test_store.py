"""The CLStore conformance suite, run against every backend."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest

from loopline.cl.store.http import HttpCLStore
from loopline.cl.store.memory import MemoryCLStore
from loopline.cl.store.protocol import CLStore
from loopline.cl.store.records import ReportEntry
from loopline.cl.store.sql import SqlCLStore
from loopline.errors import PermissionDeniedError
from loopline.team.records import Role
from tests.cl.store.conformance import CLStoreConformance, model, move
from tests.team_server import TeamServer, team_server

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


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


def passing_report(report_id: str) -> ReportEntry:
    return ReportEntry(report_id, T0, "gate", "digits@2", "digits@1", "golden@1", True, 3, 0, "digits")


@pytest.fixture(scope="module")
def cl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    with team_server(tmp_path_factory.mktemp("server") / "home") as server:
        yield server


class TestHttpCLStore(CLStoreConformance):
    """Through a real `loopline server` with auth on (team mode)."""

    @pytest.fixture
    def cl_store(self, cl_server: TeamServer) -> Iterator[CLStore]:
        cl_server.empty()
        connection = cl_server.connection(Role.ADMIN)
        self.server = cl_server
        yield HttpCLStore(connection)
        connection.close()

    def test_aliases_move_with_recorded_history(self, cl_store: CLStore) -> None:
        cl_store.save_report(passing_report("r" * 64))  # the server moves a held alias only on one
        super().test_aliases_move_with_recorded_history(cl_store)

    def test_a_held_alias_moves_only_on_a_passing_report(self, cl_store: CLStore) -> None:
        cl_store.add_model_version(model())
        cl_store.add_model_version(model())
        cl_store.move_alias(move(1, None))
        with pytest.raises(PermissionDeniedError, match="needs a passing regression report"):
            cl_store.move_alias(move(2, 1))
        cl_store.save_report(dataclasses.replace(passing_report("f" * 64), passed=False))
        with pytest.raises(PermissionDeniedError, match="did not pass"):
            cl_store.move_alias(dataclasses.replace(move(2, 1), report_id="f" * 64))
        assert cl_store.aliases("digits") == {"production": 1}

    def test_only_an_admin_moves_a_protected_alias(self, cl_store: CLStore) -> None:
        cl_store.add_model_version(model())
        editor = HttpCLStore(self.server.connection(Role.EDITOR))
        with pytest.raises(PermissionDeniedError, match="only an admin"):
            editor.move_alias(move(1, None))
        assert editor.move_alias(move(1, None, alias="candidate")).moved_by == "editor-client"
