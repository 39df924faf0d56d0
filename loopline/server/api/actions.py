"""State-changing endpoints: cancel, rerun, notes (guarded by `auth.guard.AuthGuard`)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request

from loopline.core.records import Note, utcnow
from loopline.engine.relaunch import Relaunch, start_rerun
from loopline.errors import RunNotFoundError
from loopline.server.api.paging import Limit, Offset, page
from loopline.server.auth.guard import acting_as
from loopline.server.rendering.markdown import render_markdown
from loopline.server.schemas.actions import CancelOut, NoteIn, NoteOut, RerunIn, RerunOut
from loopline.server.schemas.common import ErrorOut
from loopline.server.state import ServerState, server_state

router = APIRouter(
    prefix="/api/v1/runs",
    tags=["actions"],
    responses={400: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
State = Annotated[ServerState, Depends(server_state)]
RERUN_START_S = 20.0


@router.post(
    "/{run_id}/cancel",
    response_model=CancelOut,
    responses={409: {"model": ErrorOut}},
    summary="Cancel this run's pipeline",
)
def cancel(run_id: str, state: State) -> CancelOut:
    run = state.metadata.get_run(run_id)
    root = state.metadata.get_run(run.root_id) if run.parent_id else run
    if root.state.is_terminal:
        raise HTTPException(409, f"pipeline {root.name} ({root.id}) already ended: it is {root.state.value}")
    state.metadata.request_cancel(run.id)
    return CancelOut(
        root_id=root.id,
        detail=f"cancellation requested for pipeline {root.name}; its runner stops it within a second",
    )


@router.post(
    "/{run_id}/rerun",
    response_model=RerunOut,
    status_code=202,
    responses={409: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    summary="Run this run's pipeline again in a worker process (from scratch, or from a chosen run)",
)
async def rerun(run_id: str, body: RerunIn, state: State) -> RerunOut:
    settings = state.config.settings
    if settings is None:
        raise HTTPException(
            503, "this server was started without a store folder for workers, so it cannot rerun"
        )
    run = await asyncio.to_thread(state.metadata.get_run, run_id)
    root = await asyncio.to_thread(state.metadata.get_run, run.root_id)
    if body.from_run_id is not None:
        chosen = await asyncio.to_thread(state.metadata.get_run, body.from_run_id)
        if chosen.root_id != root.id:
            raise HTTPException(
                400, f"run {chosen.id} is not part of pipeline {root.id}; pick a run of that pipeline"
            )
    state.reap()
    started = start_rerun(root, settings, state.config.relaunch_policy(), from_run_id=body.from_run_id)
    state.relaunches.append(started)
    await _wait_until_recorded(state, started)
    return RerunOut(
        run_id=started.run_id, rerun_of=root.id, from_run_id=body.from_run_id, log_file=str(started.log_file)
    )


async def _wait_until_recorded(state: ServerState, started: Relaunch) -> None:
    """Answer once the new run is in the store, or with the worker's error if it died first."""
    run_id = started.run_id
    waited = 0.0
    while waited < RERUN_START_S:
        try:
            await asyncio.to_thread(state.metadata.get_run, run_id)
            return
        except RunNotFoundError:
            pass
        if started.process.poll() is not None:
            tail = started.log_file.read_text(errors="replace").strip().splitlines()[-5:]
            raise HTTPException(
                400,
                "the rerun could not start: "
                + (" / ".join(tail) or f"exit code {started.process.returncode}"),
            )
        await asyncio.sleep(0.1)
        waited += 0.1


@router.get("/{run_id}/notes", response_model=list[NoteOut], summary="Notes on this run, oldest first")
def list_notes(run_id: str, state: State, limit: Limit = 100, offset: Offset = 0) -> list[NoteOut]:
    state.metadata.get_run(run_id)
    return [NoteOut.of(n, render_markdown(n.body)) for n in page(state.metadata.notes(run_id), limit, offset)]


@router.post(
    "/{run_id}/notes", response_model=NoteOut, status_code=201, summary="Add a note (Markdown) to this run"
)
def add_note(run_id: str, body: NoteIn, request: Request, state: State) -> NoteOut:
    author = acting_as(request, body.author)
    note = state.metadata.add_note(Note(run_id, author, body.body, utcnow()))
    return NoteOut.of(note, render_markdown(note.body))
