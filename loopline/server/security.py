"""Guards against other web pages: every browser can send requests to 127.0.0.1.

- Every request must name this server in its Host header (a DNS-rebinding page cannot).
- Every state-changing request must come from no page or this server's own pages (Origin) and
  carry the per-session token that only this server's pages know (`X-Loopline-Token`).
- The ingestion endpoints (`POST /api/v1/inferences`, `/api/v1/feedback`) are for programs, not
  pages: they skip the session token (a serving process cannot know it) and need an API key
  (`Authorization: Bearer KEY`, keys given to `loopline server --api-key`) instead; with no key
  configured, only requests from this machine that no web page sent (no Origin header) pass.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from loopline.server.config import ServerConfig, is_loopback

TOKEN_HEADER = "X-Loopline-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MACHINE_PATHS = frozenset({"/api/v1/inferences", "/api/v1/feedback"})


class ForbiddenRequest(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def check_state_change(request: Request, config: ServerConfig) -> None:
    """Raise ForbiddenRequest unless this request may change state."""
    host = request.headers.get("host")
    if not config.origin_allowed(request.headers.get("origin"), host):
        raise ForbiddenRequest(
            "cross-origin request refused: only this dashboard's own pages may change runs"
        )
    token = request.headers.get(TOKEN_HEADER, "")
    if not hmac.compare_digest(token.encode(), config.token.encode()):
        raise ForbiddenRequest(
            f"missing or wrong {TOKEN_HEADER} header: state-changing requests need the session token "
            "printed by `loopline server` (the dashboard's pages send it for you)"
        )


def check_machine_client(request: Request, config: ServerConfig) -> None:
    """Raise ForbiddenRequest unless this request may write inferences or feedback."""
    if config.api_keys:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        given = key.strip().encode()
        if scheme.lower() != "bearer" or not any(
            hmac.compare_digest(given, known.encode()) for known in config.api_keys
        ):
            raise ForbiddenRequest(
                "missing or wrong API key: send `Authorization: Bearer KEY` with a key given to "
                "`loopline server --api-key` (or LOOPLINE_API_KEY)"
            )
        return
    client = request.client.host if request.client else ""
    if not is_loopback(client) or request.headers.get("origin") is not None:
        raise ForbiddenRequest(
            "this server has no API key, so it accepts inferences and feedback only from programs on "
            "its own machine (not from web pages); start it with --api-key KEY (or LOOPLINE_API_KEY) "
            "and send `Authorization: Bearer KEY`"
        )


class GuardMiddleware:
    """ASGI middleware applying both rules before any route runs (streams pass through untouched)."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = request.headers.get("host")
        refusal: Response | None = None
        if not self.config.host_allowed(host):
            refusal = JSONResponse(
                {
                    "detail": f"unexpected Host header {host!r}; open the dashboard at "
                    f"http://{self.config.host}:{self.config.port}/"
                },
                status_code=421,
            )
        elif request.method not in SAFE_METHODS:
            try:
                if request.url.path in MACHINE_PATHS:
                    check_machine_client(request, self.config)
                else:
                    check_state_change(request, self.config)
            except ForbiddenRequest as refused:
                refusal = JSONResponse({"detail": refused.detail}, status_code=403)
        if refusal is not None:
            await refusal(scope, receive, send)
        else:
            await self.app(scope, receive, send)
