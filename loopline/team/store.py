"""`TeamStore`: users, API keys, sessions and the audit log, and `MemoryTeamStore`, its reference
implementation (the SQL one is `team/sql.py`; both pass `tests/team/test_store.py`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from typing import Protocol, runtime_checkable

from loopline.team.errors import KeyNotFoundError, UserExistsError, UserNotFoundError
from loopline.team.records import ApiKey, AuditEvent, AuditQuery, Role, Session, User


@runtime_checkable
class TeamStore(Protocol):
    # -- users -------------------------------------------------------------------------------

    def add_user(self, user: User, password_hash: str | None) -> User:
        """Record a new user; UsageError if the name is taken."""

    def get_user(self, name: str) -> User:
        """The user, or UserNotFoundError."""

    def list_users(self) -> list[User]:
        """Every user, by name."""

    def update_user(self, name: str, *, role: Role | None = None, disabled: bool | None = None) -> User:
        """Change a user's role or disable them (None: unchanged)."""

    def set_password(self, name: str, password_hash: str | None) -> None:
        """Replace the user's password hash (None: keys only)."""

    def password_hash(self, name: str) -> str | None:
        """The user's password hash (None: no password)."""

    # -- keys --------------------------------------------------------------------------------

    def add_key(self, key: ApiKey, secret_hash: str) -> ApiKey:
        """Record a key of an existing user (UserNotFoundError otherwise)."""

    def get_key(self, key_id: str) -> tuple[ApiKey, str]:
        """The key and its secret's hash, or KeyNotFoundError."""

    def list_keys(self, user: str | None = None) -> list[ApiKey]:
        """Keys (of one user), newest first."""

    def revoke_key(self, key_id: str, at: dt.datetime) -> ApiKey:
        """Revoke the key (revoking it again changes nothing); KeyNotFoundError if absent."""

    def touch_key(self, key_id: str, at: dt.datetime) -> None:
        """Record that the key was used at `at`."""

    # -- sessions ----------------------------------------------------------------------------

    def add_session(self, id_hash: str, session: Session) -> None: ...

    def get_session(self, id_hash: str) -> Session | None: ...

    def delete_session(self, id_hash: str) -> None: ...

    # -- audit -------------------------------------------------------------------------------

    def record(self, event: AuditEvent) -> AuditEvent:
        """Append an event; returns it with its id."""

    def events(
        self, query: AuditQuery = AuditQuery(), *, limit: int = 100, before_id: int | None = None
    ) -> list[AuditEvent]:
        """Matching events, newest first (older than `before_id`, when given: the next page)."""


def user_exists_message(name: str) -> str:
    return f"a user named {name!r} exists already (see loopline users ls)"


def user_missing_message(name: str) -> str:
    return f"no user named {name!r}; add one with: loopline users add {name} --role viewer"


def key_missing_message(key_id: str) -> str:
    return f"no API key {key_id!r}; list them with: loopline keys ls"


def matches(event: AuditEvent, query: AuditQuery) -> bool:
    q = query
    action = q.action
    return (
        (q.actor is None or event.actor == q.actor)
        and (
            action is None
            or (event.action.startswith(action) if action.endswith(".") else event.action == action)
        )
        and (q.target is None or q.target in event.target)
        and (q.since is None or event.at >= q.since)
        and (q.until is None or event.at < q.until)
    )


class MemoryTeamStore:
    """A TeamStore in dicts behind one lock: for tests and in-memory servers."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, User] = {}
        self._passwords: dict[str, str | None] = {}
        self._keys: dict[str, tuple[ApiKey, str]] = {}
        self._sessions: dict[str, Session] = {}
        self._events: list[AuditEvent] = []

    def add_user(self, user: User, password_hash: str | None) -> User:
        with self._lock:
            if user.name in self._users:
                raise UserExistsError(user_exists_message(user.name))
            saved = dataclasses.replace(user, has_password=password_hash is not None)
            self._users[user.name] = saved
            self._passwords[user.name] = password_hash
            return saved

    def get_user(self, name: str) -> User:
        with self._lock:
            try:
                return self._users[name]
            except KeyError:
                raise UserNotFoundError(user_missing_message(name)) from None

    def list_users(self) -> list[User]:
        with self._lock:
            return [self._users[name] for name in sorted(self._users)]

    def update_user(self, name: str, *, role: Role | None = None, disabled: bool | None = None) -> User:
        with self._lock:
            user = self.get_user(name)
            changed = dataclasses.replace(
                user,
                role=user.role if role is None else role,
                disabled=user.disabled if disabled is None else disabled,
            )
            self._users[name] = changed
            return changed

    def set_password(self, name: str, password_hash: str | None) -> None:
        with self._lock:
            user = self.get_user(name)
            self._passwords[name] = password_hash
            self._users[name] = dataclasses.replace(user, has_password=password_hash is not None)

    def password_hash(self, name: str) -> str | None:
        with self._lock:
            self.get_user(name)
            return self._passwords.get(name)

    def add_key(self, key: ApiKey, secret_hash: str) -> ApiKey:
        with self._lock:
            self.get_user(key.user)
            self._keys[key.id] = (key, secret_hash)
            return key

    def get_key(self, key_id: str) -> tuple[ApiKey, str]:
        with self._lock:
            try:
                return self._keys[key_id]
            except KeyError:
                raise KeyNotFoundError(key_missing_message(key_id)) from None

    def list_keys(self, user: str | None = None) -> list[ApiKey]:
        with self._lock:
            found = [k for k, _ in self._keys.values() if user is None or k.user == user]
        return sorted(found, key=lambda k: (k.created_at, k.id), reverse=True)

    def revoke_key(self, key_id: str, at: dt.datetime) -> ApiKey:
        with self._lock:
            key, hashed = self.get_key(key_id)
            if key.revoked_at is None:
                key = dataclasses.replace(key, revoked_at=at)
                self._keys[key_id] = (key, hashed)
            return key

    def touch_key(self, key_id: str, at: dt.datetime) -> None:
        with self._lock:
            key, hashed = self.get_key(key_id)
            self._keys[key_id] = (dataclasses.replace(key, last_used_at=at), hashed)

    def add_session(self, id_hash: str, session: Session) -> None:
        with self._lock:
            self._sessions[id_hash] = session

    def get_session(self, id_hash: str) -> Session | None:
        with self._lock:
            return self._sessions.get(id_hash)

    def delete_session(self, id_hash: str) -> None:
        with self._lock:
            self._sessions.pop(id_hash, None)

    def record(self, event: AuditEvent) -> AuditEvent:
        with self._lock:
            saved = dataclasses.replace(event, id=len(self._events) + 1)
            self._events.append(saved)
            return saved

    def events(
        self, query: AuditQuery = AuditQuery(), *, limit: int = 100, before_id: int | None = None
    ) -> list[AuditEvent]:
        with self._lock:
            found = [
                e
                for e in reversed(self._events)
                if matches(e, query) and (before_id is None or e.id < before_id)
            ]
        return found[:limit]
