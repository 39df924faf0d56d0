"""Managing a team: users, their roles and passwords, their keys. The one path that the CLI
(`loopline users`, `loopline keys`, on the server's machine) and the server's admin API share;
every change is written to the audit log with who made it and from where."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping

from loopline.core.records import utcnow
from loopline.errors import UsageError
from loopline.team.records import ApiKey, AuditEvent, Principal, Role, User
from loopline.team.secrets import hash_password, new_key, secret_hash, split_key
from loopline.team.store import TeamStore

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
MIN_PASSWORD = 12


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who makes a change and from where (`local` for direct store access on this machine)."""

    who: Principal
    origin: str = "local"


def role_named(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise UsageError(f"{text!r} is not a role; the roles are {known}") from None


def add_user(team: TeamStore, name: str, role: Role, *, password: str | None, by: Actor) -> User:
    if not NAME.match(name):
        raise UsageError(f"{name!r} cannot be a user name: letters, digits and . _ @ + - (up to 128)")
    user = team.add_user(User(name, role, utcnow(), by.who.name), _hashed(password))
    _audit(team, by, "user.added", name, {"role": role.value, "password": password is not None})
    return user


def change_user(
    team: TeamStore,
    name: str,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    by: Actor,
) -> User:
    user = team.update_user(name, role=role, disabled=disabled)
    if password is not None:
        team.set_password(name, _hashed(password))
    changes = {
        k: v
        for k, v in {"role": None if role is None else role.value, "disabled": disabled}.items()
        if v is not None
    }
    if password is not None:
        changes["password"] = "changed"
    _audit(team, by, "user.changed", name, changes)
    return team.get_user(name) if password is not None else user


def create_key(
    team: TeamStore,
    user: str,
    *,
    role: Role | None = None,
    label: str = "",
    expires_in: dt.timedelta | None = None,
    by: Actor,
) -> tuple[ApiKey, str]:
    """A new key of `user`: its record, and the key itself (shown once, stored only hashed)."""
    owner = team.get_user(user)
    if role is not None and not owner.role.allows(role):
        raise UsageError(f"{user} is a {owner.role.value}: a key of theirs cannot be a {role.value}")
    key_id, key = new_key()
    parts = split_key(key)
    assert parts is not None and parts[0] == key_id
    record = ApiKey(
        key_id,
        user,
        utcnow(),
        by.who.name,
        role=role,
        label=label,
        expires_at=None if expires_in is None else utcnow() + expires_in,
    )
    team.add_key(record, secret_hash(parts[1]))
    _audit(team, by, "key.created", key_id, {"user": user, "role": None if role is None else role.value})
    return record, key


def import_key(team: TeamStore, user: str, key: str, *, role: Role | None = None, by: Actor) -> ApiKey:
    """Adopt a key made elsewhere (e.g. one a server was started with): any secret of 32 or more
    characters, kept hashed; the key then reads as given."""
    parts = split_key(key)
    if parts is None:
        if len(key.strip()) < 32:
            raise UsageError("an imported key must be at least 32 characters")
        raise UsageError(
            "an imported key must look like ll_<16 hex digits>_<secret>; make one with keys create"
        )
    key_id, secret = parts
    owner = team.get_user(user)
    if role is not None and not owner.role.allows(role):
        raise UsageError(f"{user} is a {owner.role.value}: a key of theirs cannot be a {role.value}")
    record = ApiKey(key_id, user, utcnow(), by.who.name, role=role, label="imported")
    team.add_key(record, secret_hash(secret))
    _audit(team, by, "key.imported", key_id, {"user": user})
    return record


def revoke_key(team: TeamStore, key_id: str, *, by: Actor) -> ApiKey:
    key = team.revoke_key(key_id, utcnow())
    _audit(team, by, "key.revoked", key_id, {"user": key.user})
    return key


def rotate_key(team: TeamStore, key_id: str, *, by: Actor) -> tuple[ApiKey, str]:
    """A new key with the old one's user, role and label; the old one is revoked."""
    old, _ = team.get_key(key_id)
    remaining = None if old.expires_at is None else max(old.expires_at - utcnow(), dt.timedelta(0))
    record, key = create_key(team, old.user, role=old.role, label=old.label, expires_in=remaining, by=by)
    revoke_key(team, key_id, by=by)
    return record, key


def _hashed(password: str | None) -> str | None:
    if password is None:
        return None
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    return hash_password(password)


def _audit(team: TeamStore, by: Actor, action: str, target: str, detail: Mapping[str, object]) -> None:
    team.record(AuditEvent(utcnow(), by.who.name, by.who.role.value, by.origin, action, target, detail))
