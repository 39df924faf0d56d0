"""The schedules page: every schedule, when it fires next, and the slots it fired."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from loopline.cl.schedules.scheduler import next_run
from loopline.cl.store.revisions import RecordKind
from loopline.core.records import utcnow
from loopline.server.live import LivePage
from loopline.server.pages.render import render
from loopline.server.state import ServerState, live_page, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]


@router.get("/schedules", response_class=HTMLResponse)
def schedules_page(
    request: Request, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.SCHEDULES))]
) -> HTMLResponse:
    store = state.workspace.store
    now = utcnow()
    rows = [(s, next_run(s, now), store.slots(s.name, limit=20)) for s in store.list_schedules()]
    return render(
        request,
        "schedules.html",
        live=live,
        nav="schedules",
        rows=rows,
        running=state.config.settings is not None and state.config.run_schedules,
        interval=state.config.schedule_interval_s,
    )
