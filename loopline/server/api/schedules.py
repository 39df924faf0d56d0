"""`/api/v1/schedules`: list and add schedules; edit, pause, resume, remove (state-changing:
token-guarded).

Adding or editing one checks its target in a fresh interpreter (`check_target_elsewhere`): the
server never imports user code into its own process.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from loopline.cl.regression.notify import check_webhook
from loopline.cl.schedules import scheduler as schedules
from loopline.cl.store.protocol import CLStore
from loopline.cl.store.records import Trigger
from loopline.core.records import utcnow
from loopline.errors import UsageError
from loopline.server.api.paging import Limit, Offset, page
from loopline.server.auth.guard import acting_as
from loopline.server.schemas.common import DoneOut, ErrorOut
from loopline.server.schemas.schedules import ScheduleEdit, ScheduleIn, ScheduleOut
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
def list_schedules(state: State, limit: Limit = 100, offset: Offset = 0) -> list[ScheduleOut]:
    return [_out(state, s.name) for s in page(state.workspace.store.list_schedules(), limit, offset)]


@router.post(
    "",
    response_model=ScheduleOut,
    status_code=201,
    summary="Add a schedule: a pipeline file on the server's machine, on a cron or when a dataset grows",
)
async def add(body: ScheduleIn, request: Request, state: State) -> ScheduleOut:
    store = state.workspace.store
    trigger = _trigger(store, body)
    webhooks = [check_webhook(url, body.webhook_format) for url in body.webhooks]
    await asyncio.to_thread(
        schedules.add_schedule,
        store,
        body.name,
        body.target,
        body.params,
        trigger,
        now=utcnow(),
        created_by=acting_as(request),
        webhooks=webhooks,
        check=schedules.check_target_elsewhere,
    )
    return _out(state, body.name)


def _trigger(store: CLStore, body: ScheduleIn) -> Trigger:
    if (body.cron is None) == (body.dataset is None):
        raise UsageError("give either cron or dataset (with min_new)")
    if body.cron is not None:
        return schedules.cron_trigger(body.cron, body.timezone)
    assert body.dataset is not None
    if body.min_new is None:
        raise UsageError("a dataset trigger needs min_new (how many new examples start a run)")
    return schedules.dataset_trigger(store, body.dataset, body.min_new)


@router.post(
    "/{name}/edit",
    response_model=ScheduleOut,
    summary="Change a schedule's pipeline, parameters, trigger or webhooks; its history stays",
)
async def edit(name: str, body: ScheduleEdit, state: State) -> ScheduleOut:
    store = state.workspace.store
    current = store.get_schedule(name)
    trigger = schedules.changed_trigger(
        store,
        current.trigger,
        cron=body.cron,
        timezone=body.timezone,
        dataset=body.dataset,
        min_new=body.min_new,
    )
    webhooks = (
        None if body.webhooks is None else [check_webhook(url, body.webhook_format) for url in body.webhooks]
    )
    await asyncio.to_thread(
        schedules.edit_schedule,
        store,
        name,
        now=utcnow(),
        target=body.target,
        params=body.params,
        trigger=trigger,
        webhooks=webhooks,
        check=schedules.check_target_elsewhere,
    )
    return _out(state, name)


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
