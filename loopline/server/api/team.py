"""Team mode's routes: health and who you are (anyone), and for admins the users, their keys and
the audit log (`loopline users`, `loopline keys`, `loopline audit` use these from afar)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from loopline._version import __version__
from loopline.server.api.paging import Limit, Offset, page
from loopline.server.auth.guard import AUDITED, origin_of, principal_of
from loopline.server.queries import Moment, parse_moment
from loopline.server.schemas.common import ErrorOut
from loopline.server.schemas.team import (
    AuditEventOut,
    HealthOut,
    KeyIn,
    KeyOut,
    NewKeyOut,
    UserChangeIn,
    UserIn,
    UserOut,
    WhoamiOut,
)
from loopline.server.state import ServerState, server_state
from loopline.team import admin
from loopline.team.records import AuditQuery

router = APIRouter(
    prefix="/api/v1",
    tags=["team"],
    responses={400: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
State = Annotated[ServerState, Depends(server_state)]


def _actor(request: Request, state: ServerState) -> admin.Actor:
    request.scope[AUDITED] = True  # admin.* records the event, with what changed
    return admin.Actor(principal_of(request), origin_of(request, state.config))


@router.get("/health", response_model=HealthOut, summary="Whether the server is up (no sign-in needed)")
def health(state: State) -> HealthOut:
    return HealthOut(version=__version__, auth=state.config.auth_on)


@router.get("/whoami", response_model=WhoamiOut, summary="Who this request acts as, with which role")
def whoami(request: Request) -> WhoamiOut:
    who = principal_of(request)
    return WhoamiOut(name=who.name, role=who.role.value, via=who.via)


@router.get("/users", response_model=list[UserOut], summary="Every user (admins)")
def users(state: State, limit: Limit = 100, offset: Offset = 0) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in page(state.team.list_users(), limit, offset)]


@router.post(
    "/users",
    response_model=UserOut,
    summary="Add a user (admins)",
    responses={
        400: {"model": ErrorOut},
        409: {"model": ErrorOut, "description": "a user of this name exists"},
    },
)
def add_user(body: UserIn, request: Request, state: State) -> UserOut:
    user = admin.add_user(
        state.team, body.name, admin.role_named(body.role), password=body.password, by=_actor(request, state)
    )
    return UserOut.model_validate(user)


@router.post(
    "/users/{name}",
    response_model=UserOut,
    summary="Change a user's role, password, or disable them (admins)",
)
def change_user(name: str, body: UserChangeIn, request: Request, state: State) -> UserOut:
    user = admin.change_user(
        state.team,
        name,
        role=None if body.role is None else admin.role_named(body.role),
        disabled=body.disabled,
        password=body.password,
        by=_actor(request, state),
    )
    return UserOut.model_validate(user)


@router.get("/keys", response_model=list[KeyOut], summary="API keys, newest first (admins)")
def keys(
    state: State,
    user: Annotated[str | None, Query(max_length=128)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[KeyOut]:
    return [KeyOut.model_validate(k) for k in page(state.team.list_keys(user), limit, offset)]


@router.post(
    "/keys", response_model=NewKeyOut, summary="Make a key for a user; the key is shown once (admins)"
)
def create_key(body: KeyIn, request: Request, state: State) -> NewKeyOut:
    record, key = admin.create_key(
        state.team,
        body.user,
        role=None if body.role is None else admin.role_named(body.role),
        label=body.label,
        expires_in=None if body.expires_in_days is None else dt.timedelta(days=body.expires_in_days),
        by=_actor(request, state),
    )
    return NewKeyOut(key=key, record=KeyOut.model_validate(record))


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, summary="Revoke a key at once (admins)")
def revoke_key(key_id: str, request: Request, state: State) -> KeyOut:
    return KeyOut.model_validate(admin.revoke_key(state.team, key_id, by=_actor(request, state)))


@router.post(
    "/keys/{key_id}/rotate",
    response_model=NewKeyOut,
    summary="A new key in place of this one, which is revoked (admins)",
)
def rotate_key(key_id: str, request: Request, state: State) -> NewKeyOut:
    record, key = admin.rotate_key(state.team, key_id, by=_actor(request, state))
    return NewKeyOut(key=key, record=KeyOut.model_validate(record))


@router.get("/audit", response_model=list[AuditEventOut], summary="Who changed what, newest first (admins)")
def audit(
    state: State,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=256)] = None,
    since: Moment = None,
    until: Moment = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> list[AuditEventOut]:
    query = AuditQuery(
        actor=actor,
        action=action,
        target=target,
        since=parse_moment("since", since),
        until=parse_moment("until", until),
    )
    return [AuditEventOut.model_validate(e) for e in state.team.events(query, limit=limit, before_id=before)]
