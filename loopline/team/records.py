"""What team mode records: users and their roles, API keys, dashboard sessions, audit events.

Like every Loopline record these are frozen dataclasses of plain data. Secrets are not among
them: a store keeps a password's scrypt hash and a key's or session's SHA-256, never the secret.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any


class Role(enum.StrEnum):
    """What a user may do; each role may do everything the roles before it may."""

    VIEWER = "viewer"  # reads everything
    LABELER = "labeler"  # ... and labels (claims, submits, reviews labeling tasks, feedback)
    EDITOR = "editor"  # ... and runs, reruns, cancels, edits datasets, schedules, models, reports
    ADMIN = "admin"  # ... and promotes to protected aliases, manages users and keys, runs gc

    @property
    def rank(self) -> int:
        return ROLES.index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


ROLES: tuple[Role, ...] = (Role.VIEWER, Role.LABELER, Role.EDITOR, Role.ADMIN)


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: dt.datetime
    created_by: str
    has_password: bool = False  # False: signs in with keys only
    disabled: bool = False


@dataclasses.dataclass(frozen=True)
class ApiKey:
    """A key's public record. The key itself (`ll_<id>_<secret>`) is shown once, at creation."""

    id: str
    user: str
    created_at: dt.datetime
    created_by: str
    role: Role | None = None  # at most the user's role; None: the user's
    label: str = ""
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None

    def usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclasses.dataclass(frozen=True)
class Session:
    """A dashboard sign-in (the cookie holds its secret); ends at `expires_at`, or with its key."""

    user: str
    created_at: dt.datetime
    expires_at: dt.datetime
    key_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who a request acts as, and with which role."""

    name: str
    role: Role
    via: str  # "key", "session", "header" (a trusted proxy), "local" (direct store access)
    key_id: str | None = None


@dataclasses.dataclass(frozen=True)
class AuditEvent:
    """One change of state: who (`actor`, `role`), when, from where (`origin`), what."""

    at: dt.datetime
    actor: str
    role: str
    origin: str
    action: str  # e.g. "run.started", "alias.moved", "key.revoked"
    target: str = ""
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    id: int = 0  # assigned by the store


@dataclasses.dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None  # an action, or a prefix ending in "." ("alias.")
    target: str | None = None  # a substring
    since: dt.datetime | None = None
    until: dt.datetime | None = None
