"""The team's administration as one interface, reached either directly (the store, on the
server's machine: how the first admin is made) or through a server's admin API (with an admin's
key, from anywhere). The CLI's `loopline users`, `keys` and `audit` use whichever applies."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, TypeVar

from loopline.core.wire import from_wire
from loopline.errors import UsageError
from loopline.storage.remote.client import ServerConnection
from loopline.team import admin
from loopline.team.records import ApiKey, AuditEvent, AuditQuery, Role, User
from loopline.team.store import TeamStore

R = TypeVar("R")


def _read(cls: type[R], data: Any) -> R:
    value: R = from_wire(cls, data, cls.__name__)
    return value


class TeamAdmin(Protocol):
    def users(self) -> list[User]: ...

    def add_user(self, name: str, role: Role, password: str | None) -> User: ...

    def change_user(
        self,
        name: str,
        *,
        role: Role | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> User: ...

    def keys(self, user: str | None = None) -> list[ApiKey]: ...

    def create_key(
        self, user: str, *, role: Role | None, label: str, expires_in: dt.timedelta | None
    ) -> tuple[ApiKey, str]: ...

    def import_key(self, user: str, key: str, *, role: Role | None) -> ApiKey: ...

    def revoke_key(self, key_id: str) -> ApiKey: ...

    def rotate_key(self, key_id: str) -> tuple[ApiKey, str]: ...

    def events(self, query: AuditQuery, *, limit: int) -> list[AuditEvent]: ...


class DirectTeamAdmin:
    def __init__(self, store: TeamStore, actor: admin.Actor) -> None:
        self.store = store
        self.actor = actor

    def users(self) -> list[User]:
        return self.store.list_users()

    def add_user(self, name: str, role: Role, password: str | None) -> User:
        return admin.add_user(self.store, name, role, password=password, by=self.actor)

    def change_user(
        self,
        name: str,
        *,
        role: Role | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> User:
        return admin.change_user(
            self.store, name, role=role, disabled=disabled, password=password, by=self.actor
        )

    def keys(self, user: str | None = None) -> list[ApiKey]:
        return self.store.list_keys(user)

    def create_key(
        self, user: str, *, role: Role | None, label: str, expires_in: dt.timedelta | None
    ) -> tuple[ApiKey, str]:
        return admin.create_key(
            self.store, user, role=role, label=label, expires_in=expires_in, by=self.actor
        )

    def import_key(self, user: str, key: str, *, role: Role | None) -> ApiKey:
        return admin.import_key(self.store, user, key, role=role, by=self.actor)

    def revoke_key(self, key_id: str) -> ApiKey:
        return admin.revoke_key(self.store, key_id, by=self.actor)

    def rotate_key(self, key_id: str) -> tuple[ApiKey, str]:
        return admin.rotate_key(self.store, key_id, by=self.actor)

    def events(self, query: AuditQuery, *, limit: int) -> list[AuditEvent]:
        return self.store.events(query, limit=limit)


class RemoteTeamAdmin:
    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection

    def _get(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self.connection.request("GET", path, params=query).json()

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.connection.request("POST", path, json={} if body is None else body).json()

    def users(self) -> list[User]:
        return [_read(User, u) for u in self._get("/api/v1/users")]

    def add_user(self, name: str, role: Role, password: str | None) -> User:
        return _read(
            User, self._post("/api/v1/users", {"name": name, "role": role.value, "password": password})
        )

    def change_user(
        self,
        name: str,
        *,
        role: Role | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> User:
        body = {"role": None if role is None else role.value, "disabled": disabled, "password": password}
        return _read(
            User, self._post(f"/api/v1/users/{name}", {k: v for k, v in body.items() if v is not None})
        )

    def keys(self, user: str | None = None) -> list[ApiKey]:
        return [_read(ApiKey, k) for k in self._get("/api/v1/keys", user=user)]

    def create_key(
        self, user: str, *, role: Role | None, label: str, expires_in: dt.timedelta | None
    ) -> tuple[ApiKey, str]:
        body = {
            "user": user,
            "role": None if role is None else role.value,
            "label": label,
            "expires_in_days": None if expires_in is None else expires_in.total_seconds() / 86400,
        }
        made = self._post("/api/v1/keys", body)
        return _read(ApiKey, made["record"]), str(made["key"])

    def import_key(self, user: str, key: str, *, role: Role | None) -> ApiKey:
        raise UsageError(
            "keys are imported on the server's machine (direct store access): unset LOOPLINE_SERVER there "
            "and run loopline keys import again"
        )

    def revoke_key(self, key_id: str) -> ApiKey:
        return _read(ApiKey, self._post(f"/api/v1/keys/{key_id}/revoke"))

    def rotate_key(self, key_id: str) -> tuple[ApiKey, str]:
        made = self._post(f"/api/v1/keys/{key_id}/rotate")
        return _read(ApiKey, made["record"]), str(made["key"])

    def events(self, query: AuditQuery, *, limit: int) -> list[AuditEvent]:
        found = self._get(
            "/api/v1/audit",
            actor=query.actor,
            action=query.action,
            target=query.target,
            since=None if query.since is None else query.since.isoformat(),
            until=None if query.until is None else query.until.isoformat(),
            limit=limit,
        )
        return [_read(AuditEvent, e) for e in found]
