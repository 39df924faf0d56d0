"""`/api/v1/schedules`: list schedules; pause, resume, remove (state-changing: token-guarded)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from loopline.cl import schedules
from loopline.core.records import utcnow
from loopline.server.schemas import DoneOut, ErrorOut, ScheduleOut
from loopline.server.state import ServerState, server_state

router = APIRouter(
    prefix="/api/v1/schedules",
    tags=["schedules"],
    responses={400: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
State = Annotated[ServerState, Depends(server_state)]
SLOTS = 20


def _out(state: ServerState, name: str) -> ScheduleOut:
    store = state.workspace.store
    schedule = store.get_schedule(name)
    return ScheduleOut.of(schedule, schedules.next_run(schedule, utcnow()), store.slots(name, limit=SLOTS))


@router.get("", response_model=list[ScheduleOut], summary="Every schedule, its next slot and last runs")
def list_schedules(state: State) -> list[ScheduleOut]:
    return [_out(state, s.name) for s in state.workspace.store.list_schedules()]


@router.post(
    "/{name}/pause",
    response_model=ScheduleOut,
    summary="Pause a schedule (slots passing meanwhile never run)",
)
def pause(name: str, state: State) -> ScheduleOut:
    schedules.pause(state.workspace.store, name)
    return _out(state, name)


@router.post("/{name}/resume", response_model=ScheduleOut, summary="Resume a schedule from its next slot")
def resume(name: str, state: State) -> ScheduleOut:
    schedules.resume(state.workspace.store, name, now=utcnow())
    return _out(state, name)


@router.post("/{name}/remove", response_model=DoneOut, summary="Remove a schedule and its slot history")
def remove(name: str, state: State) -> DoneOut:
    state.workspace.store.remove_schedule(name)
    return DoneOut(detail=f"schedule {name} removed")
