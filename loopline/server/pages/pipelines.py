"""The pipelines page: one row per pipeline with its counts, success rate and recent durations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from loopline.server import queries
from loopline.server.pages.render import render
from loopline.server.state import ServerState, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
PIPELINE_DURATIONS = 40  # runs in each pipeline's duration chart


@router.get("/pipelines", response_class=HTMLResponse)
def pipelines_page(request: Request, state: State) -> HTMLResponse:
    return render(
        request,
        "pipelines.html",
        nav="pipelines",
        rows=queries.pipelines(state.metadata, PIPELINE_DURATIONS),
        recent=PIPELINE_DURATIONS,
    )


@router.get("/fragments/pipelines", response_class=HTMLResponse)
def pipelines_rows(request: Request, state: State) -> HTMLResponse:
    return render(request, "pipelines_rows.html", rows=queries.pipelines(state.metadata, PIPELINE_DURATIONS))
