"""One artifact's page: its type, size, hash and value, the runs that produced it, every run that
took it as an input, and its downloads."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from loopline.core.records import RunFilter, RunRecord
from loopline.server.pages.render import render
from loopline.server.rendering.entities import entity_link
from loopline.server.state import ServerState, server_state
from loopline.storage.artifacts import check_artifact_id

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
RUNS_SHOWN = 200


@dataclasses.dataclass(frozen=True)
class Use:
    run: RunRecord
    as_input: str | None  # the input's name, or None: the run produced the artifact


@router.get("/artifacts/{artifact_id}", response_class=HTMLResponse)
def artifact_page(request: Request, artifact_id: str, state: State) -> HTMLResponse:
    artifact = state.metadata.get_artifact(check_artifact_id(artifact_id))
    page = state.metadata.list_runs(RunFilter(artifact=artifact_id), limit=RUNS_SHOWN)
    produced = [Use(r, None) for r in reversed(page.runs) if r.output_id == artifact_id]
    consumed = [
        Use(r, name)
        for r in reversed(page.runs)
        for name, ref in r.inputs.items()
        if ref.artifact_id == artifact_id
    ]
    return render(
        request,
        "artifact.html",
        artifact=artifact,
        entity=entity_link(artifact.summary, artifact),
        produced=produced,
        consumed=consumed,
        more=page.next_cursor is not None,
    )
