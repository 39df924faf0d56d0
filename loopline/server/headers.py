"""What wraps every response the server sends: the security headers, and `HEAD` answered as `GET`.

`SecureResponses` sits outside everything else the app runs (errors, the auth guard, static files,
even the 500 page), so no response leaves without its headers. Pages may run only the dashboard's
own script and style sheet (nothing inline, nothing from elsewhere), and no other site may frame
them: a page in an invisible frame could otherwise be clicked for the user (Rerun, Cancel).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    )
)
# An SVG (a figure drawn by matplotlib) opened as a page of its own styles itself inline and runs
# nothing: its policy allows inline style and nothing else.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_ENCODED = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
_NAMES = {name for name, _ in _ENCODED}
_SVG_HEADERS = [(n, SVG_POLICY.encode() if n == b"content-security-policy" else v) for n, v in _ENCODED]


class SecureResponses:
    """Adds `SECURITY_HEADERS` to every HTTP response (replacing any a route set itself), and
    answers `HEAD` on a path no route serves `HEAD` for as `GET`, headers only."""

    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD" and not self._serves_head(scope):
            await self._head_as_get(scope, receive, send)
            return
        await self.app(scope, receive, _secured(send))

    def _serves_head(self, scope: Scope) -> bool:
        """A route written for `HEAD` itself (the artifact bytes' existence check) answers it."""
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes())

    async def _head_as_get(self, scope: Scope, receive: Receive, send: Send) -> None:
        secured = _secured(send)
        finished = False

        async def headers_only(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.start":
                await secured(message)
            elif message["type"] == "http.response.body" and not finished:
                finished = True  # the GET's body (an event stream never ends) is dropped
                await secured({"type": "http.response.body", "body": b"", "more_body": False})

        async def until_finished() -> Message:
            if finished:  # a stream that waits for the client to go stops now
                return {"type": "http.disconnect"}
            return await receive()

        await self.app({**scope, "method": "GET"}, until_finished, headers_only)


def _secured(send: Send) -> Send:
    async def with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _NAMES]
            svg = any(k.lower() == b"content-type" and v.startswith(b"image/svg+xml") for k, v in kept)
            message = {**message, "headers": kept + (_SVG_HEADERS if svg else _ENCODED)}
        await send(message)

    return with_headers
