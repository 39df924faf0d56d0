"""`render`: a page from its template, with what every page needs (the session token its requests
send, and the moment its live updates start from)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from loopline.core.records import utcnow
from loopline.server.auth.guard import CSRF, PRINCIPAL
from loopline.server.auth.identity import ANONYMOUS
from loopline.server.rendering.templating import create_environment
from loopline.server.state import server_state

TEMPLATES = create_environment()


def render(request: Request, template: str, **context: Any) -> HTMLResponse:
    state = server_state(request)
    # Pages subscribe to changes since shortly before they read the store, so none is lost.
    since = (utcnow() - dt.timedelta(seconds=2)).isoformat()
    principal = request.scope.get(PRINCIPAL)
    token = request.scope.get(CSRF, state.config.token)
    # Who is signed in, shown in the nav (nobody on the sign-in page, or with auth off).
    user = principal if state.config.auth_on and principal is not ANONYMOUS else None
    html = TEMPLATES.get_template(template).render(token=token, since=since, user=user, **context)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
