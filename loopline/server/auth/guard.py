"""`AuthGuard`: the ASGI middleware every request passes before any route runs.

1. The Host header must name this server (a DNS-rebinding page cannot) — 421 otherwise.
2. With auth on, every request but the sign-in page and health checks carries a user: an API
   key, a session cookie, or a trusted proxy's header — 401 otherwise (pages redirect to /login).
   With auth off (a loopback server), requests act as `local`, an admin.
3. The route (or, for `/api/v1/rpc/...`, the store method) needs a role (`policy.py`) — 403.
4. A change sent with ambient browser credentials (a session, a proxy's header, or no auth at
   all) must come from this server's own pages: Origin names this server, and the page's token
   (`X-Loopline-Token`) is bound to the session. Programs with a key need neither; with auth
   off, programs on this machine (no Origin) may log inferences and use the stores' routes.
5. A change that succeeds is written to the audit log (who, when, from where, what) before its
   answer is sent.
"""

from __future__ import annotations

import hmac
import urllib.parse
from collections.abc import Sequence
from typing import Any

import anyio.to_thread
from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loopline.core.records import utcnow
from loopline.engine.launch import current_user
from loopline.server.auth.identity import ANONYMOUS, ANONYMOUS_LOCAL, Identities, Refused, csrf_token
from loopline.server.auth.policy import SAFE_METHODS, Access, is_public, route_access
from loopline.server.config import ServerConfig, is_loopback
from loopline.team.records import AuditEvent, Principal, Role

TOKEN_HEADER = "X-Loopline-Token"
PRINCIPAL = "loopline.principal"
CSRF = "loopline.csrf"
AUDITED = "loopline.audited"  # a route that records its own, more precise, audit event
# Paths programs on this machine may change without the page token when auth is off.
PROGRAM_PATHS = ("/api/v1/inferences", "/api/v1/feedback", "/api/v1/rpc/", "/api/v1/artifacts")


class AuthGuard:
    def __init__(
        self, app: ASGIApp, *, config: ServerConfig, identities: Identities, routes: Sequence[BaseRoute]
    ) -> None:
        self.app = app
        self.config = config
        self.identities = identities
        self.team = identities.team
        self.routes = routes
        self.local = Principal(current_user(), ANONYMOUS_LOCAL.role, "local")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal, access = await anyio.to_thread.run_sync(self._check, request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        action = access.action
        if not action:
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            # Recorded before the answer leaves: whoever reads the audit log after a change sees it.
            if message["type"] == "http.response.start" and int(message["status"]) < 400:
                await self._audit(request, action)
            await send(message)

        await self.app(scope, receive, sending)

    async def _audit(self, request: Request, action: str) -> None:
        principal = request.scope.get(PRINCIPAL)
        if principal is None or request.scope.get(AUDITED):
            return  # the route recorded its own, more precise, event
        event = AuditEvent(
            at=utcnow(),
            actor=principal.name,
            role=principal.role.value,
            origin=origin_of(request, self.config),
            action=action,
            target=" ".join(str(v) for v in request.scope.get("path_params", {}).values()),
            detail={"method": request.method, "path": request.url.path},
        )
        await anyio.to_thread.run_sync(self.team.record, event)

    # -- the checks (in a thread: they may read the store) -----------------------------------

    def _check(self, request: Request) -> tuple[Response | None, Access]:
        path, method = request.url.path, request.method
        template, params, other_methods = self._route(request.scope)
        access = route_access(method, template, params)
        host = request.headers.get("host")
        if not self.config.host_allowed(host):
            where = f"http://{self.config.host}:{self.config.port}/"
            return _refuse(
                request, 421, f"unexpected Host header {host!r}; open the dashboard at {where}"
            ), access
        principal, session = self.local, None
        if self.config.auth_on and is_public(path):
            principal = ANONYMOUS  # the sign-in page and health checks: nobody is signed in yet
        elif self.config.auth_on:
            try:
                found = self.identities.identify(request.headers, request.cookies, _client(request))
            except Refused as refused:
                return _refuse(request, refused.status, refused.detail), access
            if found is None:
                return _refuse(request, 401, "sign in first: send `Authorization: Bearer <API key>`"), access
            principal, session = found
        if other_methods:  # no route runs: the app answers 405 Method Not Allowed
            request.scope[PRINCIPAL] = principal
            return None, Access(principal.role)
        if not principal.role.allows(access.role):
            return _refuse(
                request,
                403,
                f"{principal.name} is a {principal.role.value}; this needs the {access.role.value} role "
                "(an admin can change roles: loopline users set-role)",
            ), access
        token = (
            csrf_token(self.config.secret, principal, session)
            if self.config.auth_on and principal.via != "key"
            else self.config.token
        )
        request.scope[PRINCIPAL] = principal
        request.scope[CSRF] = token
        if method not in SAFE_METHODS:
            problem = self._change_problem(request, principal, token)
            if problem is not None:
                return _refuse(request, 403, problem), access
        return None, access

    def _change_problem(self, request: Request, principal: Principal, token: str) -> str | None:
        """Why this change may not be made with the credentials it came with (None: it may)."""
        if principal.via == "key":
            return None  # not an ambient credential: a page of another site cannot have it
        if not self.config.origin_allowed(request.headers.get("origin"), request.headers.get("host")):
            return "cross-origin request refused: only this server's own pages may change anything"
        if request.url.path == "/login" or (principal.via == "session" and request.url.path == "/logout"):
            return None  # the sign-in form, and signing out, carry no page token
        program = (
            not self.config.auth_on
            and request.headers.get("origin") is None
            and is_loopback(_client(request))
            and request.url.path.startswith(PROGRAM_PATHS)
        )
        sent = request.headers.get(TOKEN_HEADER, "")
        if program or _same(sent, token):
            return None
        return (
            f"missing or wrong {TOKEN_HEADER} header: changes need the token of this server's pages "
            "(the dashboard sends it); programs send an API key (Authorization: Bearer ...)"
        )

    def _route(self, scope: Scope) -> tuple[str, dict[str, str], bool]:
        """The template of the route this request goes to and its path parameters, and whether
        routes match the path only with other methods (then no route runs: the app answers 405;
        `create_app` adds no route of its own at their paths, `tests/server/test_auth.py` checks)."""
        other_methods = False
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", scope["path"])), dict(child.get("path_params", {})), False
            other_methods = other_methods or match is Match.PARTIAL
        return str(scope["path"]), {}, other_methods


def origin_of(request: Request, config: ServerConfig) -> str:
    """The client's address. Behind a trusted proxy: the last address of X-Forwarded-For that is
    not one of the trusted proxies (each proxy appends who it saw; what comes before that, the
    client wrote itself)."""
    client = _client(request)
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded or client not in config.trusted_proxies:
        return client or "unknown"
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in config.trusted_proxies:
            return hop
    return hops[0] if hops else client


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _refuse(request: Request, status: int, detail: str) -> Response:
    wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
    if status == 401 and wants_page and not request.url.path.startswith("/api/"):
        target = urllib.parse.quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)
    headers = {"WWW-Authenticate": 'Bearer realm="loopline"'} if status == 401 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def acting_as(request: Request, named: str | None = None) -> str:
    """The name a change is recorded under: the signed-in user's. Only an editor or an admin may
    name someone else (a tool importing its labelers' labels, a script writing for a person);
    with auth off everyone is `local`, an admin, so a name given is kept."""
    who = principal_of(request)
    if named and named.strip() and who.role.allows(Role.EDITOR):
        return named.strip()
    return who.name


def principal_of(request: Request) -> Principal:
    """Who the request acts as (set by the guard before any route runs)."""
    found: Any = request.scope.get(PRINCIPAL)
    assert isinstance(found, Principal), "the AuthGuard middleware must run before the routes"
    return found
