"""Who a request acts as: an API key (`Authorization: Bearer ll_...`), a dashboard session (a
cookie), or the user a trusted authenticating proxy names in a header.

Checked keys are remembered for a few seconds, so a runner's many requests cost one lookup;
a revoked key, a disabled user or a lowered role therefore takes effect within `CACHE_S`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping

from loopline.core.records import utcnow
from loopline.team.errors import KeyNotFoundError, UserNotFoundError
from loopline.team.records import Principal, Role, Session
from loopline.team.secrets import (
    hash_password,
    new_session_secret,
    password_matches,
    same_hash,
    secret_hash,
    split_key,
)
from loopline.team.store import TeamStore

SESSION_COOKIE = "loopline_session"
CACHE_S = 5.0
TOUCH_EVERY_S = 60.0
SIGN_IN_TRIES = 5  # failed sign-ins from one address within SIGN_IN_WINDOW_S before it must wait
SIGN_IN_WINDOW_S = 15 * 60.0


class Refused(Exception):
    """The request's credentials are missing or no good (401), or not enough (403)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Identities:
    def __init__(
        self,
        team: TeamStore,
        *,
        session_hours: float = 12.0,
        trusted_user_header: str | None = None,
        trusted_proxies: frozenset[str] = frozenset(),
        now: Callable[[], dt.datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.team = team
        self.session_hours = session_hours
        self.trusted_user_header = trusted_user_header.lower() if trusted_user_header else None
        self.trusted_proxies = trusted_proxies
        self._now = now
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._checked: dict[str, tuple[float, Principal]] = {}  # secret hash -> (when, who)
        self._touched: dict[str, float] = {}
        self._failures: dict[str, list[float]] = {}

    # -- requests ----------------------------------------------------------------------------

    def identify(
        self, headers: Mapping[str, str], cookies: Mapping[str, str], client_host: str
    ) -> tuple[Principal, str | None] | None:
        """(who, the session secret when it was a session), or None for no credentials at all."""
        authorization = headers.get("authorization")
        if authorization is not None:
            return self.from_key(_bearer(authorization)), None
        secret = cookies.get(SESSION_COOKIE)
        if secret:
            return self.from_session(secret), secret
        if self.trusted_user_header and client_host in self.trusted_proxies:
            name = headers.get(self.trusted_user_header)
            if name:
                return self._user(name.strip(), via="header"), None
        return None

    def from_key(self, key: str) -> Principal:
        parts = split_key(key)
        if parts is None:
            raise Refused(401, "that is not a Loopline API key (they look like ll_<id>_<secret>)")
        key_id, secret = parts
        hashed = secret_hash(secret)
        cached = self._cached(hashed)
        if cached is not None:
            return cached
        try:
            record, stored = self.team.get_key(key_id)
        except KeyNotFoundError:
            raise Refused(401, "unknown API key") from None
        if not same_hash(hashed, stored):
            raise Refused(401, "wrong API key")
        now = self._now()
        if record.revoked_at is not None:
            raise Refused(401, f"API key {key_id} was revoked")
        if record.expires_at is not None and now >= record.expires_at:
            raise Refused(401, f"API key {key_id} expired at {record.expires_at:%Y-%m-%d %H:%M} UTC")
        user = self._user(record.user, via="key")
        role = user.role if record.role is None or not user.role.allows(record.role) else record.role
        found = dataclasses.replace(user, role=role, key_id=key_id)
        self._remember(hashed, found)
        self._touch(key_id, now)
        return found

    def from_session(self, secret: str) -> Principal:
        hashed = secret_hash(secret)
        cached = self._cached(hashed)
        if cached is not None:
            return cached
        session = self.team.get_session(hashed)
        if session is None or self._now() >= session.expires_at:
            raise Refused(401, "your session has ended; sign in again")
        if session.key_id is not None:  # signed in with a key: valid while the key is
            record, _ = self.team.get_key(session.key_id)
            if not record.usable(self._now()):
                raise Refused(401, "the key this session signed in with is no longer valid; sign in again")
        found = self._user(session.user, via="session")
        self._remember(hashed, found)
        return found

    def _user(self, name: str, *, via: str) -> Principal:
        try:
            user = self.team.get_user(name)
        except UserNotFoundError:
            raise Refused(
                401, f"{name!r} is not a user of this server (an admin adds users with loopline users add)"
            ) from None
        if user.disabled:
            raise Refused(401, f"user {name!r} is disabled")
        return Principal(user.name, user.role, via)

    # -- signing in and out ------------------------------------------------------------------

    def sign_in(self, name: str, password: str, *, origin: str) -> tuple[str, Principal]:
        """A new session's secret (for the cookie) and who it is, or Refused."""
        self._check_tries(origin)
        try:
            stored = self.team.password_hash(name)
        except UserNotFoundError:
            stored = None
        # An unknown name (or a keys-only user) costs the same scrypt as a wrong password: the
        # time to answer does not tell who has an account.
        matches = password_matches(password, stored or _decoy_hash())
        if not matches or stored is None:
            self._failed(origin)
            raise Refused(401, "wrong user name or password")
        who = self._user(name, via="session")
        return self._new_session(name, key_id=None), who

    def sign_in_with_key(self, key: str, *, origin: str) -> tuple[str, Principal]:
        self._check_tries(origin)
        try:
            who = self.from_key(key)
        except Refused:
            self._failed(origin)
            raise
        return self._new_session(who.name, key_id=who.key_id), dataclasses.replace(who, via="session")

    def _check_tries(self, origin: str) -> None:
        now = self._monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(origin, []) if now - t < SIGN_IN_WINDOW_S]
            self._failures[origin] = recent
        if len(recent) >= SIGN_IN_TRIES:
            wait = int(SIGN_IN_WINDOW_S - (now - recent[0])) + 1
            raise Refused(429, f"too many failed sign-ins from {origin}; try again in {wait} s")

    def _failed(self, origin: str) -> None:
        with self._lock:
            self._failures.setdefault(origin, []).append(self._monotonic())

    def sign_out(self, secret: str) -> None:
        hashed = secret_hash(secret)
        self.team.delete_session(hashed)
        with self._lock:
            self._checked.pop(hashed, None)

    def _new_session(self, name: str, key_id: str | None) -> str:
        secret = new_session_secret()
        now = self._now()
        expires = now + dt.timedelta(hours=self.session_hours)
        self.team.add_session(secret_hash(secret), Session(name, now, expires, key_id))
        return secret

    # -- caches ------------------------------------------------------------------------------

    def _cached(self, hashed: str) -> Principal | None:
        with self._lock:
            entry = self._checked.get(hashed)
        if entry is not None and self._monotonic() - entry[0] < CACHE_S:
            return entry[1]
        return None

    def _remember(self, hashed: str, who: Principal) -> None:
        with self._lock:
            if len(self._checked) > 10_000:
                self._checked.clear()
            self._checked[hashed] = (self._monotonic(), who)

    def _touch(self, key_id: str, now: dt.datetime) -> None:
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and self._monotonic() - last < TOUCH_EVERY_S:
                return
            self._touched[key_id] = self._monotonic()
        self.team.touch_key(key_id, now)


@functools.cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def csrf_token(server_secret: str, principal: Principal, session_secret: str | None) -> str:
    """The token the dashboard's pages send with every change (`X-Loopline-Token`): bound to the
    session (or, behind a proxy, to the user), so another site cannot forge it."""
    bound = session_secret if session_secret is not None else f"{principal.via}:{principal.name}"
    return hmac.new(server_secret.encode(), bound.encode(), hashlib.sha256).hexdigest()


def _bearer(header: str) -> str:
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Refused(401, "the Authorization header must be `Bearer <API key>`")
    return credentials.strip()


ANONYMOUS_LOCAL = Principal("local", Role.ADMIN, "local")
# Who a request to a public path (the sign-in page, health checks) acts as when auth is on:
# nobody in particular, shown as not signed in.
ANONYMOUS = Principal("anonymous", Role.VIEWER, "anonymous")
