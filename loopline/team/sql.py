"""`SqlTeamStore`: the TeamStore on SQLite or PostgreSQL, in the database of the other stores."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from loopline.storage.sql import team_tables as t
from loopline.storage.sql.database import create_sql_engine, upgrade, write_transaction
from loopline.team.errors import KeyNotFoundError, UserExistsError, UserNotFoundError
from loopline.team.records import ApiKey, AuditEvent, AuditQuery, Role, Session, User
from loopline.team.store import key_missing_message, user_exists_message, user_missing_message


class SqlTeamStore:
    def __init__(self, url_or_engine: str | sa.Engine, *, migrate: bool = True) -> None:
        self.engine = create_sql_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        if migrate:
            upgrade(self.engine)

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(table)

    # -- users -------------------------------------------------------------------------------

    def add_user(self, user: User, password_hash: str | None) -> User:
        row = {**_user_row(user), "password_hash": password_hash}
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(t.users.insert().values(**row))
        except sa.exc.IntegrityError:
            raise UserExistsError(user_exists_message(user.name)) from None
        return dataclasses.replace(user, has_password=password_hash is not None)

    def get_user(self, name: str) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.name == name)).mappings().first()
        if row is None:
            raise UserNotFoundError(user_missing_message(name))
        return _user(row)

    def list_users(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(sa.select(t.users).order_by(t.users.c.name)).mappings()]

    def update_user(self, name: str, *, role: Role | None = None, disabled: bool | None = None) -> User:
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = role.value
        if disabled is not None:
            values["disabled"] = disabled
        if values:
            with write_transaction(self.engine) as conn:
                done = conn.execute(t.users.update().where(t.users.c.name == name).values(**values))
            if done.rowcount == 0:
                raise UserNotFoundError(user_missing_message(name))
        return self.get_user(name)

    def set_password(self, name: str, password_hash: str | None) -> None:
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                t.users.update().where(t.users.c.name == name).values(password_hash=password_hash)
            )
        if done.rowcount == 0:
            raise UserNotFoundError(user_missing_message(name))

    def password_hash(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.users.c.password_hash).where(t.users.c.name == name)).first()
        if row is None:
            raise UserNotFoundError(user_missing_message(name))
        return row[0]  # type: ignore[no-any-return]

    # -- keys --------------------------------------------------------------------------------

    def add_key(self, key: ApiKey, secret_hash: str) -> ApiKey:
        self.get_user(key.user)
        with write_transaction(self.engine) as conn:
            conn.execute(t.api_keys.insert().values(**_key_row(key), secret_hash=secret_hash))
        return key

    def get_key(self, key_id: str) -> tuple[ApiKey, str]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.api_keys).where(t.api_keys.c.id == key_id)).mappings().first()
        if row is None:
            raise KeyNotFoundError(key_missing_message(key_id))
        return _key(row), str(row["secret_hash"])

    def list_keys(self, user: str | None = None) -> list[ApiKey]:
        query = sa.select(t.api_keys).order_by(t.api_keys.c.created_at.desc(), t.api_keys.c.id.desc())
        if user is not None:
            query = query.where(t.api_keys.c.user == user)
        with self.engine.connect() as conn:
            return [_key(r) for r in conn.execute(query).mappings()]

    def revoke_key(self, key_id: str, at: dt.datetime) -> ApiKey:
        k = t.api_keys
        with write_transaction(self.engine) as conn:
            conn.execute(k.update().where(k.c.id == key_id, k.c.revoked_at.is_(None)).values(revoked_at=at))
        return self.get_key(key_id)[0]

    def touch_key(self, key_id: str, at: dt.datetime) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(t.api_keys.update().where(t.api_keys.c.id == key_id).values(last_used_at=at))

    # -- sessions ----------------------------------------------------------------------------

    def add_session(self, id_hash: str, session: Session) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(t.sessions.insert().values(id_hash=id_hash, **dataclasses.asdict(session)))

    def get_session(self, id_hash: str) -> Session | None:
        s = t.sessions
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(s).where(s.c.id_hash == id_hash)).mappings().first()
        return None if row is None else Session(**{k: v for k, v in row.items() if k != "id_hash"})

    def delete_session(self, id_hash: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(t.sessions.delete().where(t.sessions.c.id_hash == id_hash))

    # -- audit -------------------------------------------------------------------------------

    def record(self, event: AuditEvent) -> AuditEvent:
        values = {k: v for k, v in dataclasses.asdict(event).items() if k != "id"}
        values["detail"] = dict(event.detail)
        with write_transaction(self.engine) as conn:
            inserted = conn.execute(t.audit_events.insert().values(**values)).inserted_primary_key
        return dataclasses.replace(event, id=int(inserted[0]) if inserted is not None else 0)

    def events(
        self, query: AuditQuery = AuditQuery(), *, limit: int = 100, before_id: int | None = None
    ) -> list[AuditEvent]:
        a, q = t.audit_events, query
        stmt = sa.select(a).order_by(a.c.id.desc()).limit(limit)
        if q.actor is not None:
            stmt = stmt.where(a.c.actor == q.actor)
        if q.action is not None:
            stmt = stmt.where(
                a.c.action.startswith(q.action) if q.action.endswith(".") else a.c.action == q.action
            )
        if q.target is not None:
            stmt = stmt.where(a.c.target.contains(q.target, autoescape=True))
        if q.since is not None:
            stmt = stmt.where(a.c.at >= q.since)
        if q.until is not None:
            stmt = stmt.where(a.c.at < q.until)
        if before_id is not None:
            stmt = stmt.where(a.c.id < before_id)
        with self.engine.connect() as conn:
            return [AuditEvent(**row) for row in conn.execute(stmt).mappings()]


def _user_row(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role.value,
        "created_at": user.created_at,
        "created_by": user.created_by,
        "disabled": user.disabled,
    }


def _user(row: Any) -> User:
    return User(
        name=row["name"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        has_password=row["password_hash"] is not None,
        disabled=bool(row["disabled"]),
    )


def _key_row(key: ApiKey) -> dict[str, Any]:
    row = dataclasses.asdict(key)
    row["role"] = None if key.role is None else key.role.value
    return row


def _key(row: Any) -> ApiKey:
    values = {k: v for k, v in row.items() if k != "secret_hash"}
    values["role"] = None if row["role"] is None else Role(row["role"])
    return ApiKey(**values)
