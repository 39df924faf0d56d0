"""The TeamStore conformance suite, run against every backend (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest

from loopline.errors import UsageError
from loopline.team.errors import KeyNotFoundError, UserNotFoundError
from loopline.team.records import ApiKey, AuditEvent, AuditQuery, Role, Session, User
from loopline.team.secrets import hash_password, password_matches
from loopline.team.sql import SqlTeamStore
from loopline.team.store import MemoryTeamStore, TeamStore

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def user(name: str = "ada", role: Role = Role.EDITOR) -> User:
    return User(name, role, T0, "local")


def key(key_id: str = "0123456789abcdef", owner: str = "ada", **changes: object) -> ApiKey:
    return dataclasses.replace(ApiKey(key_id, owner, T0, "local"), **changes)


def event(action: str, actor: str = "ada", minutes: int = 0, target: str = "") -> AuditEvent:
    return AuditEvent(
        T0 + dt.timedelta(minutes=minutes), actor, "editor", "127.0.0.1", action, target, {"n": 1}
    )


class TeamStoreConformance:
    def test_users_round_trip_and_a_name_is_taken_once(self, team: TeamStore) -> None:
        saved = team.add_user(user(), hash_password("correct horse"))
        assert saved.has_password and team.get_user("ada") == saved
        with pytest.raises(UsageError, match="exists already"):
            team.add_user(user(), None)

    def test_an_unknown_user_says_how_to_add_one(self, team: TeamStore) -> None:
        with pytest.raises(UserNotFoundError, match="loopline users add nobody"):
            team.get_user("nobody")

    def test_only_the_password_hash_is_kept_and_it_checks_the_password(self, team: TeamStore) -> None:
        team.add_user(user(), hash_password("correct horse"))
        stored = team.password_hash("ada")
        assert stored is not None and "correct horse" not in stored
        assert password_matches("correct horse", stored) and not password_matches("wrong", stored)

    def test_a_user_without_password_signs_in_with_keys_only(self, team: TeamStore) -> None:
        assert not team.add_user(user(), None).has_password
        assert team.password_hash("ada") is None

    def test_roles_change_and_users_can_be_disabled(self, team: TeamStore) -> None:
        team.add_user(user(), None)
        assert team.update_user("ada", role=Role.ADMIN).role is Role.ADMIN
        assert team.update_user("ada", disabled=True).disabled
        assert [u.name for u in team.list_users()] == ["ada"]

    def test_keys_belong_to_existing_users(self, team: TeamStore) -> None:
        with pytest.raises(UserNotFoundError):
            team.add_key(key(), "h" * 64)
        team.add_user(user(), None)
        team.add_key(key(), "h" * 64)
        assert team.get_key("0123456789abcdef") == (key(), "h" * 64)
        with pytest.raises(KeyNotFoundError, match="loopline keys ls"):
            team.get_key("ffffffffffffffff")

    def test_revoking_a_key_twice_keeps_the_first_time(self, team: TeamStore) -> None:
        team.add_user(user(), None)
        team.add_key(key(role=Role.VIEWER), "h" * 64)
        first = team.revoke_key("0123456789abcdef", T0 + dt.timedelta(hours=1))
        again = team.revoke_key("0123456789abcdef", T0 + dt.timedelta(hours=2))
        assert first.revoked_at == again.revoked_at == T0 + dt.timedelta(hours=1)
        assert first.role is Role.VIEWER and not first.usable(T0 + dt.timedelta(hours=3))

    def test_keys_are_listed_newest_first_and_remember_their_last_use(self, team: TeamStore) -> None:
        team.add_user(user(), None)
        team.add_user(user("bob"), None)
        team.add_key(key("aaaaaaaaaaaaaaaa"), "h" * 64)
        team.add_key(key("bbbbbbbbbbbbbbbb", "bob", created_at=T0 + dt.timedelta(minutes=1)), "h" * 64)
        team.touch_key("aaaaaaaaaaaaaaaa", T0 + dt.timedelta(hours=1))
        assert [k.id for k in team.list_keys()] == ["bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa"]
        (ada,) = team.list_keys("ada")
        assert ada.last_used_at == T0 + dt.timedelta(hours=1)

    def test_sessions_come_and_go(self, team: TeamStore) -> None:
        session = Session("ada", T0, T0 + dt.timedelta(hours=8), key_id=None)
        team.add_session("s" * 64, session)
        assert team.get_session("s" * 64) == session
        team.delete_session("s" * 64)
        assert team.get_session("s" * 64) is None

    def test_audit_events_page_newest_first_and_filter(self, team: TeamStore) -> None:
        for i, action in enumerate(["run.started", "alias.moved", "alias.moved", "key.created"]):
            team.record(event(action, actor="ada" if i % 2 else "bob", minutes=i, target=f"t{i}"))
        newest = team.events(limit=2)
        assert [e.action for e in newest] == ["key.created", "alias.moved"]
        assert [e.action for e in team.events(before_id=newest[-1].id)] == ["alias.moved", "run.started"]
        assert [e.target for e in team.events(AuditQuery(action="alias."))] == ["t2", "t1"]
        assert [
            e.target for e in team.events(AuditQuery(actor="bob", since=T0 + dt.timedelta(minutes=1)))
        ] == ["t2"]
        assert team.events(AuditQuery(target="t3"))[0].detail == {"n": 1}


class TestMemoryTeamStore(TeamStoreConformance):
    @pytest.fixture
    def team(self) -> TeamStore:
        return MemoryTeamStore()


class TestSqliteTeamStore(TeamStoreConformance):
    @pytest.fixture
    def team(self, sqlite_url: str) -> Iterator[TeamStore]:
        store = SqlTeamStore(sqlite_url)
        yield store
        store.engine.dispose()


@pytest.mark.postgres
class TestPostgresTeamStore(TeamStoreConformance):
    @pytest.fixture
    def team(self, postgres_url: str) -> Iterator[TeamStore]:
        store = SqlTeamStore(postgres_url)
        yield store
        store.engine.dispose()
