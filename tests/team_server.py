"""A real team server for tests: `loopline server` with auth on, over a SQLite store and a local
artifact folder, on a free port of 127.0.0.1, and keys for the roles a test needs."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loopline.server.background import RunningServer, serve
from loopline.server.state import ServerState
from loopline.settings import Settings
from loopline.storage.embedded import open_stores
from loopline.storage.remote.client import ServerConnection
from loopline.team import admin
from loopline.team.errors import UserNotFoundError
from loopline.team.records import Principal, Role

LOCAL = admin.Actor(Principal("test-admin", Role.ADMIN, "local"))
# Tables whose rows a fresh store keeps: users and keys (the server caches who a key is for a
# few seconds), applied batches and revision counters (they only ever grow).
KEPT = {"alembic_version", "users", "api_keys", "sessions", "write_batches", "record_revisions"}


@dataclasses.dataclass(frozen=True)
class TeamServer:
    running: RunningServer
    settings: Settings  # the server's own (its database and artifact folder)

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def state(self) -> ServerState:
        state: ServerState = self.running.app.state.loopline
        return state

    def key(self, name: str, role: Role = Role.EDITOR) -> str:
        """A new key of user `name` (added with `role` when they do not exist yet)."""
        try:
            self.state.team.get_user(name)
        except UserNotFoundError:
            admin.add_user(self.state.team, name, role, password=None, by=LOCAL)
        return admin.create_key(self.state.team, name, by=LOCAL)[1]

    def connection(self, role: Role = Role.ADMIN, **options: float) -> ServerConnection:
        return ServerConnection(self.url, self.key(f"{role.value}-client", role), **options)

    def client_env(self, key: str) -> dict[str, str]:
        """What a team machine sets: the server and a key, nothing about the database."""
        return {"LOOPLINE_SERVER": self.url, "LOOPLINE_API_KEY": key}

    def empty(self) -> None:
        """Delete every run, artifact record and CL record (a fresh store for the next test)."""
        engine: sa.Engine = self.state.metadata.engine  # type: ignore[attr-defined]
        with engine.begin() as conn:
            for name in sa.inspect(conn).get_table_names():
                if name not in KEPT:
                    conn.exec_driver_sql(f'DELETE FROM "{name}"')
        # The code versions the store knows it wrote: the rows just went. The embedded store
        # writes a client's batches through its SQLAlchemy store, which keeps its own.
        metadata: Any = self.state.metadata
        for store in (metadata, metadata.sql):
            store._known_code.clear()


@contextlib.contextmanager
def team_server(home: Path, **config: Any) -> Iterator[TeamServer]:
    """`config`: other `ServerConfig` fields (allowed hosts, a trusted proxy, ...)."""
    settings = Settings.for_home(home)
    with serve(*open_stores(settings), settings, auth=True, **config) as running:
        yield TeamServer(running, settings)
