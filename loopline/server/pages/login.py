"""Signing in to the dashboard (a password, or a pasted API key) and out, and the audit page.

The session cookie is HttpOnly (no script reads it), SameSite=Lax (other sites' forms do not
send it), and Secure when the dashboard is served over HTTPS. Only a path on this server is
followed after signing in (`next=`), never another site.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from loopline.core.records import utcnow
from loopline.server.auth.guard import AUDITED, origin_of, principal_of
from loopline.server.auth.identity import SESSION_COOKIE, Refused
from loopline.server.pages.render import render
from loopline.server.state import ServerState, server_state
from loopline.team.records import AuditEvent, AuditQuery, Principal

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, state: State, next: Annotated[str, Query(max_length=2000)] = "/runs"
) -> Response:
    if not state.config.auth_on:
        return RedirectResponse(_local(next), status_code=303)
    return render(request, "login.html", next=_local(next), problem=None)


@router.post("/login", response_class=HTMLResponse)
def sign_in(
    request: Request,
    state: State,
    name: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    key: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/runs",
) -> Response:
    origin = origin_of(request, state.config)
    try:
        if key.strip():
            secret, who = state.identities.sign_in_with_key(key, origin=origin)
        else:
            secret, who = state.identities.sign_in(name.strip(), password, origin=origin)
    except Refused as refused:
        page = render(request, "login.html", next=_local(next), problem=refused.detail, name=name)
        page.status_code = refused.status
        return page
    how = {"with": "key", "key": who.key_id} if who.key_id else {"with": "password"}
    _record(request, state, who, "user.signed_in", how)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(state.config.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=_https(request),
        path="/",
    )
    return response


@router.post("/logout")
def sign_out(request: Request, state: State) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    who = principal_of(request)
    if secret and who.via == "session":
        state.identities.sign_out(secret)
        _record(request, state, who, "user.signed_out", {})
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    state: State,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=256)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    query = AuditQuery(actor=actor or None, action=action or None, target=target or None)
    events = state.team.events(query, limit=100, before_id=before)
    return render(
        request,
        "audit.html",
        nav="audit",
        events=events,
        filters={"actor": actor or "", "action": action or "", "target": target or ""},
        older=events[-1].id if len(events) == 100 else None,
        now=dt.datetime.now(dt.UTC),
    )


def _record(
    request: Request, state: ServerState, who: Principal, action: str, detail: dict[str, Any]
) -> None:
    """Sign-ins and sign-outs are audited as the user they concern (the guard knows nobody yet)."""
    request.scope[AUDITED] = True
    origin = origin_of(request, state.config)
    state.team.record(AuditEvent(utcnow(), who.name, who.role.value, origin, action, who.name, detail))


def _local(target: str) -> str:
    """`target` if it is a path on this server, else the runs page (no open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/runs"
    return target


def _https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"
